"""DOCX layout pieces of Decree 30/2020/NĐ-CP that the certificate (emulation) and the report template
(reporting) both draw: Times New Roman runs, centred text paragraphs, the short line beneath a name,
borderless tables for the header and the closing, the national motto, and the date as the decree writes
it. Each caller keeps its own sizes and spacing; this module only holds the way they are drawn."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Length, Pt
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


def date_text(day: date) -> str:
    """Decree 30/2020: "ngày 05 tháng 02 năm 2024" — days below 10 and months below 3 take a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def font(style_or_run: object, size: float, bold: bool = False, italic: bool = False) -> None:
    """Times New Roman at `size` points on a run or a style, for every script (Vietnamese needs cs too)."""
    run_font = style_or_run.font  # type: ignore[attr-defined]
    run_font.name, run_font.size, run_font.bold, run_font.italic = FONT, Pt(size), bold, italic
    element = style_or_run.element if hasattr(style_or_run, "element") else style_or_run._element  # type: ignore[attr-defined]
    properties = element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.append(fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), FONT)


def text(container: object, words: str, size: float, bold: bool = False, italic: bool = False,
         align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER, first: bool = False,
         space_after: Length | None = None, first_line_indent: Length | None = None) -> Paragraph:
    """A paragraph of one run in a document or a cell; `first` fills the cell's own empty first paragraph."""
    paragraph: Paragraph = container.paragraphs[0] if first else container.add_paragraph()  # type: ignore[attr-defined]
    paragraph.alignment = align
    if space_after is not None:
        paragraph.paragraph_format.space_after = space_after
    if first_line_indent is not None:
        paragraph.paragraph_format.first_line_indent = first_line_indent
    font(paragraph.add_run(words), size, bold, italic)
    return paragraph


def line_beneath(container: object, margin: Length, size: float, space_after: Length | None = None) -> Paragraph:
    """The decree's short line beneath a name: an empty paragraph, indented by `margin` on both sides,
    with a bottom border; `size` is the empty run's font size, which sets the paragraph's height."""
    paragraph: Paragraph = container.add_paragraph()  # type: ignore[attr-defined]
    if space_after is not None:
        paragraph.paragraph_format.space_after = space_after
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = margin
    borders, bottom = OxmlElement("w:pBdr"), OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    font(paragraph.add_run(""), size)
    return paragraph


def no_borders(table: object) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)  # type: ignore[attr-defined]


def widths(table: object, widths_cm: Sequence[float]) -> None:
    """Column widths on the grid (LibreOffice reads it) and on every cell (Word reads those)."""
    for column, width in zip(table.columns, widths_cm, strict=True):  # type: ignore[attr-defined]
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)


def borderless_table(container: object, widths_cm: tuple[float, float], centred: bool = True) -> tuple[object, object]:
    """A one-row, two-column table without borders (the header's body and motto, or the closing's
    recipients and signer), fixed to `widths_cm`; returns its two cells."""
    table = container.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    if centred:
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    no_borders(table)
    widths(table, widths_cm)
    left, right = table.rows[0].cells
    return left, right


def motto(cell: object, space_after: Length | None = None, first_line_indent: Length | None = None) -> None:
    """The national motto, two bold lines (13 and 14 pt) opening `cell`; the short line beneath is the caller's."""
    text(cell, MOTTO[0], 13, bold=True, first=True, space_after=space_after, first_line_indent=first_line_indent)
    text(cell, MOTTO[1], 14, bold=True, space_after=space_after, first_line_indent=first_line_indent)
