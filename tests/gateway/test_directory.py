"""The unit directory: filled from the registry's `registry.unit.changed` events, kept in the
gateway database (a restarted or second gateway knows the units), stale versions ignored."""

from __future__ import annotations

import nats
from sqlalchemy import text

from gateway.directory.service import DirUnit, UnitDirectory
from gateway.main import create_app
from shared.streams import ensure_streams
from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.support import gateway_settings, running_gateway, unit_event
from tests.kit import eventually


async def _publish(nats_url: str, events: list) -> None:  # type: ignore[type-arg]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        for event in events:
            await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
    finally:
        await nc.close()


async def test_a_unit_published_by_the_registry_becomes_usable(gw: GatewayUnderTest) -> None:
    officer = await gw.headers("district.213")
    new = DirUnit("v2008.24.213.07299", "v2008", "07299", "commune", "Phường Thử Nghiệm", "v2008.24.213")
    before = await gw.client.get("/registry/households", params={"unit": "07299"}, headers=officer)
    assert before.status_code == 403 and before.json()["code"] == "unknown_unit"
    await _publish(gw.nats_url, [unit_event(new)])

    async def known() -> bool:
        r = await gw.client.get("/registry/households", params={"unit": "07299"}, headers=officer)
        return r.status_code == 200

    await eventually(known, timeout=30)


async def test_a_stale_version_does_not_overwrite_a_newer_one(gw: GatewayUnderTest) -> None:
    moved = DirUnit("v2008.24.213.07298", "v2008", "07298", "commune", "Tên mới", "v2008.24.213")
    old = DirUnit("v2008.24.213.07298", "v2008", "07298", "commune", "Tên cũ", "v2008.24.213")
    await _publish(gw.nats_url, [unit_event(moved, version=3)])
    await eventually(lambda: _named(gw, "v2008.24.213.07298", "Tên mới"), timeout=30)
    await _publish(gw.nats_url, [unit_event(old, version=2)])
    marker = DirUnit("v2008.24.213.07297", "v2008", "07297", "commune", "Marker", "v2008.24.213")
    await _publish(gw.nats_url, [unit_event(marker)])
    await eventually(lambda: _named(gw, "v2008.24.213.07297", "Marker"), timeout=30)
    async with gw.gateway.db.system_session() as session:
        name = await session.scalar(text("SELECT name FROM directory_units WHERE path = 'v2008.24.213.07298'"))
    assert name == "Tên mới"


async def _named(gw: GatewayUnderTest, path: str, name: str) -> bool:
    unit = gw.gateway.directory.by_path(path)
    return unit is not None and unit.name == name


async def test_another_replica_and_a_restart_know_the_units_from_the_database(gw: GatewayUnderTest) -> None:
    # A second gateway that does not consume (another replica's consumer got the events).
    second = create_app(gateway_settings(gw.database_url, gw.nats_url, run_background_workers=False,
                                         upstream_registry=gw.gateway.settings.upstream_registry))
    async with running_gateway(second) as client:
        assert len(second.app.state.directory) == len(gw.gateway.directory)
        token = (await client.post("/auth/token", data={"grant_type": "password", "username": "commune.07207",
                                                        "password": "demo"})).json()["access_token"]
        refused = await client.get("/registry/households", params={"unit": "07222"},
                                   headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403 and refused.json()["code"] == "unit_out_of_scope"
    # A unit written by another replica reaches this one's map through the refresh loop.
    async with gw.gateway.db.system_session() as session:
        await session.execute(text(
            "INSERT INTO directory_units (path, hierarchy, code, level, name, parent_path) "
            "VALUES ('v2008.24.213.07296', 'v2008', '07296', 'commune', 'Khác', 'v2008.24.213')"))
    await eventually(lambda: _named(gw, "v2008.24.213.07296", "Khác"), timeout=30)


async def test_a_refresh_reads_rows_only_when_the_table_changed(gw: GatewayUnderTest) -> None:
    """Right after a bulk load every unit lies in the refresh's overlap window: re-reading them all
    every few seconds stalled the gateway. An unchanged table is not read again."""
    directory = UnitDirectory()
    await directory.load(gw.gateway.db)
    assert len(directory) > 0
    assert await directory.refresh(gw.gateway.db) == 0
    async with gw.gateway.db.system_session() as session:
        await session.execute(text(
            "INSERT INTO directory_units (path, hierarchy, code, level, name, parent_path) "
            "VALUES ('v2008.24.213.07295', 'v2008', '07295', 'commune', 'Mới', 'v2008.24.213')"))
    assert await directory.refresh(gw.gateway.db) >= 1
    assert directory.by_path("v2008.24.213.07295") is not None
    async with gw.gateway.db.system_session() as session:
        await session.execute(text("UPDATE directory_units SET name = 'Đổi tên', version = version + 1 "
                                   "WHERE path = 'v2008.24.213.07295'"))
    assert await directory.refresh(gw.gateway.db) >= 1
    assert directory.by_path("v2008.24.213.07295").name == "Đổi tên"  # type: ignore[union-attr]
    assert await directory.refresh(gw.gateway.db) == 0
