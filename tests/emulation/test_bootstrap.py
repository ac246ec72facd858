"""`make run`'s emulation bootstrap: seed 001's movement and directive as demo data, once."""

from __future__ import annotations

from services.emulation import bootstrap
from tests.emulation.conftest import COMMUNE_OFFICER, Emulation
from tests.emulation.events_kit import outbox, reporting_row
from tests.kit import scalar


async def test_seed_001_movement_is_created_once_and_readable_below(emulation: Emulation) -> None:
    await bootstrap.run(emulation.db_url)
    await bootstrap.run(emulation.db_url)
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_movements") == 1
    movement = await emulation.get(f"/emulation/movements/{bootstrap.MOVEMENT_ID}", COMMUNE_OFFICER)
    assert movement.status_code == 200
    assert movement.json()["starts_on"] == "2017-09-27" and movement.json()["phases"][1]["kind"] == "midterm_review"
    documents = await emulation.get(f"/emulation/movements/{bootstrap.MOVEMENT_ID}/documents", COMMUNE_OFFICER)
    assert [d["number"] for d in documents.json()["items"]] == ["05/CT-UBND"]
    events = await outbox(emulation.db_url)
    assert [e.type for e in events] == ["emulation.movement.launched", "emulation.document.issued"]
    assert reporting_row(events[0])["name"].startswith("Bắc Giang chung tay")
