"""Text people type (names, villages, notes): one check for every way in — API, import files, and
every service — and one neutraliser for every export.

Refused: control characters (C0, DEL, C1), the invisible direction and width marks that make a
name display differently from what it is (U+202E "right-to-left override" and its family), and a
leading `=`, `+`, `-` or `@`, which a spreadsheet opening an export would run as a formula.
Accepted text is trimmed and put in Unicode NFC, so the same Vietnamese name typed with combining
accents or precomposed letters is stored alike.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, Field

FORMULA_LEADS = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides, isolates and marks; zero-width characters; the BOM.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Any character `clean_text` refuses wherever it stands (a fast pre-check for bulk input; NUL aside,
# which bulk readers use as a separator).
REFUSED_ANYWHERE = re.compile("[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


class UnsafeText(ValueError):
    """The reason a piece of text is refused, worded for the person who typed it."""


def clean_text(value: str, *, multiline: bool = False, formula_ok: bool = False) -> str:
    """The text trimmed and in NFC, or UnsafeText saying what is wrong with it.

    `multiline` lets line breaks and tabs through (notes, narrative sections); `formula_ok` lets a
    leading formula character through where it is ordinary (a document number such as "-" never is,
    but free narrative may start with a dash bullet)."""
    text = unicodedata.normalize("NFC", value.strip())
    body = text.replace("\n", "").replace("\t", "").replace("\r", "") if multiline else text
    if _CONTROL.search(body):
        raise UnsafeText("contains control characters")
    if _INVISIBLE.search(text):
        raise UnsafeText("contains invisible direction or width marks (such as U+202E)")
    if not formula_ok and text.startswith(FORMULA_LEADS):
        raise UnsafeText(f"must not start with {text[0]!r} (a spreadsheet would run it as a formula)")
    return text


def neutralise_formula(value: Any) -> Any:
    """A cell value safe to write into CSV or XLSX: text that a spreadsheet would take for a formula
    gets a leading apostrophe, whatever is stored (data from before this check, or typed elsewhere)."""
    if isinstance(value, str) and value.startswith((*FORMULA_LEADS, "\t", "\r")):
        return "'" + value
    return value


def _pydantic_check(multiline: bool, formula_ok: bool, blank_ok: bool) -> Any:
    def check(value: str) -> str:
        try:
            text = clean_text(value, multiline=multiline, formula_ok=formula_ok)
        except UnsafeText as exc:
            raise ValueError(f"The text {exc}.") from exc
        if not text and not blank_ok:
            raise ValueError("The text must not be blank.")
        return text

    return check


# Pydantic field types. A field of another length: `Annotated[str, Field(max_length=40), TEXT]`.
TEXT = AfterValidator(_pydantic_check(multiline=False, formula_ok=False, blank_ok=False))
MULTILINE_TEXT = AfterValidator(_pydantic_check(multiline=True, formula_ok=True, blank_ok=True))
PlainText = Annotated[str, Field(min_length=1, max_length=200), TEXT]  # a name, a village, a title
NoteText = Annotated[str, Field(max_length=4000), MULTILINE_TEXT]  # a note, a reason, a narrative
