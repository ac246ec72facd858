"""The restore drill: back up the registry and reporting databases and the streams while the platform
runs, keep working, lose everything (databases dropped, NATS's folder deleted), restore, and the platform
answers as at the backup: the events still in the registry's outbox at the backup are published after the
restore, the streams hold each event once, the consumer applies each once; and work after the restore flows.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import orjson
from sqlalchemy.engine import make_url

from devstack.backup import create, dump_stream, restore, restore_stream
from devstack.embedded import EmbeddedNats, free_port
from services.registry.main import create_app as create_registry
from services.registry.settings import RegistrySettings
from services.registry.units.load import load
from services.reporting.operations.check import check
from shared.crypto import generate_key
from shared.db import asyncpg_dsn
from shared.streams import ensure_streams
from tests.e2e.test_registry_to_reporting import OFFICER, import_file, import_households, registry_sql
from tests.kit import Stack, auth_headers, eventually, fresh_database, running_app, service_env
from tests.reporting.conftest import reporting_app

DISTRICT = "v2008.24.213"
PERSONAL_KEYS = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}  # kept with backups


@asynccontextmanager
async def platform(registry_url: str, reporting_url: str, nats_url: str) -> AsyncIterator[tuple[Any, ...]]:
    registry = create_registry(RegistrySettings(**service_env("registry", registry_url, nats_url), **PERSONAL_KEYS))
    async with running_app(registry) as registry_client, \
            running_app(reporting_app(reporting_url, nats_url)) as reporting_client:
        yield registry, registry_client, reporting_client


async def caught_up(registry_url: str, reporting_client: httpx.AsyncClient) -> None:
    async def done() -> bool:
        unsent = (await registry_sql(registry_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"))[0][0]
        status = (await reporting_client.get("/reporting/status", headers=auth_headers(OFFICER))).json()
        return bool(unsent == 0 and status["caught_up"])

    await eventually(done, timeout=120, interval=0.3)


async def answers(registry_url: str, reporting_client: httpx.AsyncClient) -> dict[str, Any]:
    """What the platform answers: the registry's households per commune, reporting's district figures."""
    rows = await registry_sql(registry_url, "SELECT unit_path, count(*) FROM households GROUP BY 1 ORDER BY 1")
    response = await reporting_client.get("/reporting/indicators/poverty", headers=auth_headers(OFFICER),
                                          params={"unit": "213", "year": 2024})
    assert response.status_code == 200, response.text
    body = response.json()
    return {"registry": {r[0]: r[1] for r in rows},
            "reporting": {c["path"]: (c["households"], c["poor"], c["near_poor"]) for c in body["children"]
                          if c["households"]},
            "district": (body["unit"]["households"], body["unit"]["poor"], body["unit"]["near_poor"])}


async def stream_ids(nats_url: str, folder: Path, stream: str = "REGISTRY") -> list[str]:
    """Every event id in the stream (read as the backup reads it)."""
    nc = await nats.connect(nats_url)
    try:
        await dump_stream(nc.jetstream(), stream, folder)
    finally:
        await nc.close()
    lines = (folder / f"{stream}.jsonl").read_text().splitlines()
    return [orjson.loads(base64.b64decode(orjson.loads(line)["data"]))["id"] for line in lines]


async def recreate(stack: Stack, url: str) -> None:
    """Lose the database: dropped, then created empty (what an operator or CloudNativePG gives back)."""
    name = make_url(url).database
    admin = await asyncpg.connect(asyncpg_dsn(stack.pg_url))
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def test_restore_drill(stack: Stack) -> None:
    registry_url = await fresh_database(stack, "registry")
    await load(registry_url)
    reporting_url = await fresh_database(stack, "reporting")
    urls = {"registry": registry_url, "reporting": reporting_url}
    work = Path(tempfile.mkdtemp(prefix="chungtay-drill-"))
    server = EmbeddedNats(work / "nats", free_port())
    server.start()
    try:
        async with platform(registry_url, reporting_url, server.url) as (registry, client, reporting_client):
            await import_households(client, registry, import_file("07207", 120, 0))
            await caught_up(registry_url, reporting_client)
            # Events in flight at the backup: committed to the outbox, not yet published.
            await registry.state.relay.stop()
            await import_households(client, registry, import_file("07213", 40, 5000))
            in_flight = (await registry_sql(registry_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"))[0][0]
            assert in_flight > 0
            at_backup = await answers(registry_url, reporting_client)
            manifest = await create(work / "backup", urls, server.url)
            # Work after the backup: published and applied, then lost with everything else.
            await registry.state.relay.start()
            await import_households(client, registry, import_file("07210", 60, 9000))
            await caught_up(registry_url, reporting_client)
            after_backup = await answers(registry_url, reporting_client)
        assert after_backup["registry"] != at_backup["registry"]
        assert set(manifest["databases"]) == {"registry", "reporting"}
        assert manifest["streams"]["REGISTRY"]["messages"] > 0

        # The disaster: both databases and the NATS server's data gone.
        server.stop()
        shutil.rmtree(work / "nats")
        for url in urls.values():
            await recreate(stack, url)

        server = EmbeddedNats(work / "nats-restored", free_port())
        server.start()
        restored = await restore(work / "backup", urls, server.url)
        assert restored["streams"]["REGISTRY"] == manifest["streams"]["REGISTRY"]["messages"]

        async with platform(registry_url, reporting_url, server.url) as (registry, client, reporting_client):
            await caught_up(registry_url, reporting_client)
            now = await answers(registry_url, reporting_client)
            # The registry as at the backup; reporting caught up with it, the in-flight events included.
            assert now["registry"] == at_backup["registry"]
            assert now["reporting"] == {path: after_backup["reporting"][path] for path in now["reporting"]}
            assert sum(v[0] for v in now["reporting"].values()) == sum(now["registry"].values())
            assert "v2008.24.213.07210" not in now["reporting"], "work after the backup is gone everywhere"
            assert await check(reporting_url, registry_url) == [], "reporting's counts equal the registry's rows"

            # Each registry event once in the stream, each applied once.
            outbox = [str(r[0]) for r in await registry_sql(registry_url, "SELECT id FROM outbox")]
            (work / "check").mkdir()
            in_stream = Counter(await stream_ids(server.url, work / "check"))
            assert max(in_stream.values()) == 1, "no event twice in the stream"
            assert set(outbox) - set(in_stream) == set(), "every event of the outbox is in the stream"
            inbox = await registry_sql(reporting_url,
                                       "SELECT count(*) FROM inbox WHERE consumer = 'reporting-registry'")
            assert inbox[0][0] == sum(in_stream.values()) == manifest["streams"]["REGISTRY"]["messages"] + in_flight

            # And the platform goes on: an import after the restore is counted once.
            await import_households(client, registry, import_file("07210", 30, 20000))
            await caught_up(registry_url, reporting_client)
            later = await answers(registry_url, reporting_client)
            assert later["reporting"]["v2008.24.213.07210"][0] == 30
            assert later["district"][0] == now["district"][0] + 30
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


async def test_a_stream_of_large_events_is_saved_and_restored_whole(fresh_nats: EmbeddedNats, tmp_path: Path) -> None:
    """200 events of 400 KB (an import's batch events): 80 MB, more than a subscription buffers by default
    (64 MB), so a backup fetching without regard to size would lose messages on the way."""
    nc = await nats.connect(fresh_nats.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        body = b"x" * 400_000
        for i in range(200):
            await js.publish("registry.household.assessed_batch", body + str(i).encode(),
                             headers={"Nats-Msg-Id": f"big-{i}"})
        saved = await dump_stream(js, "REGISTRY", tmp_path)
        assert saved.messages == 200
        restored = await restore_stream(js, "REGISTRY", tmp_path, replace=True)
        assert restored == 200
        info = await js.stream_info("REGISTRY")
        assert (info.state.messages, info.state.bytes > 200 * 400_000) == (200, True)
        last = await js.get_msg("REGISTRY", 200)
        assert last.data.endswith(b"199") and last.headers["Nats-Msg-Id"] == "big-199"
    finally:
        await nc.close()
