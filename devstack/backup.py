"""Backups and restore: every app's database (`pg_dump`, custom format) and every JetStream stream (its
messages with their headers, read through a JetStream consumer), into one folder.

    python -m devstack.backup create FOLDER     # reads <APP>_DATABASE_URL and NATS_URL, as the apps do
    python -m devstack.backup create --dated --keep 7 ROOT   # into ROOT/<UTC time>, keeping the newest 7
    python -m devstack.backup restore FOLDER    # into empty databases and a NATS without our streams

Why this order (docs/operations.md, "Backups and restore"): the databases are dumped consumers first
(reporting, gateway, emulation, support, then registry), the streams last. So whatever a consumer had
applied was already committed by its producer when the producer was dumped, and every event a producer's
dump shows as sent was already in JetStream when the streams were read. After a restore nothing is lost:
events still unsent in a producer's outbox are published by its relay, events in the streams are
delivered again to every consumer from the start, and each consumer's inbox (restored with its
database) skips those it had applied, so nothing is applied twice.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from devstack.apps import APPS
from devstack.embedded import _pg_bin
from shared.db import asyncpg_dsn

log = logging.getLogger("chungtay.backup")

# Consumers before their producers (see the module's docstring); the gateway consumes the registry.
DUMP_ORDER = ("reporting", "gateway", "emulation", "support", "registry")
FORMAT = 1


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore of the pgserver package (PostgreSQL 16, in the image too), else from PATH."""
    bundled = _pg_bin() / name
    if bundled.exists():
        return str(bundled)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install the PostgreSQL 16 client tools")
    return found


def libpq_url(url: str) -> str:
    return asyncpg_dsn(url)  # postgresql://…, what pg_dump and pg_restore take


def database_urls_from_env() -> dict[str, str]:
    urls = {app: os.environ[f"{app.upper()}_DATABASE_URL"] for app in APPS
            if os.environ.get(f"{app.upper()}_DATABASE_URL")}
    if not urls:
        raise RuntimeError("no <APP>_DATABASE_URL set (REGISTRY_DATABASE_URL, ..., GATEWAY_DATABASE_URL)")
    return urls


def nats_url_from_env() -> str:
    return os.environ.get("NATS_URL") or os.environ.get("REGISTRY_NATS_URL") or "nats://127.0.0.1:4222"


# ---- databases -----------------------------------------------------------------------------------

def dump_database(url: str, target: Path) -> None:
    subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
                    "--dbname", libpq_url(url)], check=True, capture_output=True)


def restore_database(url: str, source: Path, clean: bool = False) -> None:
    """Into an existing database: empty (a new one), or with `clean` its objects dropped first."""
    args = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
            "--dbname", libpq_url(url)]
    if clean:
        args += ["--clean", "--if-exists"]
    result = subprocess.run([*args, str(source)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pg_restore of {source.name} failed: {result.stderr.strip()[-2000:]}")


# ---- streams -------------------------------------------------------------------------------------

@dataclass
class StreamBackup:
    name: str
    messages: int
    last_seq: int


async def dump_stream(js: JetStreamContext, name: str, folder: Path, max_fetch_bytes: int = 8 * 2**20) -> StreamBackup:
    """The stream's configuration and every message up to its last sequence at the start, with headers.

    Fetches are sized from the stream's average message (an import's events are ~400 KB each) so one
    fetch stays near `max_fetch_bytes`; the count read is checked against the stream's, so a message
    dropped on the way fails the backup instead of leaving a hole in it."""
    info = await js.stream_info(name)
    last, first = int(info.state.last_seq or 0), int(info.state.first_seq or 0)
    expected = int(info.state.messages or 0)
    average = max(1, int(info.state.bytes or 0) // max(1, expected))
    batch = max(1, min(1000, max_fetch_bytes // average))
    (folder / f"{name}.config.json").write_text(json.dumps(info.config.as_dict(), indent=1, sort_keys=True))
    count = 0
    with (folder / f"{name}.jsonl").open("w") as out:
        if expected:
            sub = await js.pull_subscribe("", stream=name, config=ConsumerConfig(
                ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=60.0,
                max_ack_pending=-1), pending_bytes_limit=16 * max_fetch_bytes + 64 * 2**20)
            try:
                seq, idle = first - 1, 0
                while seq < last:
                    try:
                        msgs = await sub.fetch(batch, timeout=10)
                    except NatsTimeoutError:
                        idle += 1
                        if idle >= 6:
                            raise RuntimeError(f"stream {name}: no message after sequence {seq} for 60 s") from None
                        continue
                    idle = 0
                    for msg in msgs:
                        seq = int(msg.metadata.sequence.stream)
                        if seq > last:
                            break
                        out.write(json.dumps({"seq": seq, "subject": msg.subject, "headers": msg.headers or {},
                                              "data": base64.b64encode(msg.data).decode()}) + "\n")
                        count += 1
            finally:
                await sub.unsubscribe()
    if count < expected:
        raise RuntimeError(f"stream {name}: {count} messages read of {expected}; run the backup again")
    return StreamBackup(name, count, last)


async def restore_stream(js: JetStreamContext, name: str, folder: Path, replace: bool = False) -> int:
    """Create the stream from its configuration and publish its messages again, headers included (the
    event id stays the Nats-Msg-Id). Refuses a stream that exists, unless `replace`."""
    try:
        await js.stream_info(name)
        if not replace:
            raise RuntimeError(f"stream {name} exists: restore into a NATS without it, or pass --replace")
        await js.delete_stream(name)
    except NotFoundError:
        pass
    config = StreamConfig.from_response(json.loads((folder / f"{name}.config.json").read_text()))
    await js.add_stream(config)
    published = 0
    with (folder / f"{name}.jsonl").open() as lines:
        pending, pending_bytes = [], 0
        for line in lines:
            entry = json.loads(line)
            data = base64.b64decode(entry["data"])
            pending.append(await js.publish_async(entry["subject"], data, headers=entry["headers"] or None))
            pending_bytes += len(data)
            if len(pending) >= 1000 or pending_bytes >= 8 * 2**20:  # acknowledged in rounds of at most 8 MB
                await asyncio.gather(*pending)
                published += len(pending)
                pending, pending_bytes = [], 0
        await asyncio.gather(*pending)
        published += len(pending)
    return published


# ---- dated backups under one root (the CronJob's) ------------------------------------------------

DATED = "%Y%m%dT%H%M%SZ"  # a backup's folder name under the root: its UTC start, sorting as time does
_DATED_NAME = re.compile(r"\d{8}T\d{6}Z")


def dated_folder(root: Path, now: datetime) -> Path:
    return root / now.astimezone(UTC).strftime(DATED)


def prune(root: Path, keep: int, current: Path) -> list[Path]:
    """After `current` was written whole: delete the dated backups under `root` beyond the newest `keep`
    complete ones (a complete backup has its manifest.json, written last), and the leftovers of runs that
    failed before `current` (no manifest). Folders not named like a dated backup are never touched.
    Returns what was deleted."""
    if keep < 1:
        raise ValueError("keep at least 1 backup")
    dated = sorted((p for p in root.iterdir() if p.is_dir() and _DATED_NAME.fullmatch(p.name)),
                   key=lambda p: p.name, reverse=True)
    complete = [p for p in dated if (p / "manifest.json").exists()]
    doomed = complete[keep:] + [p for p in dated if p not in complete and p.name < current.name]
    for path in doomed:
        shutil.rmtree(path)
    return sorted(doomed)


# ---- the whole backup ----------------------------------------------------------------------------

async def create(folder: Path, database_urls: dict[str, str], nats_url: str) -> dict[str, Any]:
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": FORMAT, "started_at": datetime.now(UTC).isoformat(), "databases": {},
                                "streams": {}}
    for app in [a for a in DUMP_ORDER if a in database_urls]:
        await asyncio.to_thread(dump_database, database_urls[app], folder / f"{app}.dump")
        manifest["databases"][app] = {"file": f"{app}.dump", "dumped_at": datetime.now(UTC).isoformat()}
        log.info("database dumped: %s", app)
    streams = folder / "streams"
    streams.mkdir(exist_ok=True)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for name in sorted([s.config.name for s in await js.streams_info() if s.config.name]):
            saved = await dump_stream(js, name, streams)
            manifest["streams"][name] = {"messages": saved.messages, "last_seq": saved.last_seq}
            log.info("stream saved: %s (%d messages)", name, saved.messages)
    finally:
        await nc.close()
    manifest["finished_at"] = datetime.now(UTC).isoformat()
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


async def restore(folder: Path, database_urls: dict[str, str], nats_url: str, *, clean: bool = False,
                  replace_streams: bool = False) -> dict[str, Any]:
    """Streams first (the apps are stopped: nothing publishes meanwhile), then the databases. Start the apps
    afterwards: their relays publish what their outboxes still hold, their consumers replay the streams."""
    manifest = json.loads((folder / "manifest.json").read_text())
    missing = set(manifest["databases"]) - set(database_urls)
    if missing:
        raise RuntimeError(f"no database URL for {sorted(missing)}: set <APP>_DATABASE_URL")
    restored: dict[str, Any] = {"streams": {}, "databases": []}
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for name, saved in manifest["streams"].items():
            count = await restore_stream(js, name, folder / "streams", replace=replace_streams)
            if count != saved["messages"]:
                raise RuntimeError(f"stream {name}: {count} messages restored, {saved['messages']} saved")
            restored["streams"][name] = count
    finally:
        await nc.close()
    for app, entry in manifest["databases"].items():
        await asyncio.to_thread(restore_database, database_urls[app], folder / entry["file"], clean)
        restored["databases"].append(app)
    return restored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("create", "restore"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--dated", action="store_true",
                        help="create: write into FOLDER/<UTC start, e.g. 20261206T183000Z> (the CronJob's way)")
    parser.add_argument("--keep", type=int, default=0, metavar="N",
                        help="create --dated: afterwards delete all but the newest N complete backups under FOLDER")
    parser.add_argument("--clean", action="store_true", help="restore: drop the databases' objects first")
    parser.add_argument("--replace-streams", action="store_true", help="restore: delete existing streams first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[backup] %(message)s")
    if args.keep and not args.dated:
        parser.error("--keep needs --dated (it deletes dated backups only)")
    if args.keep < 0:
        parser.error("--keep: a number of backups, at least 1")
    urls, nats_url = database_urls_from_env(), nats_url_from_env()
    if args.action == "create":
        folder = dated_folder(args.folder, datetime.now(UTC)) if args.dated else args.folder
        manifest = asyncio.run(create(folder, urls, nats_url))
        if args.keep:
            for gone in prune(args.folder, args.keep, folder):
                log.info("older backup deleted: %s", gone)
        print(json.dumps({"folder": str(folder), **manifest}, indent=1))
    else:
        print(json.dumps(asyncio.run(restore(args.folder, urls, nats_url, clean=args.clean,
                                             replace_streams=args.replace_streams)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
