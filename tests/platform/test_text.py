"""The one check of text people type, and the one neutraliser of exported cells (shared.text)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from shared.text import NoteText, PlainText, UnsafeText, clean_text, neutralise_formula


class Named(BaseModel):
    name: PlainText
    note: NoteText = ""


def test_vietnamese_names_pass_trimmed_and_composed() -> None:
    decomposed = "Nguye\u0302\u0303n Va\u0306n A"  # accents typed as combining marks
    assert Named(name=f"  {decomposed} ").name == "Nguyễn Văn A"


@pytest.mark.parametrize(("value", "reason"), [
    ("Nguyễn\x00A", "control characters"),
    ("Thôn\x1b[31m", "control characters"),
    ("abc\u202edcba", "invisible"),
    ("Lê\u200bVăn", "invisible"),
    ("=cmd|' /C calc'!A0", "formula"),
    ("+84 123", "formula"),
    ("@SUM(A1)", "formula"),
    ("-2+3", "formula"),
    ("   ", "blank"),
])
def test_unsafe_names_are_refused_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Named(name=value)
    assert reason in str(caught.value)


def test_notes_keep_line_breaks_and_leading_dashes_but_not_controls() -> None:
    assert Named(name="A", note="- Ưu điểm\n- Hạn chế").note == "- Ưu điểm\n- Hạn chế"
    with pytest.raises(ValidationError):
        Named(name="A", note="ok\x07bell")
    with pytest.raises(UnsafeText):
        clean_text("line\nbreak")  # a name has no line breaks


def test_exports_neutralise_formulas_whatever_is_stored() -> None:
    assert neutralise_formula("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert neutralise_formula("@A1") == "'@A1"
    assert neutralise_formula("Phường Ngô Quyền") == "Phường Ngô Quyền"
    assert neutralise_formula(-5) == -5  # numbers are numbers
