"""Loading the administrative units from the vietnamadminunits package: counts, crosswalk, idempotence."""

from __future__ import annotations

import asyncio
import sys

import orjson
import pytest
from sqlalchemy import text

from services.registry.units.load import LoadReport, load_units
from shared.db import Database
from tests.kit import Stack, fetch, fresh_database


async def _load(url: str) -> LoadReport:
    db = Database(url, pool_size=1)
    try:
        async with db.system_session() as session:
            return await load_units(session)
    finally:
        await db.dispose()


async def test_first_load_writes_both_hierarchies_and_one_event_per_unit(stack: Stack) -> None:
    url = await fresh_database(stack, "registry")
    report = await _load(url)
    counts = {(r["hierarchy"], r["level"]): r["n"] for r in await fetch(
        url, "SELECT hierarchy, level, count(*) AS n FROM units GROUP BY 1, 2")}
    assert counts == {("v2008", "province"): 63, ("v2008", "district"): 696, ("v2008", "commune"): 10035,
                      ("v2025", "province"): 34, ("v2025", "commune"): 3321}
    assert report.created == sum(counts.values()) == 14149
    events = await fetch(url, "SELECT subject, body FROM outbox")
    assert len(events) == 14149
    assert {e["subject"] for e in events} == {"registry.unit.changed"}
    by_path = {orjson.loads(e["body"])["subject_id"]: orjson.loads(e["body"]) for e in events}
    old = by_path["v2008.24.213.07210"]
    assert old["version"] == 1 and old["unit_code"] == "07210"
    assert old["payload"]["name"] == "Phường Hoàng Văn Thụ"
    assert old["payload"]["successors"] == [{"path": "v2025.24.07210", "partial": False}]
    assert old["payload"]["valid_to"] == "2025-06-30"
    assert by_path["v2025.24.07210"]["payload"]["valid_from"] == "2025-07-01"
    crosswalk = await fetch(url, "SELECT count(*) AS n, count(*) FILTER (WHERE partial) AS p FROM unit_successions")
    assert crosswalk[0]["n"] == 10602 and crosswalk[0]["p"] > 0


async def test_commune_07210_is_hoang_van_thu_before_and_bac_giang_ward_after(registry_db: str) -> None:
    rows = {r["path"]: r for r in await fetch(
        registry_db, "SELECT path, name, type, urban, parent_path FROM units WHERE code = '07210'")}
    assert set(rows) == {"v2008.24.213.07210", "v2025.24.07210"}
    assert rows["v2008.24.213.07210"]["name"] == "Phường Hoàng Văn Thụ"
    assert rows["v2025.24.07210"]["name"] == "Phường Bắc Giang"
    assert rows["v2025.24.07210"]["parent_path"] == "v2025.24"
    provinces = {r["path"]: r["name"] for r in await fetch(
        registry_db, "SELECT path, name FROM units WHERE code = '24'")}
    assert provinces == {"v2008.24": "Tỉnh Bắc Giang", "v2025.24": "Tỉnh Bắc Ninh"}
    successors = await fetch(registry_db, "SELECT new_path, partial FROM unit_successions WHERE old_path = $1",
                              "v2008.24.213.07210")
    assert [(r["new_path"], r["partial"]) for r in successors] == [("v2025.24.07210", False)]


async def test_every_old_commune_has_a_successor_and_every_new_commune_a_predecessor(registry_db: str) -> None:
    orphans = await fetch(registry_db, """
        SELECT path FROM units u WHERE level = 'commune' AND (
            (hierarchy = 'v2008' AND NOT EXISTS (SELECT 1 FROM unit_successions s WHERE s.old_path = u.path))
         OR (hierarchy = 'v2025' AND NOT EXISTS (SELECT 1 FROM unit_successions s WHERE s.new_path = u.path)))""")
    assert [r["path"] for r in orphans] == []
    split = await fetch(registry_db, "SELECT old_path, count(*) AS n, bool_and(partial) AS p FROM unit_successions "
                                      "GROUP BY old_path HAVING count(*) > 1")
    assert split and all(r["p"] for r in split)


async def test_urban_follows_the_commune_type(registry_db: str) -> None:
    rows = await fetch(registry_db, "SELECT type, urban, count(*) AS n FROM units WHERE level = 'commune' "
                                     "GROUP BY 1, 2 ORDER BY 1")
    assert {(r["type"], r["urban"]) for r in rows} == {
        ("phường", True), ("thị trấn", True), ("xã", False), ("đặc khu", False)}


async def test_second_load_changes_nothing_and_emits_nothing(registry_db: str) -> None:
    before = await fetch(registry_db, "SELECT path, version FROM units ORDER BY path")
    report = await _load(registry_db)
    assert (report.created, report.updated, report.unchanged, report.events) == (0, 0, 14149, 0)
    assert report.successions_written == report.successions_removed == 0
    assert await fetch(registry_db, "SELECT id FROM outbox") == []
    assert await fetch(registry_db, "SELECT path, version FROM units ORDER BY path") == before


async def test_reload_repairs_a_changed_unit_keeps_its_flags_and_emits_one_event(registry_db: str) -> None:
    db = Database(registry_db, pool_size=1)
    try:
        async with db.system_session() as session:
            await session.execute(text(
                "UPDATE units SET name = 'Phường Sai Tên', name_search = 'phuong sai ten', difficult_commune = true "
                "WHERE path = 'v2008.24.213.07207'"))
            await session.execute(text(
                "DELETE FROM unit_successions WHERE old_path = 'v2008.24.213.07210'"))
    finally:
        await db.dispose()
    report = await _load(registry_db)
    assert (report.created, report.updated, report.successions_written) == (0, 2, 1)
    row = (await fetch(registry_db, "SELECT name, name_search, difficult_commune, version FROM units "
                                     "WHERE path = 'v2008.24.213.07207'"))[0]
    assert (row["name"], row["name_search"], row["difficult_commune"], row["version"]) == (
        "Phường Ngô Quyền", "phuong ngo quyen", True, 2)
    events = {orjson.loads(r["body"])["subject_id"]: orjson.loads(r["body"])
              for r in await fetch(registry_db, "SELECT body FROM outbox")}
    assert set(events) == {"v2008.24.213.07207", "v2008.24.213.07210"}
    assert events["v2008.24.213.07207"]["version"] == 2
    assert events["v2008.24.213.07207"]["payload"]["difficult_commune"] is True
    assert events["v2008.24.213.07210"]["payload"]["successors"] == [{"path": "v2025.24.07210", "partial": False}]


async def test_special_zones_follow_the_setting(registry_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_SPECIAL_ZONE_URBAN", "true")
    report = await _load(registry_db)
    zones = await fetch(registry_db, "SELECT urban FROM units WHERE type = 'đặc khu'")
    assert len(zones) == 13 and all(r["urban"] is True for r in zones)
    assert report.updated == 13 and report.events == 13


async def test_command_line_loader_reports_what_it_did(registry_db: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.registry.units.load", registry_db,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "created=0, updated=0, unchanged=14149" in out.decode()
