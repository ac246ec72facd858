"""The report documents: the DOCX in the layout of Decree 30/2020/NĐ-CP opened with python-docx (margins,
font, header, number, place and date, recipients, signer, every figure against the data entered), the
XLSX annex (every table, formulas neutralised), the PDF through LibreOffice, a province's own template."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.shared import Mm
from openpyxl import load_workbook

from services.reporting.reports.template_builder import build
from tests.kit import auth_headers
from tests.reporting.conftest import Reporting, reporting_app
from tests.reporting.registry_events import COMMUNES_A, expected
from tests.reporting.report_kit import (
    COMMUNE,
    DISTRICT,
    HEADER,
    NARRATIVES,
    OTHER_DISTRICT,
    SISTER_COMMUNE,
    call,
    load_everything,
    ok,
    open_report,
    write_and_submit,
)

KEEP = os.environ.get("CHUNGTAY_KEEP_DOCUMENTS")  # a folder: keep the generated files to look at them


def keep(name: str, body: bytes) -> None:
    if KEEP:
        Path(KEEP).mkdir(parents=True, exist_ok=True)
        (Path(KEEP) / name).write_bytes(body)


def within(length: int, low_mm: float, high_mm: float) -> bool:
    """Within the decree's range, give or take the twentieth of a point Word stores lengths in."""
    return Mm(low_mm) - Mm(0.05) <= length <= Mm(high_mm) + Mm(0.05)


def all_text(document: Any) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


async def submitted_commune_report(reporting: Reporting) -> tuple[dict[str, Any], Any]:
    data, _ = await load_everything(reporting)
    opened = await open_report(reporting, COMMUNE, COMMUNES_A[0])
    draft = await ok(opened, 201)
    path = f"/reporting/reports/{draft['id']}"
    refused = await call(reporting, "PATCH", path, COMMUNE, opened.headers["etag"], json={
        "narratives": {"I.2": "x"}, "overrides": {"support.electricity.amount_vnd": {"value": 1, "reason": "?"}}})
    assert refused.status_code == 422  # the commune recorded no electricity support: nothing is saved
    assert (await ok(await call(reporting, "GET", path, COMMUNE)))["version"] == 1
    edited = await call(reporting, "PATCH", path, COMMUNE, opened.headers["etag"], json={
        "narratives": {"intro": "Thực hiện Kế hoạch số 108/KH-UBND, UBND phường báo cáo như sau:",
                       "I.2": "UBND phường đã xây dựng kế hoạch và phát động phong trào."},
        "document": {"recipients": ["UBND thành phố Bắc Giang (để b/c)", "Đảng ủy phường (để b/c)",
                                    "Lưu: VT, LĐTBXH."]}})
    assert edited.status_code == 200, edited.text
    report = await write_and_submit(reporting, COMMUNE, draft["id"], edited.headers["etag"])
    return report, data


async def test_the_docx_has_the_decrees_layout_and_every_figure(reporting: Reporting) -> None:
    report, data = await submitted_commune_report(reporting)
    response = await call(reporting, "GET", f"/reporting/reports/{report['id']}/document.docx", DISTRICT)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].endswith('_07207_v3.docx"')
    keep("bao-cao-xa.docx", response.content)
    document = Document(io.BytesIO(response.content))

    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.5) and abs(section.page_height - Mm(297)) < Mm(0.5)  # A4
    assert within(section.top_margin, 20, 25) and within(section.bottom_margin, 20, 25)
    assert within(section.left_margin, 30, 35) and within(section.right_margin, 15, 20)
    assert section.different_first_page_header_footer
    assert "PAGE" in section.header._element.xml and "PAGE" not in section.first_page_header._element.xml
    normal = document.styles["Normal"].font
    assert normal.name == "Times New Roman" and 13 <= normal.size.pt <= 14
    for name in ("CT Body", "CT Chapter", "CT Section"):
        assert document.styles[name].font.name == "Times New Roman" and 13 <= document.styles[name].font.size.pt <= 14

    letterhead = document.tables[0]
    left, right = (cell.text for cell in letterhead.rows[0].cells)
    assert "ỦY BAN NHÂN DÂN\nPHƯỜNG NGÔ QUYỀN" in left and "Số: 12/BC-UBND" in left
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in right and "Độc lập - Tự do - Hạnh phúc" in right
    assert "Bắc Giang, ngày 15 tháng 11 năm 2024" in right
    motto = next(p for p in letterhead.rows[0].cells[1].paragraphs if p.text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert motto.runs[0].bold
    date_line = next(p for p in letterhead.rows[0].cells[1].paragraphs if "ngày 15" in p.text)
    assert date_line.runs[0].italic
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts
    assert "Kết quả thực hiện phong trào thi đua “Vì người nghèo - Không để ai bị bỏ lại phía sau” năm 2024" in texts
    for chapter in ("I. CÔNG TÁC LÃNH ĐẠO, TRIỂN KHAI THỰC HIỆN", "II. KẾT QUẢ THỰC HIỆN", "III. ĐÁNH GIÁ CHUNG",
                    "IV. NHIỆM VỤ, GIẢI PHÁP TRONG THỜI GIAN TỚI"):
        assert chapter in texts
    body = all_text(document)
    for narrative in NARRATIVES.values():
        for line in narrative.splitlines():
            assert line in body
    intro = texts.index("Thực hiện Kế hoạch số 108/KH-UBND, UBND phường báo cáo như sau:")
    assert texts.index("BÁO CÁO") < intro < texts.index("I. CÔNG TÁC LÃNH ĐẠO, TRIỂN KHAI THỰC HIỆN")

    closing = document.tables[-1]
    recipients, signer = closing.rows[0].cells
    assert recipients.paragraphs[0].text == "Nơi nhận:" and recipients.paragraphs[0].runs[0].bold
    assert recipients.paragraphs[0].runs[0].italic
    assert [p.text for p in recipients.paragraphs[1:]] == [
        "- UBND thành phố Bắc Giang (để b/c);", "- Đảng ủy phường (để b/c);", "- Lưu: VT, LĐTBXH."]
    lines = [p.text for p in signer.paragraphs if p.text]
    assert lines == [HEADER["signer_authority"], HEADER["signer_title"], HEADER["signer_name"]]

    # Every figure, as entered: the support lines of seed 003, the poverty counts, propaganda, fund.
    tables = {t.rows[0].cells[1].text if len(t.columns) > 1 else "": t for t in document.tables}
    support = tables["Chính sách, chương trình"]
    rows = {row.cells[1].text: [c.text for c in row.cells] for row in support.rows[1:]}
    assert rows["Tín dụng ưu đãi Ngân hàng Chính sách xã hội"][2] == "110"
    assert rows["Tín dụng ưu đãi Ngân hàng Chính sách xã hội"][6] == "4.000,00"
    assert rows["Miễn giảm học phí, hỗ trợ chi phí học tập"][4] == "1.326"
    assert rows["Miễn giảm học phí, hỗ trợ chi phí học tập"][6] == "504,18"
    assert rows["Thẻ bảo hiểm y tế hộ nghèo"][5] == "800 thẻ"
    assert rows["Hỗ trợ sửa chữa nhà ở"][7] == "Quỹ Vì người nghèo thành phố: 189,00"
    assert rows["Tổng cộng"][6] == "4.693,18"
    counts, before = expected(data, 2024, COMMUNES_A[0])[""], expected(data, 2023, COMMUNES_A[0])[""]
    poverty = tables["Tổng số hộ"]
    start, end = ([c.text for c in row.cells] for row in poverty.rows[1:])
    assert start[1:4] == [f"{before['households']:,}".replace(",", "."), str(before["poor"]),
                          f"{100 * before['poor'] / before['households']:.2f}".replace(".", ",")]
    assert end[1:3] == [f"{counts['households']:,}".replace(",", "."), str(counts["poor"])]
    propaganda = tables["Hoạt động"]
    assert {row.cells[1].text: row.cells[2].text for row in propaganda.rows[1:]}[
        "Tuyên truyền trên Đài truyền thanh (lượt phát)"] == "57"
    documents = tables["Số, ký hiệu"]
    assert [row.cells[1].text for row in documents.rows[1:]] == ["108/KH-UBND", "2222/QĐ-UBND"]
    assert documents.rows[1].cells[2].text == "19/01/2024"


async def test_the_xlsx_annex_holds_every_table_and_figure_with_formulas_neutralised(reporting: Reporting) -> None:
    await load_everything(reporting)
    opened = await open_report(reporting, COMMUNE, COMMUNES_A[0])
    draft = await ok(opened, 201)
    edited = await call(reporting, "PATCH", f"/reporting/reports/{draft['id']}", COMMUNE, opened.headers["etag"],
                        json={"overrides": {"support.bhyt_poor.quantity.card": {
                            "value": "805", "reason": "=HYPERLINK(\"http://x\") 5 thẻ cấp bổ sung"}}})
    assert edited.status_code == 200, edited.text
    response = await call(reporting, "GET", f"/reporting/reports/{draft['id']}/document.xlsx", COMMUNE)
    assert response.status_code == 200
    keep("phu-luc-xa.xlsx", response.content)
    book = load_workbook(io.BytesIO(response.content))
    view = edited.json()
    titles = [t["title"] for s in view["sections"] for t in s["tables"]]
    assert len(book.sheetnames) == len(titles) + 1
    figures = book["Số liệu"]
    rows = {r[0]: r for r in figures.iter_rows(min_row=3, values_only=True)}
    card = rows["support.bhyt_poor.quantity.card"]
    assert card[3] == "800" and card[5] == "805" and card[6] == "có"
    assert card[7].startswith("'=HYPERLINK")
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for cell in row:
                assert not (isinstance(cell, str) and cell.startswith("=")), (sheet.title, cell)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed "
                    "(devstack/ensure_tools.sh installs libreoffice-writer-nogui as root)")
async def test_the_pdf_is_the_docx_converted_by_libreoffice(reporting: Reporting) -> None:
    report, _ = await submitted_commune_report(reporting)
    response = await call(reporting, "GET", f"/reporting/reports/{report['id']}/document.pdf", COMMUNE)
    assert response.status_code == 200, response.text
    keep("bao-cao-xa.pdf", response.content)
    assert response.content.startswith(b"%PDF") and response.headers["content-type"] == "application/pdf"
    pages = int(re.findall(rb"/Count (\d+)", response.content)[-1])
    assert pages >= 2


async def test_a_province_replaces_the_template(reporting: Reporting, tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "v2008.24"
    build(folder / "bao-cao.docx")
    document = Document(str(folder / "bao-cao.docx"))
    document.paragraphs[0].insert_paragraph_before("MẪU CỦA TỈNH BẮC GIANG")
    document.save(str(folder / "bao-cao.docx"))
    app = reporting_app(reporting.db_url, reporting.nats_url, report_templates=str(tmp_path / "templates"))
    from tests.kit import running_app

    report, _ = await submitted_commune_report(reporting)
    async with running_app(app) as client:
        response = await client.get(f"/reporting/reports/{report['id']}/document.docx", headers=auth_headers(COMMUNE))
    assert response.status_code == 200
    assert "MẪU CỦA TỈNH BẮC GIANG" in all_text(Document(io.BytesIO(response.content)))
    default = await call(reporting, "GET", f"/reporting/reports/{report['id']}/document.docx", COMMUNE)
    assert "MẪU CỦA TỈNH BẮC GIANG" not in all_text(Document(io.BytesIO(default.content)))


@pytest.mark.parametrize("suffix", ["document.docx", "document.xlsx", "document.pdf"])
async def test_documents_of_another_unit_are_not_found(reporting: Reporting, suffix: str) -> None:
    await load_everything(reporting)
    draft = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    for outsider in (SISTER_COMMUNE, OTHER_DISTRICT):
        response = await call(reporting, "GET", f"/reporting/reports/{draft['id']}/{suffix}", outsider)
        assert response.status_code == 404 and "Ngô Quyền" not in response.text
    district = await call(reporting, "GET", f"/reporting/reports/{draft['id']}/document.xlsx", DISTRICT)
    assert district.status_code == 200
