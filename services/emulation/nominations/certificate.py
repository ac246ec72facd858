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
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
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


def date_text(day: date) -> str:
    """Decree 30/2020: "ngày 05 tháng 02 năm 2024" — days below 10 and months below 3 take a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


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


def _font(run: object, size: float, bold: bool = False, italic: bool = False) -> None:
    font = run.font  # type: ignore[attr-defined]
    font.name, font.size, font.bold, font.italic = FONT, Pt(size), bold, italic
    properties = run._element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.append(fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)


def _text(container: object, text: str, size: float, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER, first: bool = False) -> Paragraph:
    paragraph: Paragraph = container.paragraphs[0] if first else container.add_paragraph()  # type: ignore[attr-defined]
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(3)
    _font(paragraph.add_run(text), size, bold, italic)
    return paragraph


def _line_beneath(cell: object, width_cm: float) -> None:
    """The decree's short line beneath a name: an empty paragraph with a bottom border."""
    paragraph: Paragraph = cell.add_paragraph()  # type: ignore[attr-defined]
    margin = Cm(width_cm * 0.3)
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = margin
    borders, bottom = OxmlElement("w:pBdr"), OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    _font(paragraph.add_run(""), 4)


def _borderless(table: object, widths_cm: tuple[float, float]) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)  # type: ignore[attr-defined]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER  # type: ignore[attr-defined]
    table.autofit = False  # type: ignore[attr-defined]
    for column, width in zip(table.columns, widths_cm, strict=True):  # type: ignore[attr-defined]
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def render(f: CertificateFields) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    body_lines, authority, signer_title = bodies(f)

    header = document.add_table(rows=1, cols=2)
    _borderless(header, (10.0, 15.2))
    left, right = header.rows[0].cells
    for i, line in enumerate(body_lines):
        _text(left, line, 13, bold=i == len(body_lines) - 1, first=i == 0)
    _line_beneath(left, 10.0)
    _text(right, MOTTO[0], 13, bold=True, first=True)
    _text(right, MOTTO[1], 14, bold=True)
    _line_beneath(right, 15.2)

    _text(document, authority, 14, bold=True).paragraph_format.space_before = Pt(18)
    _text(document, "TẶNG", 14, bold=True)
    _text(document, headline(f), 28, bold=True)
    if f.category == "emulation_title":
        _text(document, f"Danh hiệu: {f.form_name}", 16, bold=True)
    recipient = f.nominee_name if not f.nominee_role else f"{f.nominee_name}, {f.nominee_role}"
    _text(document, recipient, 18, bold=True)
    _text(document, f"Đã có thành tích: {f.achievements}", 14, italic=True)
    _text(document, f"trong phong trào thi đua năm {f.year}.", 14, italic=True)

    closing = document.add_table(rows=1, cols=2)
    _borderless(closing, (12.6, 12.6))
    left, right = closing.rows[0].cells
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
