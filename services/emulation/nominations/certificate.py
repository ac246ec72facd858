"""The certificate of a decided award (giấy khen, bằng khen, or the certificate of an emulation title)
as a DOCX, from the award's own fields: the awarding body and the national motto side by side, each with
a short line beneath (Decree 30/2020/NĐ-CP); the authority that awards; the form; the recipient and
the achievement; the decision's number and date; place and date; the signer. Times New Roman, A4
landscape, as certificates are printed. Pure: the caller passes what it read (`CertificateFields`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Mm, Pt
from docx.text.paragraph import Paragraph

from shared import docx_layout
from shared.docx_layout import date_text

SPACE_AFTER = Pt(3)  # under every line of text
# The unit's level word, left out of the place name ("Phường Ngô Quyền" → "Ngô Quyền").
LEVEL_WORDS = ("Thành phố ", "Thị trấn ", "Thị xã ", "Tỉnh ", "Huyện ", "Quận ", "Phường ", "Xã ", "Đặc khu ")


@dataclass(frozen=True)
class CertificateFields:
    form_code: str
    form_name: str
    category: str  # emulation_title | award
    nominee_kind: str
    nominee_name: str
    nominee_role: str | None
    achievements: str
    year: int
    decision_number: str
    decision_date: date
    signer: str
    awarding_level: str  # commune | district | province | national
    awarding_unit_name: str  # "Phường Ngô Quyền"
    certificate_number: str


def place_of(unit_name: str) -> str:
    for word in LEVEL_WORDS:
        if unit_name.startswith(word):
            return unit_name[len(word):]
    return unit_name


def headline(f: CertificateFields) -> str:
    if f.form_code.startswith("bang_khen"):
        return "BẰNG KHEN"
    if f.category == "award":
        return "GIẤY KHEN"
    return "GIẤY CHỨNG NHẬN"


def bodies(f: CertificateFields) -> tuple[list[str], str, str]:
    """(the awarding body's lines, the authority that awards, the signer's title)."""
    if f.awarding_level == "national":
        return ["CHÍNH PHỦ"], "THỦ TƯỚNG CHÍNH PHỦ", "THỦ TƯỚNG"
    unit = f.awarding_unit_name.upper()
    return ["ỦY BAN NHÂN DÂN", unit], f"CHỦ TỊCH ỦY BAN NHÂN DÂN {unit}", "CHỦ TỊCH"


def _text(container: object, words: str, size: float, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER, first: bool = False) -> Paragraph:
    return docx_layout.text(container, words, size, bold, italic, align, first, space_after=SPACE_AFTER)


def render(f: CertificateFields) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    body_lines, authority, signer_title = bodies(f)

    left, right = docx_layout.borderless_table(document, (10.0, 15.2))
    for i, line in enumerate(body_lines):
        _text(left, line, 13, bold=i == len(body_lines) - 1, first=i == 0)
    docx_layout.line_beneath(left, Cm(10.0 * 0.3), 4)
    docx_layout.motto(right, space_after=SPACE_AFTER)
    docx_layout.line_beneath(right, Cm(15.2 * 0.3), 4)

    _text(document, authority, 14, bold=True).paragraph_format.space_before = Pt(18)
    _text(document, "TẶNG", 14, bold=True)
    _text(document, headline(f), 28, bold=True)
    if f.category == "emulation_title":
        _text(document, f"Danh hiệu: {f.form_name}", 16, bold=True)
    recipient = f.nominee_name if not f.nominee_role else f"{f.nominee_name}, {f.nominee_role}"
    _text(document, recipient, 18, bold=True)
    _text(document, f"Đã có thành tích: {f.achievements}", 14, italic=True)
    _text(document, f"trong phong trào thi đua năm {f.year}.", 14, italic=True)

    left, right = docx_layout.borderless_table(document, (12.6, 12.6))
    _text(left, f"Quyết định số {f.decision_number}, {date_text(f.decision_date)}", 13,
          align=WD_ALIGN_PARAGRAPH.LEFT, first=True)
    _text(left, f"Số sổ: {f.certificate_number}", 13, align=WD_ALIGN_PARAGRAPH.LEFT)
    _text(right, f"{place_of(f.awarding_unit_name)}, {date_text(f.decision_date)}", 14, italic=True, first=True)
    _text(right, signer_title, 14, bold=True)
    for _ in range(3):
        _text(right, "", 14)
    _text(right, f.signer, 14, bold=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
