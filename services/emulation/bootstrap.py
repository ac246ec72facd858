"""Reference and demo data of the emulation service, run by `make run` after migrations: the award
catalogue (checked and counted: it is data, `catalogue/awards.json`) and, as demo data, the movement of
seed 001 — directive 05/CT-UBND of 27/9/2017 by which the chairman of Bắc Giang launched "Bắc Giang
chung tay vì người nghèo - Không để ai bị bỏ lại phía sau" for 2017–2020."""

from __future__ import annotations

import uuid
from datetime import date

from services.emulation import events
from services.emulation.catalogue import rules as catalogue
from services.emulation.models import Document, Movement
from shared import clock
from shared.db import Database
from shared.events import record_events

BAC_GIANG = "v2008.24"
# Fixed ids: a second run finds the movement and writes nothing.
MOVEMENT_ID = uuid.uuid5(uuid.NAMESPACE_URL, "chungtay:emulation:seed-001:05/CT-UBND")
DIRECTIVE_ID = uuid.uuid5(uuid.NAMESPACE_URL, "chungtay:emulation:seed-001:05/CT-UBND:document")


def seed_001() -> tuple[Movement, Document]:
    now = clock.now()
    movement = Movement(
        id=MOVEMENT_ID, unit_path=BAC_GIANG, level="province", issuing_body="UBND tỉnh Bắc Giang",
        name="Bắc Giang chung tay vì người nghèo - Không để ai bị bỏ lại phía sau",
        starts_on=date(2017, 9, 27), ends_on=date(2020, 12, 31),
        description="Thực hiện Quyết định số 1258/QĐ-TTg ngày 21/8/2017 của Thủ tướng Chính phủ. Hàng năm lấy kết "
                    "quả triển khai thực hiện phong trào thi đua là một tiêu chí chấm điểm để đánh giá thi đua và "
                    "bình xét khen thưởng.",
        objectives=["Phấn đấu giảm tỷ lệ hộ nghèo bình quân hàng năm từ 2-3%; xã 135, huyện nghèo giảm 5-6%; "
                    "đến năm 2020 cả tỉnh còn từ 3-5% hộ nghèo",
                    "Thực hiện đồng bộ, có hiệu quả cơ chế, chính sách giảm nghèo",
                    "Đầu tư cơ sở hạ tầng thiết yếu ở huyện nghèo, xã nghèo, thôn bản đặc biệt khó khăn",
                    "Cuối năm 2020 cơ bản không còn hộ nghèo có nhà ở tạm"],
        phases=[{"kind": "launch", "name": "Phát động", "starts_on": None, "ends_on": None, "held_on": "2017-09-27"},
                {"kind": "midterm_review", "name": "Sơ kết giữa kỳ (quý I/2019)", "starts_on": "2019-01-01",
                 "ends_on": "2019-03-31", "held_on": None},
                {"kind": "final_review", "name": "Tổng kết (quý IV/2020)", "starts_on": "2020-10-01",
                 "ends_on": "2020-12-31", "held_on": None}],
        version=1, created_by="bootstrap", created_at=now)
    directive = Document(
        id=DIRECTIVE_ID, movement_id=MOVEMENT_ID, unit_path=BAC_GIANG, doc_type="directive", number="05/CT-UBND",
        issued_on=date(2017, 9, 27), issuing_body="UBND tỉnh Bắc Giang",
        summary="Về việc phát động phong trào thi đua “Bắc Giang chung tay vì người nghèo - Không để ai bị bỏ lại "
                "phía sau” giai đoạn 2017-2020", signer="Chủ tịch UBND tỉnh", launches_movement=True, version=1,
        created_at=now)
    return movement, directive


async def run(database_url: str) -> None:
    """Idempotent: a second run writes nothing and emits no event."""
    forms = catalogue.catalogue().forms  # parsed now: a broken awards.json stops `make run` here
    db = Database(database_url, pool_size=1)
    created = False
    try:
        async with db.system_session() as session:
            if await session.get(Movement, MOVEMENT_ID) is None:
                movement, directive = seed_001()
                session.add(movement)
                await session.flush()
                session.add(directive)
                await session.flush()
                await record_events(session, [events.movement(movement), events.document(directive)])
                created = True
    finally:
        await db.dispose()
    print(f"[chungtay] emulation: award catalogue of {len(forms)} forms; seed 001 movement "
          f"{'created' if created else 'already there'} ({MOVEMENT_ID})", flush=True)
