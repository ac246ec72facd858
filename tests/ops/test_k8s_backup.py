"""The backup CronJob: in every build it runs the backup tool as docs/operations.md says (every app's
database through the same Secret keys as the apps, NATS from the ConfigMap, into its volume, one at a time),
and the command it runs works: a dated backup is written whole, only the newest ones are kept, the leftovers
of failed runs go, other folders stay, and a failed run deletes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

import nats
import pytest

from devstack.embedded import EmbeddedNats
from shared.streams import ensure_streams
from tests.kit import Stack, fresh_database
from tests.ops.compose import APPS, ROOT
from tests.ops.kustomize import BUILDS, Manifest, build, by_kind_and_name, label, pod_spec


def backup_container(objects: dict[tuple[str, str], Manifest]) -> Manifest:
    (container,) = pod_spec(objects[("CronJob", "backup")])["containers"]
    return container


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_the_cronjob_backs_up_every_database_and_nats_into_its_volume(directory: Path) -> None:
    objects = by_kind_and_name(build(directory))
    cronjob = objects[("CronJob", "backup")]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    zoneinfo.ZoneInfo(cronjob["spec"]["timeZone"])  # a zone the cluster knows (raises otherwise)
    container = backup_container(objects)
    command = container["command"]
    assert command[:6] == ["python", "-m", "devstack.backup", "create", "--dated", "--keep"]
    assert int(command[6]) >= 1
    # The same Secret keys as each app's own Deployment: a backup of the database the app really uses.
    env = {e["name"]: e["valueFrom"] for e in container["env"]}
    assert set(env) == {f"{app.upper()}_DATABASE_URL" for app in APPS} | {"NATS_URL"}
    for app in APPS:
        (app_container,) = pod_spec(objects[("Deployment", app)])["containers"]
        own = {e["name"]: e.get("valueFrom") for e in app_container["env"]}
        assert env[f"{app.upper()}_DATABASE_URL"] == own[f"{app.upper()}_DATABASE_URL"], app
    assert env["NATS_URL"] == {"configMapKeyRef": {"name": "chungtay-config", "key": "NATS_URL"}}
    # It writes where its volume is mounted, and that volume is the claim `backups` of the build.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(cronjob)["volumes"]}
    folder = command[-1]
    assert volumes[mounts[folder]]["persistentVolumeClaim"] == {"claimName": "backups"}
    assert ("PersistentVolumeClaim", "backups") in objects
    assert pod_spec(cronjob)["securityContext"]["fsGroup"] == pod_spec(cronjob)["securityContext"]["runAsUser"]


def backup(root: Path, keep: int, databases: dict[str, str], nats_url: str) -> subprocess.CompletedProcess[str]:
    """The CronJob's command (its folder replaced by `root`), with the variables the CronJob sets."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
           "NATS_URL": nats_url, **{f"{app.upper()}_DATABASE_URL": url for app, url in databases.items()}}
    return subprocess.run([sys.executable, "-m", "devstack.backup", "create", "--dated", "--keep", str(keep),
                           str(root)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def planted(root: Path, name: str, complete: bool) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "registry.dump").write_bytes(b"old")
    if complete:
        (folder / "manifest.json").write_text("{}")
    return folder


async def test_dated_backups_keep_the_newest_and_a_failed_run_deletes_nothing(
        stack: Stack, fresh_nats: EmbeddedNats, tmp_path: Path) -> None:
    databases = {"registry": await fresh_database(stack, "registry"),
                 "reporting": await fresh_database(stack, "reporting")}
    nc = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(nc.jetstream())
        await nc.jetstream().publish("registry.household.created", b"{}", headers={"Nats-Msg-Id": "one"})
    finally:
        await nc.close()
    root = tmp_path / "backups"
    older = planted(root, "20260101T013000Z", complete=True)
    newer = planted(root, "20260102T013000Z", complete=True)
    failed = planted(root, "20260103T013000Z", complete=False)  # a run that died half-way
    manual = planted(root, "before-upgrade", complete=True)  # an operator's own: never touched

    # A run that fails (a database gone) leaves its folder without a manifest and deletes nothing.
    gone = databases["registry"].rsplit("/", 1)[0] + "/no_such_database"
    refused = backup(root, 1, {**databases, "registry": gone}, fresh_nats.url)
    assert refused.returncode != 0 and "no_such_database" in refused.stderr
    left = {p.name for p in root.iterdir()}
    assert {older.name, newer.name, failed.name, manual.name} < left
    (half_done,) = left - {older.name, newer.name, failed.name, manual.name}
    assert not (root / half_done / "manifest.json").exists()

    result = backup(root, 2, databases, fresh_nats.url)
    assert result.returncode == 0, result.stderr
    written = Path(json.loads(result.stdout)["folder"])
    assert written.parent == root and len(written.name) == len("20261206T183000Z")
    manifest = json.loads((written / "manifest.json").read_text())
    assert set(manifest["databases"]) == {"registry", "reporting"}
    assert all((written / entry["file"]).stat().st_size > 1000 for entry in manifest["databases"].values())
    assert manifest["streams"]["REGISTRY"]["messages"] == 1
    # The two newest complete backups stay (this one and the planted newer), with the operator's folder;
    # the older complete one and both failed runs' leftovers are gone.
    assert sorted(p.name for p in root.iterdir()) == sorted([newer.name, written.name, manual.name])
