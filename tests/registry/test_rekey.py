"""Replacing the personal-data keys (`python -m services.registry.rekey`): every citizen ID reads the
same under the new keys, duplicates are still found, nothing changes when a key is wrong."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

from services.registry.main import create_app
from services.registry.personal_data import PersonalDataCipher
from services.registry.rekey import RekeyError, rekey
from services.registry.settings import RegistrySettings
from shared.crypto import decode_key, generate_key
from tests.kit import fetch, running_app, service_env
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.households_helpers import commune_officer, household_body


def cipher(keys: dict[str, str]) -> PersonalDataCipher:
    return PersonalDataCipher(decode_key(keys["personal_data_key"], "key"),
                              decode_key(keys["personal_data_hash_key"], "hash key"))


async def stored(url: str) -> list[tuple[bytes, bytes]]:
    rows = await fetch(url, "SELECT citizen_id_enc, citizen_id_hash FROM household_members ORDER BY id")
    return [(bytes(r[0]), bytes(r[1])) for r in rows]


async def citizen_ids_seen(client: httpx.AsyncClient, household_ids: list[str]) -> list[str]:
    seen = []
    for household_id in household_ids:
        record = (await client.get(f"/registry/households/{household_id}", headers=commune_officer())).json()
        seen += sorted(m["citizen_id"] for m in record["members"])
    return seen


async def test_new_keys_read_every_citizen_id_and_still_find_duplicates(registry_db: str, nats_url: str) -> None:
    new_keys = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}
    bodies = [household_body(members=3), household_body(members=2)]
    async with running_app(create_app(RegistrySettings(**service_env("registry", registry_db, nats_url,
                                                                     **PERSONAL_DATA_KEYS)))) as client:
        created = []
        for i, body in enumerate(bodies):
            headers = commune_officer() | ({"Idempotency-Key": "before-rekey"} if i == 0 else {})
            response = await client.post("/registry/households", json=body, headers=headers)
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])
        before = await citizen_ids_seen(client, created)
    old_rows = await stored(registry_db)

    result = await rekey(registry_db, cipher(PERSONAL_DATA_KEYS), cipher(new_keys))
    assert (result.members, result.already_new, result.replay_answers_dropped) == (5, 0, 1)
    new_rows = await stored(registry_db)
    assert all(o[0] != n[0] and o[1] != n[1] for o, n in zip(old_rows, new_rows, strict=True))

    async with running_app(create_app(RegistrySettings(**service_env("registry", registry_db, nats_url,
                                                                     **new_keys)))) as client:
        assert await citizen_ids_seen(client, created) == before
        again = household_body(members=1)
        again["members"][0]["citizen_id"] = bodies[1]["members"][1]["citizen_id"]
        duplicate = await client.post("/registry/households", json=again, headers=commune_officer())
        assert duplicate.status_code == 409 and duplicate.json()["code"] == "citizen_id_registered"

    # A second run with the same keys finds every row already re-keyed and changes nothing it reads.
    assert (await rekey(registry_db, cipher(PERSONAL_DATA_KEYS), cipher(new_keys))).already_new == 5


async def test_a_wrong_current_key_changes_nothing(registry_db: str, nats_url: str) -> None:
    async with running_app(create_app(RegistrySettings(**service_env("registry", registry_db, nats_url,
                                                                     **PERSONAL_DATA_KEYS)))) as client:
        assert (await client.post("/registry/households", json=household_body(),
                                  headers=commune_officer())).status_code == 201
    rows = await stored(registry_db)
    strangers = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}
    with pytest.raises(RekeyError, match="neither the current nor the new key"):
        await rekey(registry_db, cipher(strangers), cipher(strangers | {"personal_data_key": generate_key()}))
    assert await stored(registry_db) == rows


async def test_the_command_reads_the_new_keys_from_files(registry_db: str, tmp_path: Path) -> None:
    new_keys = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}
    (tmp_path / "new.key").write_text(new_keys["personal_data_key"])
    (tmp_path / "new_hash.key").write_text(new_keys["personal_data_hash_key"])
    env = {**os.environ, "REGISTRY_DATABASE_URL": registry_db,
           "REGISTRY_PERSONAL_DATA_KEY": PERSONAL_DATA_KEYS["personal_data_key"],
           "REGISTRY_PERSONAL_DATA_HASH_KEY": PERSONAL_DATA_KEYS["personal_data_hash_key"]}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.registry.rekey", "--new-key-file", str(tmp_path / "new.key"),
        "--new-hash-key-file", str(tmp_path / "new_hash.key"), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "re-keyed 0 citizen IDs" in out.decode()
    missing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.registry.rekey", "--new-key-file", str(tmp_path / "absent.key"),
        "--new-hash-key-file", str(tmp_path / "new_hash.key"), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await missing.communicate()
    assert missing.returncode == 1 and "cannot read" in err.decode()
