"""The report as a DOCX in the layout of Decree 30/2020/NĐ-CP, rendered from a template a province can
replace (docxtpl: Jinja2 tags inside a Word document).

The template (templates/bao-cao.docx, built by template_builder.py) receives:
`parent_body`, `issuing_body` (line breaks kept), `number`, `place`, `date_text` ("ngày 05 tháng 6 năm
2018"), `title`, `body` (a sub-document: the sections, their narratives and tables, built here with
the template's own styles "CT Chapter", "CT Section", "CT Body", "CT Table Title", "CT Table Head",
"CT Table", "CT Table Text"), `recipients` (a list), `signer_authority`, `signer_title`, `signer_name`,
and `report` (the whole view, for templates that want more). A province's template is looked up as
`<REPORTING_REPORT_TEMPLATES>/<province path>/bao-cao.docx`, then `<REPORTING_REPORT_TEMPLATES>/bao-cao.docx`,
then the default.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docxtpl import DocxTemplate

from services.reporting.reports.rules import CHAPTERS
from services.reporting.reports.template_builder import DEFAULT
from shared import docx_layout
from shared.docx_layout import date_text

ROMAN = {"I": "I", "II": "II", "III": "III", "IV": "IV"}


def template_path(unit_path: str, directory: str | None) -> Path:
    if directory:
        province = ".".join(unit_path.split(".")[:2])
        for candidate in (Path(directory) / province / "bao-cao.docx", Path(directory) / "bao-cao.docx"):
            if candidate.is_file():
                return candidate
    return DEFAULT


STYLES = ("CT Body", "CT Chapter", "CT Section", "CT Table Title", "CT Table Head", "CT Table", "CT Table Text")


class Styled:
    """Adds paragraphs in the template's styles, naming each style by its id: python-docx resolves a style
    name by scanning every style of the document, and a province report has a thousand cells."""

    def __init__(self, body: Any) -> None:
        self.body = body
        self.ids = {name: body.styles[name].style_id for name in STYLES}

    def add(self, text: str, style: str) -> Any:
        paragraph = self.body.add_paragraph(text)
        self.set(paragraph, style)
        return paragraph

    def set(self, paragraph: Any, style: str) -> None:
        paragraph._p.style = self.ids[style]


def _paragraphs(out: Styled, text: str, style: str) -> None:
    for line in (text or "").splitlines():
        if line.strip():
            out.add(line.strip(), style)


TEXT_WIDTH_CM = 16.5  # A4 less the 30 mm and 15 mm margins
WORDY = ("Trích yếu", "Nguồn", "Hoạt động", "Nội dung", "Chỉ tiêu", "Tập thể", "Tên", "Đơn vị", "Chính sách",
         "Thời điểm", "Mô hình", "Hộ được", "Cơ quan")


WIDE_FIGURES = ("Ngày", "Kinh phí", "Số quyết", "Số, ký hiệu")


def _widths(columns: list[str]) -> list[float]:
    """Column widths in cm: a narrow number column, wide text columns, the rest for figures."""
    weights = [1.0 if c == "STT" else 2.5 if c.startswith(WORDY) else 1.6 if c.startswith(WIDE_FIGURES) else 1.3
               for c in columns]
    return [TEXT_WIDTH_CM * w / sum(weights) for w in weights]


def _row_properties(row: Any, header: bool) -> None:
    """A row never splits across pages; the header row repeats on every page the table runs onto."""
    properties = row._tr.get_or_add_trPr()
    for name in ("w:cantSplit", *(("w:tblHeader",) if header else ())):
        element = OxmlElement(name)
        element.set(qn("w:val"), "true")
        properties.append(element)


def _table(out: Styled, table: dict[str, Any]) -> None:
    title = out.add(table["title"], "CT Table Title")
    title.paragraph_format.keep_with_next = True
    grid = out.body.add_table(rows=1, cols=len(table["columns"]))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    widths = _widths(table["columns"])
    for cell, heading in zip(grid.rows[0].cells, table["columns"], strict=True):
        cell.paragraphs[0].text = heading
        out.set(cell.paragraphs[0], "CT Table Head")
    _row_properties(grid.rows[0], header=True)
    for row in table["rows"]:
        added = grid.add_row()
        _row_properties(added, header=False)
        cells = added.cells
        for cell, value in zip(cells, row, strict=True):
            cell.paragraphs[0].text = value["text"]
            textual = value["figure"] is None and not value["text"].replace(".", "").replace(",", "").isdigit()
            out.set(cell.paragraphs[0], "CT Table Text" if textual else "CT Table")
    docx_layout.widths(grid, widths)
    if not table["rows"]:
        cells = grid.add_row().cells
        merged = cells[0].merge(cells[-1])
        merged.paragraphs[0].text = "Không có"
        out.set(merged.paragraphs[0], "CT Table")
    spacer = out.add("", "CT Body")
    spacer.paragraph_format.space_after = Pt(6)


def _body(template: DocxTemplate, report: dict[str, Any]) -> Any:
    body = template.new_subdoc()
    out = Styled(body)
    _paragraphs(out, report["narratives"].get("intro", ""), "CT Body")
    chapter = ""
    numbers: dict[str, int] = {}
    for section in report["sections"]:
        if section["chapter"] != chapter:
            chapter = section["chapter"]
            out.add(f"{ROMAN[chapter]}. {CHAPTERS[chapter]}", "CT Chapter")
        numbers[chapter] = numbers.get(chapter, 0) + 1
        out.add(f"{numbers[chapter]}. {section['heading']}", "CT Section")
        _paragraphs(out, section["narrative"], "CT Body")
        for table in section["tables"]:
            _table(out, table)
    closing = report["narratives"].get("closing") or (
        f"Trên đây là báo cáo {report['document'].get('title', '').strip()} của {report['unit_name']}./.")
    _paragraphs(out, closing, "CT Body")
    return body


def render_docx(report: dict[str, Any], template: Path) -> bytes:
    header = report["document"]
    signed = header.get("signed_on")
    document = DocxTemplate(str(template))
    context = {
        "parent_body": header.get("parent_body") or "", "issuing_body": header.get("issuing_body") or "",
        "number": header.get("number") or "      /BC-UBND", "place": header.get("place") or "",
        "date_text": date_text(date.fromisoformat(signed)) if signed else "ngày      tháng      năm      ",
        "title": header.get("title") or "", "body": _body(document, report),
        "recipients": [r.rstrip(";.") + ("." if i == len(header.get("recipients") or []) - 1 else ";")
                       for i, r in enumerate(header.get("recipients") or [])],
        "signer_authority": header.get("signer_authority") or "", "signer_title": header.get("signer_title") or "",
        "signer_name": header.get("signer_name") or "", "report": report,
    }
    document.render(context, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
