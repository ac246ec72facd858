"""The token signing keys at rest: encrypted with GATEWAY_SIGNING_KEY_ENCRYPTION_KEY (AES-256-GCM, the kid
bound as associated data), so a dump of the gateway database cannot mint tokens; kept across restarts;
plain rows of older databases encrypted at start under their own kid; a wrong or missing key refuses
to start; rotation writes encrypted rows; the periodic reload does not decrypt known keys again."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.keys.cipher import ENCRYPTED_PREFIX, KeyCipher, SigningKeyStoreError, associated_data
from gateway.keys.service import KeyRing
from gateway.main import create_app
from gateway.proxy.front import GatewayFront
from shared.crypto import decode_key, generate_key
from shared.db import asyncpg_dsn
from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.support import (
    DEMO_PASSWORD,
    SIGNING_KEY_ENCRYPTION_KEY,
    gateway_settings,
    running_gateway,
)

SETTING = "GATEWAY_SIGNING_KEY_ENCRYPTION_KEY"
PREVIOUS = "GATEWAY_SIGNING_KEY_ENCRYPTION_KEY_PREVIOUS"


async def stored_rows(database_url: str) -> dict[str, str]:
    """What a dump of the gateway database shows of the signing keys: kid → stored private key."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return {r["kid"]: r["private_pem"] for r in await conn.fetch("SELECT kid, private_pem FROM signing_keys")}
    finally:
        await conn.close()


def pem_of(private_key: Any) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode()


def open_with(key: str, kid: str, stored: str) -> bytes:
    assert stored.startswith(ENCRYPTED_PREFIX)
    blob = base64.b64decode(stored[len(ENCRYPTED_PREFIX):])
    return AESGCM(decode_key(key, SETTING)).decrypt(blob[:12], blob[12:], associated_data(kid))


@asynccontextmanager
async def gateway(database_url: str, nats_url: str, key: str,
                  previous: str = "") -> AsyncIterator[tuple[GatewayFront, httpx.AsyncClient]]:
    """A gateway on this database whose signing keys are encrypted with `key` ("" for none)."""
    front = create_app(gateway_settings(database_url, nats_url, signing_key_encryption_key=key,
                                            signing_key_encryption_key_previous=previous))
    async with running_gateway(front) as client:
        yield front, client


async def refused_start(database_url: str, nats_url: str, key: str) -> str:
    """Starting a gateway with `key` fails: the message it fails with."""
    front = create_app(gateway_settings(database_url, nats_url, signing_key_encryption_key=key))
    try:
        with pytest.raises(SigningKeyStoreError) as refused:
            async with running_gateway(front):
                pass
    finally:
        await front.app.state.db.dispose()
    return str(refused.value)


async def login(client: httpx.AsyncClient, username: str = "commune.07207") -> str:
    response = await client.post("/auth/token", data={"grant_type": "password", "username": username,
                                                      "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def accepted(client: httpx.AsyncClient, token: str) -> bool:
    response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def test_a_dump_of_the_stored_signing_keys_shows_nothing_usable(gw: GatewayUnderTest) -> None:
    current = gw.gateway.keyring.current
    rows = await stored_rows(gw.database_url)
    assert list(rows) == [current.kid]
    stored = rows[current.kid]
    pem = pem_of(current.private)
    body = "".join(pem.strip().splitlines()[1:-1])  # the base64 of the PKCS8 DER
    der = base64.b64decode(body)
    assert stored.startswith(ENCRYPTED_PREFIX)
    assert "PRIVATE KEY" not in stored and "-----" not in stored
    for line in pem.strip().splitlines()[1:-1]:
        assert line not in stored
    assert body[:24] not in stored and body[-24:] not in stored
    # Nor the private scalar itself, in any encoding a reader might try.
    scalar = current.private.private_numbers().private_value.to_bytes(32, "big")
    blob = base64.b64decode(stored[len(ENCRYPTED_PREFIX):])
    assert scalar not in blob and der not in blob
    for encoded in (scalar.hex(), base64.b64encode(scalar).decode(), base64.urlsafe_b64encode(scalar).decode()):
        assert encoded.rstrip("=") not in stored
    # It is AES-256-GCM under the configured key, bound to its kid: the same bytes under another kid fail.
    assert open_with(SIGNING_KEY_ENCRYPTION_KEY, current.kid, stored).decode() == pem
    with pytest.raises(InvalidTag):
        open_with(SIGNING_KEY_ENCRYPTION_KEY, current.kid + "x", stored)
    with pytest.raises(InvalidTag):
        open_with(generate_key(), current.kid, stored)
    # Two seals of the same key differ (a fresh nonce each time).
    cipher = KeyCipher(SIGNING_KEY_ENCRYPTION_KEY)
    assert cipher.seal(current.kid, pem) != cipher.seal(current.kid, pem)


async def test_tokens_issued_before_a_restart_still_verify_after_it(gateway_db: str, nats_url: str) -> None:
    async with gateway(gateway_db, nats_url, SIGNING_KEY_ENCRYPTION_KEY) as (front, client):
        token = await login(client)
        kid = front.app.state.keyring.current.kid
        assert await accepted(client, token)
    async with gateway(gateway_db, nats_url, SIGNING_KEY_ENCRYPTION_KEY) as (front, client):
        assert front.app.state.keyring.current.kid == kid  # the same key, read back and decrypted
        assert await accepted(client, token)
        assert jwt.get_unverified_header(await login(client))["kid"] == kid
    rows = await stored_rows(gateway_db)
    assert list(rows) == [kid] and rows[kid].startswith(ENCRYPTED_PREFIX)


class Recorded(logging.Handler):
    """The records of one logger (the app's configure_logging replaces the root handlers, caplog's too)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_plain_pem_row_of_an_older_database_is_encrypted_at_start_and_keeps_its_kid(
        gateway_db: str, nats_url: str) -> None:
    # Without the key the gateway works as before this change: plain PEM, and a warning at start.
    recorded = Recorded()
    logging.getLogger("gateway.keys").addHandler(recorded)
    try:
        async with gateway(gateway_db, nats_url, "") as (front, client):
            old_token = await login(client)
            kid = front.app.state.keyring.current.kid
            pem = pem_of(front.app.state.keyring.current.private)
    finally:
        logging.getLogger("gateway.keys").removeHandler(recorded)
    assert any(r.levelno == logging.WARNING and "unencrypted" in r.getMessage() and SETTING in r.getMessage()
               for r in recorded.records)
    assert await stored_rows(gateway_db) == {kid: pem}

    # With the key set, the start encrypts that row in place: same kid, same key, its tokens still good.
    async with gateway(gateway_db, nats_url, SIGNING_KEY_ENCRYPTION_KEY) as (front, client):
        assert front.app.state.keyring.current.kid == kid
        assert await accepted(client, old_token)
        new_token = await login(client)
        assert jwt.get_unverified_header(new_token)["kid"] == kid
    rows = await stored_rows(gateway_db)
    assert list(rows) == [kid]
    assert rows[kid].startswith(ENCRYPTED_PREFIX) and "PRIVATE KEY" not in rows[kid]
    assert open_with(SIGNING_KEY_ENCRYPTION_KEY, kid, rows[kid]).decode() == pem

    # And the next start finds it encrypted and leaves it so.
    async with gateway(gateway_db, nats_url, SIGNING_KEY_ENCRYPTION_KEY) as (front, client):
        assert await accepted(client, old_token) and await accepted(client, new_token)
    assert await stored_rows(gateway_db) == rows


async def test_a_wrong_or_missing_key_refuses_to_start_naming_the_setting(gateway_db: str, nats_url: str) -> None:
    async with gateway(gateway_db, nats_url, SIGNING_KEY_ENCRYPTION_KEY) as (_, client):
        token = await login(client)
    rows = await stored_rows(gateway_db)

    wrong = await refused_start(gateway_db, nats_url, generate_key())
    assert SETTING in wrong and "cannot be decrypted" in wrong
    missing = await refused_start(gateway_db, nats_url, "")
    assert SETTING in missing and "not set" in missing
    # A key that is not 32 bytes in base64 or hex is refused before anything starts.
    for malformed in ("not-a-key", base64.b64encode(b"short").decode(), "ab" * 31):
        with pytest.raises(SigningKeyStoreError, match=SETTING):
            create_app(gateway_settings(gateway_db, nats_url, signing_key_encryption_key=malformed))

    # Nothing was rewritten by the refused starts; the right key (in hex this time) still opens the door.
    assert await stored_rows(gateway_db) == rows
    as_hex = decode_key(SIGNING_KEY_ENCRYPTION_KEY, SETTING).hex()
    async with gateway(gateway_db, nats_url, as_hex) as (_, client):
        assert await accepted(client, token)


async def test_rotation_writes_encrypted_rows(gw: GatewayUnderTest) -> None:
    before = await login(gw.client)
    admin = await gw.headers("admin")
    kids = [gw.gateway.keyring.current.kid]
    for _ in range(2):
        rotated = await gw.client.post("/admin/keys/rotate", headers=admin)
        assert rotated.status_code == 200, rotated.text
        kids.append(rotated.json()["kid"])
    rows = await stored_rows(gw.database_url)
    assert set(rows) == set(kids)
    for kid, stored in rows.items():
        assert stored.startswith(ENCRYPTED_PREFIX) and "PRIVATE KEY" not in stored
        assert open_with(SIGNING_KEY_ENCRYPTION_KEY, kid, stored).startswith(b"-----BEGIN PRIVATE KEY-----")
    assert await accepted(gw.client, before)
    assert jwt.get_unverified_header(await login(gw.client))["kid"] == kids[-1]


async def test_the_periodic_reload_does_not_decrypt_known_keys_again(gw: GatewayUnderTest,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    original = KeyCipher.open

    def counting(self: KeyCipher, kid: str, stored: str) -> bytes:
        opened.append(kid)
        return original(self, kid, stored)

    monkeypatch.setattr(KeyCipher, "open", counting)
    keyring = gw.gateway.keyring
    first = keyring.current
    for _ in range(3):
        await keyring.reload()
    assert opened == [] and keyring.current is first

    # Another replica rotates: this one decrypts the new key once, and only updates the old one's retired_at.
    other = KeyRing(gw.gateway.db, gw.gateway.settings)
    new_kid = await other.rotate()
    opened.clear()
    await keyring.reload()
    await keyring.reload()
    assert opened == [new_kid]
    assert keyring.current.kid == new_kid
    retired = next(k for k in keyring.describe() if k["kid"] == first.kid)
    assert retired["retired_at"] is not None and not retired["current"]


async def test_the_encryption_key_itself_is_replaced_by_naming_the_old_one_previous(
        gateway_db: str, nats_url: str) -> None:
    old_key, new_key = SIGNING_KEY_ENCRYPTION_KEY, generate_key()
    async with gateway(gateway_db, nats_url, old_key) as (front, client):
        token = await login(client)
        kid = front.app.state.keyring.current.kid
    # The new key alone cannot read what the old one sealed: the gateway says which settings to give.
    refused = await refused_start(gateway_db, nats_url, new_key)
    assert SETTING in refused and "cannot be decrypted" in refused

    # New key, old key as previous: the start re-seals every stored key under the new one.
    async with gateway(gateway_db, nats_url, new_key, previous=old_key) as (front, client):
        assert front.app.state.keyring.current.kid == kid
        assert await accepted(client, token)
    rows = await stored_rows(gateway_db)
    assert list(rows) == [kid]
    assert open_with(new_key, kid, rows[kid]).startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(InvalidTag):
        open_with(old_key, kid, rows[kid])

    # From then on the new key alone opens the door, and tokens issued before the change still verify.
    async with gateway(gateway_db, nats_url, new_key) as (_, client):
        assert await accepted(client, token)
    # The old key alone no longer does; a previous key without a current one is refused outright.
    assert "cannot be decrypted" in await refused_start(gateway_db, nats_url, old_key)
    with pytest.raises(SigningKeyStoreError, match=PREVIOUS):
        create_app(gateway_settings(gateway_db, nats_url, signing_key_encryption_key="",
                                        signing_key_encryption_key_previous=old_key))
