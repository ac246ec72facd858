"""Builds the default report template, `templates/bao-cao.docx`, in the layout of Decree 30/2020/NĐ-CP
(Appendix I): A4, margins 20 mm top and bottom, 30 mm left, 15 mm right; Times New Roman; the issuing
body and the national motto side by side, each with a short line beneath; number, place and date;
"BÁO CÁO" and its summary; the body; recipients ("Nơi nhận") and the signer; page numbers centred at
the top from page 2.

    python -m services.reporting.reports.template_builder [OUT.docx]

A command-line helper, run by hand when the default layout changes; the file it writes is committed.
A province replaces the template with its own DOCX (docs/reporting.md says how): the placeholders are
docxtpl (Jinja2) tags, listed in document.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.text.paragraph import Paragraph

from shared import docx_layout

DEFAULT = Path(__file__).parent / "templates" / "bao-cao.docx"


def _styles(document: Document) -> None:  # type: ignore[valid-type]
    styles = document.styles  # type: ignore[attr-defined]
    normal = styles["Normal"]
    docx_layout.font(normal, 14)
    normal.paragraph_format.space_after = Pt(0)
    for name, size, bold, italic, align, indent, after in (
        ("CT Body", 14, False, False, WD_ALIGN_PARAGRAPH.JUSTIFY, Cm(1.27), Pt(6)),
        ("CT Chapter", 14, True, False, WD_ALIGN_PARAGRAPH.JUSTIFY, Cm(1.27), Pt(6)),
        ("CT Section", 14, True, False, WD_ALIGN_PARAGRAPH.JUSTIFY, Cm(1.27), Pt(6)),
        ("CT Table Title", 13, True, True, WD_ALIGN_PARAGRAPH.CENTER, Cm(0), Pt(3)),
        ("CT Table", 12, False, False, WD_ALIGN_PARAGRAPH.CENTER, Cm(0), Pt(0)),
        ("CT Table Text", 12, False, False, WD_ALIGN_PARAGRAPH.LEFT, Cm(0), Pt(0)),
        ("CT Table Head", 12, True, False, WD_ALIGN_PARAGRAPH.CENTER, Cm(0), Pt(0)),
    ):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        docx_layout.font(style, size, bold, italic)
        style.paragraph_format.alignment = align
        style.paragraph_format.first_line_indent = indent
        style.paragraph_format.space_after = after
        style.paragraph_format.space_before = Pt(0)


def _line_beneath(cell_or_doc: object, width_share: float, width: float) -> Paragraph:
    """The short line beneath a name, `width_share` of the `width` (cm) it is centred in."""
    return docx_layout.line_beneath(cell_or_doc, Cm(width * (1 - width_share) / 2), 6, space_after=Pt(6))


def _text(container: object, words: str, size: float, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER, first: bool = False) -> Paragraph:
    return docx_layout.text(container, words, size, bold, italic, align, first, first_line_indent=Cm(0))


def _page_number_header(section: object) -> None:
    """Page numbers centred at the top, from page 2 (the first page's header stays empty)."""
    section.different_first_page_header_footer = True  # type: ignore[attr-defined]
    paragraph = section.header.paragraphs[0]  # type: ignore[attr-defined]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    docx_layout.font(run, 13)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)


def build(out: Path = DEFAULT) -> Path:
    document = Document()
    _styles(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    _page_number_header(section)

    left, right = docx_layout.borderless_table(document, (6.3, 10.2))
    _text(left, "{{ parent_body }}", 13, first=True)
    _text(left, "{{ issuing_body }}", 13, bold=True)
    _line_beneath(left, 0.4, 6.3)
    _text(left, "Số: {{ number }}", 13)
    docx_layout.motto(right, first_line_indent=Cm(0))
    _line_beneath(right, 0.55, 10.2)
    _text(right, "{{ place }}, {{ date_text }}", 14, italic=True)

    title = _text(document, "BÁO CÁO", 14, bold=True)
    title.paragraph_format.space_before = Pt(18)
    _text(document, "{{ title }}", 14, bold=True)
    _line_beneath(document, 0.2, 16.5)
    document.add_paragraph("{{p body }}")

    left, right = docx_layout.borderless_table(document, (8.5, 8), centred=False)
    _text(left, "Nơi nhận:", 12, bold=True, italic=True, align=WD_ALIGN_PARAGRAPH.LEFT, first=True)
    _text(left, "{%p for recipient in recipients %}", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _text(left, "- {{ recipient }}", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _text(left, "{%p endfor %}", 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _text(right, "{{ signer_authority }}", 14, bold=True, first=True)
    _text(right, "{{ signer_title }}", 14, bold=True)
    for _ in range(4):
        _text(right, "", 14)
    _text(right, "{{ signer_name }}", 14, bold=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(out))
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
