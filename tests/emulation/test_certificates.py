"""The certificate of a decided award as a DOCX in the official layout (Decree 30/2020/NĐ-CP: the
awarding body and the national motto, Times New Roman), opened with python-docx and read back: the
form, the recipient, the decision's number and date, the authority and the signer. Read by whoever
reads the award; refused to another commune, district or province; a revoked award has none."""

from __future__ import annotations

import io
import uuid
from datetime import date

from docx import Document

from services.emulation.nominations.certificate import date_text
from shared import clock
from tests.emulation.conftest import COMMUNE_OFFICER, DISTRICT_OFFICER, FOREIGN, PROVINCE, Emulation, principal
from tests.emulation.test_nominations import COMMUNE_BOARD, DISTRICT_BOARD, decision, drafted, nomination, step

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _text(body: bytes) -> tuple[list[str], set[str]]:
    """Every paragraph's text (the body's and the tables' cells', in order) and every run's font."""
    document = Document(io.BytesIO(body))
    paragraphs = list(document.paragraphs)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                paragraphs.extend(cell.paragraphs)
    fonts = {run.font.name for p in paragraphs for run in p.runs if run.text}
    return [p.text for p in paragraphs if p.text.strip()], fonts


async def _decided(emulation: Emulation, form: str = "giay_khen") -> dict[str, object]:
    body = nomination(form)
    body["nominee"] = body["nominee"] | {"name": "Nguyễn Thị Hoa", "role": "Cán bộ LĐTBXH phường"}
    nid = await drafted(emulation, body)
    await step(emulation, nid, "submit", COMMUNE_OFFICER)
    await step(emulation, nid, "appraise", COMMUNE_BOARD)
    return await step(emulation, nid, "decision", COMMUNE_BOARD, decision("120/QĐ-UBND"), status=201)


async def test_the_certificate_reads_back_the_decided_award(emulation: Emulation) -> None:
    award = await _decided(emulation)
    url = f"/emulation/awards/{award['id']}/certificate.docx"
    response = await emulation.get(url, COMMUNE_OFFICER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX
    assert response.headers["content-disposition"] == f'attachment; filename="certificate_{award["id"]}.docx"'
    lines, fonts = _text(response.content)
    today = clock.today()
    assert fonts == {"Times New Roman"}
    for expected in ("ỦY BAN NHÂN DÂN", "PHƯỜNG NGÔ QUYỀN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                     "Độc lập - Tự do - Hạnh phúc", "CHỦ TỊCH ỦY BAN NHÂN DÂN PHƯỜNG NGÔ QUYỀN", "TẶNG", "GIẤY KHEN",
                     "Nguyễn Thị Hoa, Cán bộ LĐTBXH phường",
                     "Đã có thành tích: Vận động 120 triệu đồng Quỹ Vì người nghèo",
                     f"Quyết định số 120/QĐ-UBND, {date_text(today)}", f"Số sổ: {award['certificate_number']}",
                     f"Ngô Quyền, {date_text(today)}", "CHỦ TỊCH", "Trần Văn Bình"):
        assert expected in lines, (expected, lines)
    # The upper levels read it as they read the award; nobody else does.
    assert (await emulation.get(url, DISTRICT_OFFICER)).status_code == 200
    assert (await emulation.get(url, principal("province_officer", [PROVINCE]))).status_code == 200
    for foreign in FOREIGN:
        refused = await emulation.get(url, foreign)
        assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    assert (await emulation.get(f"/emulation/awards/{uuid.uuid4()}/certificate.docx", COMMUNE_OFFICER)
            ).status_code == 404
    # Revoked: no valid certificate any more.
    revoke = {"reason": "Khai man thành tích", "decision_number": "130/QĐ-UBND", "decision_date": today.isoformat()}
    assert (await emulation.post(f"/emulation/awards/{award['id']}/revocation", COMMUNE_BOARD, revoke)
            ).status_code == 200
    revoked = await emulation.get(url, COMMUNE_OFFICER)
    assert (revoked.status_code, revoked.json()["code"]) == (409, "award_revoked")


async def test_an_emulation_title_and_the_date_format(emulation: Emulation) -> None:
    nid = await drafted(emulation, nomination("lao_dong_tien_tien"))
    await step(emulation, nid, "submit", COMMUNE_OFFICER)
    await step(emulation, nid, "appraise", COMMUNE_BOARD)
    award = await step(emulation, nid, "decision", COMMUNE_BOARD, decision("7/QĐ-UBND"), status=201)
    response = await emulation.get(f"/emulation/awards/{award['id']}/certificate.docx", COMMUNE_OFFICER)
    lines, _ = _text(response.content)
    assert "GIẤY CHỨNG NHẬN" in lines and "Danh hiệu: Lao động tiên tiến" in lines
    assert (await emulation.get(f"/emulation/awards/{award['id']}/certificate.docx", DISTRICT_BOARD)
            ).status_code == 200
    assert date_text(date(2024, 2, 5)) == "ngày 05 tháng 02 năm 2024"
    assert date_text(date(2018, 11, 20)) == "ngày 20 tháng 11 năm 2018"
