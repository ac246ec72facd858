"""What DCI keeps sealed (async requests and answers, callback bodies) is sealed for DCI alone: a DCI
value never opens as an Idempotency-Key answer, nor an Idempotency-Key answer as a DCI message. Rows
sealed before DCI had its own purpose (flagged by migration registry_0008) are still read — a waiting
callback is delivered, txn status hands out the answer — and are sealed again with DCI's purpose by the
registry's housekeeping, or by services.registry.rekey."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy.engine import make_url

from devstack.apps import migrations_dir
from services.registry.dci import sealing
from services.registry.personal_data import PersonalDataCipher
from services.registry.rekey import rekey
from shared import clock
from shared.crypto import generate_key
from shared.db import asyncpg_dsn
from shared.migrations import upgrade
from tests.dci.conftest import (
    Receiver,
    a_callback_waiting,
    a_household_for_bhxh,
    envelope,
    registry_app,
    system,
)
from tests.dci.spec.schemas import ON_SEARCH, validate
from tests.kit import Stack, eventually, fetch, fresh_database, scalar
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.households_helpers import HOME
from tests.registry.test_rekey import cipher

SEALED = (("dci_transactions", ("request_sealed", "response_sealed")), ("dci_deliveries", ("body_sealed",)))


pytestmark = pytest.mark.usefixtures("fast_dci_worker")


async def _sealed_values(registry_db: str) -> list[tuple[str, str, Any, bytes, bool]]:
    """(table, column, row id, value, legacy_seal) of every sealed DCI value."""
    found = []
    for table, columns in SEALED:
        for row in await fetch(registry_db, f"SELECT id, legacy_seal, {', '.join(columns)} FROM {table}"):
            found += [(table, c, row["id"], bytes(row[c]), row["legacy_seal"]) for c in columns if row[c] is not None]
    return found


async def _with_a_waiting_callback(registry_db: str, nats_url: str, receiver: Receiver) -> tuple[dict[str, Any], str]:
    """A household, an async search answered (its answer kept), a second one whose callback waits (the
    client is down). (household, correlation id of the answered search)."""
    async with registry_app(registry_db, nats_url) as client:
        household, number = await a_household_for_bhxh(client, receiver)
        answered = await a_callback_waiting(client, number, receiver)
    return household, answered


async def _as_sealed_before(registry_db: str, keys: PersonalDataCipher) -> int:
    """What rows sealed before registry_0008 look like after it: sealed with the Idempotency-Key answers'
    purpose (the old code's `cipher.seal`) and flagged legacy_seal."""
    conn = await asyncpg.connect(asyncpg_dsn(registry_db))
    try:
        values = await _sealed_values(registry_db)
        for table, column, row_id, value, _ in values:
            old = keys.seal(keys.open(value, sealing.PURPOSE))  # the default purpose: Idempotency-Key answers
            await conn.execute(f"UPDATE {table} SET {column} = $2, legacy_seal = true WHERE id = $1", row_id, old)
        return len(values)
    finally:
        await conn.close()


async def test_dci_values_open_for_dci_only(registry_db: str, nats_url: str, receiver: Receiver) -> None:
    await _with_a_waiting_callback(registry_db, nats_url, receiver)
    keys = cipher(PERSONAL_DATA_KEYS)
    values = await _sealed_values(registry_db)
    assert len(values) >= 5  # two requests, two answers, two callbacks
    for table, column, _, value, legacy in values:
        assert not legacy and sealing.unsealed(keys, value) is not None, (table, column)
        with pytest.raises(InvalidTag):  # never as an Idempotency-Key answer
            keys.open(value)

    # An Idempotency-Key answer (its purpose, the same key) put in place of a waiting callback's body is
    # not a DCI message: the worker gives that callback up and sends nothing.
    conn = await asyncpg.connect(asyncpg_dsn(registry_db))
    try:
        await conn.execute("UPDATE dci_deliveries SET body_sealed = $1 WHERE delivered_at IS NULL",
                           keys.seal(b'{"header": {"action": "on-search"}, "message": {}}'))
    finally:
        await conn.close()
    receiver.status = 200
    async with registry_app(registry_db, nats_url):
        async def given_up() -> bool:
            return await scalar(registry_db, "SELECT count(*) FROM dci_deliveries WHERE expired_at IS NOT NULL "
                                             "AND last_error LIKE 'the sealed body cannot be opened%'") == 1

        await eventually(given_up)
    assert receiver.of("on-search") == []


async def test_rows_sealed_before_are_read_and_sealed_again_by_the_housekeeping(
        registry_db: str, nats_url: str, receiver: Receiver) -> None:
    household, answered = await _with_a_waiting_callback(registry_db, nats_url, receiver)
    keys = cipher(PERSONAL_DATA_KEYS)
    assert await _as_sealed_before(registry_db, keys) >= 5
    receiver.status = 200
    async with registry_app(registry_db, nats_url) as client:
        [waited] = await eventually(lambda: receiver.arrived("on-search"))  # the callback that waited
        validate(waited, ON_SEARCH)
        assert waited["message"]["search_response"][0]["pagination"]["total_count"] == 1
        status = await client.post("/registry/sync/txn/status", headers=system("bhxh", HOME), json=envelope(
            "txn-status", "bhxh", {"transaction_id": "S-1", "txnstatus_request": {
                "txn_type": "search", "attribute_type": "correlation_id", "attribute_value": answered}}, 1))
        [item] = status.json()["message"]["txnstatus_response"]["txn_status"]["search_response"]
        assert item["data"]["reg_records"][0]["group_identifier"][0]["identifier_value"] == household["id"]

        async def sealed_again() -> bool:
            values = await _sealed_values(registry_db)
            return not any(legacy for *_, legacy in values)

        await eventually(sealed_again)
    for table, column, _, value, _ in await _sealed_values(registry_db):
        assert sealing.unsealed(keys, value) is not None, (table, column)
        with pytest.raises(InvalidTag):
            keys.open(value)


async def test_rekey_seals_rows_sealed_before_with_dcis_purpose(registry_db: str, nats_url: str,
                                                                receiver: Receiver) -> None:
    await _with_a_waiting_callback(registry_db, nats_url, receiver)
    old = cipher(PERSONAL_DATA_KEYS)
    await _as_sealed_before(registry_db, old)
    new_keys = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}
    new = cipher(new_keys)
    result = await rekey(registry_db, old, new)
    assert result.dci.unreadable == 0 and result.dci.sealed >= 5
    waiting = await fetch(registry_db, "SELECT legacy_seal, body_sealed FROM dci_deliveries WHERE delivered_at IS NULL")
    assert waiting and all(not r["legacy_seal"] and sealing.unsealed(new, r["body_sealed"]) for r in waiting)
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions WHERE legacy_seal") == 0
    receiver.status = 200
    async with registry_app(registry_db, nats_url, new_keys):
        [waited] = await eventually(lambda: receiver.arrived("on-search"))
        assert waited["message"]["search_response"][0]["pagination"]["total_count"] == 1


async def test_the_migration_flags_the_rows_sealed_before(stack: Stack) -> None:
    url = await fresh_database(stack, "registry")
    name = make_url(url).database
    admin = await asyncpg.connect(asyncpg_dsn(stack.pg_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}_before"')
    finally:
        await admin.close()
    before = make_url(url).set(database=f"{name}_before").render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, migrations_dir("registry"), before, "registry_0007_log_by_month")
    conn = await asyncpg.connect(asyncpg_dsn(before))
    try:
        for message_id, sealed in (("async", b"sealed-request"), ("sync", None)):
            await conn.execute(
                "INSERT INTO dci_transactions (id, client_id, kind, mode, message_id, transaction_id, correlation_id, "
                "status, reference_ids, principal, request_sealed, item_statuses) "
                "VALUES ($1, 'bhxh', 'search', $2, $2, 'T', $3, 'pdng', '{}', '{}', $4, '[]')",
                uuid.uuid4(), message_id, str(uuid.uuid4()), sealed)
        await conn.execute("INSERT INTO dci_deliveries (id, message_id, client_id, action, url, body_sealed, "
                           "next_attempt_at) VALUES ($1, 'M', 'bhxh', 'notify', 'http://x/dci', $2, $3)",
                           uuid.uuid4(), b"sealed-body", clock.now())
    finally:
        await conn.close()
    await asyncio.to_thread(upgrade, migrations_dir("registry"), before, "head")
    flags = await fetch(before, "SELECT mode, legacy_seal FROM dci_transactions ORDER BY mode")
    assert [(r["mode"], r["legacy_seal"]) for r in flags] == [("async", True), ("sync", False)]
    assert await scalar(before, "SELECT bool_and(legacy_seal) FROM dci_deliveries") is True
