"""Encrypted DCI messages (header.is_msg_encrypted): a client encrypts its message to the key the registry
publishes, the registry encrypts what it sends the client (sync answers, callbacks, notifications) to
the client's registered encryption key — the spec's EncryptedMessage, a JWE whose header is in clear.
A message that cannot be decrypted is refused (err.encryption.invalid) and leaves nothing behind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from jwcrypto import jwe, jwk

from services.registry.dci import signatures
from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from tests.dci.conftest import ADMIN, Receiver, by_citizen, envelope, new_key, register_client, search_body, system
from tests.dci.spec.schemas import ACK, HTTP_ERROR, NOTIFY, ON_SEARCH, ON_SUBSCRIBE, SEARCH_RESPONSE, validate
from tests.dci.subscribing import criteria
from tests.kit import eventually, running_app, scalar, service_env
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.households_helpers import HOME, commune_officer, household_body

REGISTRY_KID = "chungtay-registry-enc-1"


@pytest.fixture
async def enc_client(registry_db: str, nats_url: str,
                     monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid=REGISTRY_KID)
    monkeypatch.setenv("REGISTRY_DCI_ENCRYPTION_KEY", key.export_private())
    monkeypatch.setenv("REGISTRY_DCI_POLL_SECONDS", "0.1")
    settings = RegistrySettings(**service_env("registry", registry_db, nats_url, **PERSONAL_DATA_KEYS))
    async with running_app(create_app(settings)) as client:
        yield client


def _client_key(kty: str = "EC") -> tuple[jwk.JWK, dict[str, Any]]:
    """A DCI client's encryption key pair: (private, public JWK as registered)."""
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="bhxh-enc") if kty == "EC" \
        else jwk.JWK.generate(kty="RSA", size=2048, kid="bhxh-enc")
    return key, {**json.loads(key.export_public()), "use": "enc"}


def _encrypt(message: dict[str, Any], registry_key: dict[str, Any]) -> dict[str, Any]:
    """What a DCI client does: the message as an EncryptedMessage for the registry's published key."""
    token = jwe.JWE(orjson.dumps(message), recipient=jwk.JWK(**{k: v for k, v in registry_key.items() if k != "use"}),
                    header=json.dumps({"alg": registry_key["alg"], "enc": "A256GCM", "kid": registry_key["kid"]}))
    encrypted: dict[str, Any] = json.loads(token.serialize(compact=False))
    return encrypted


def _decrypt(encrypted: dict[str, Any], key: jwk.JWK) -> Any:
    token = jwe.JWE()
    token.deserialize(json.dumps(encrypted), key=key)
    return orjson.loads(token.payload)


def _encrypted_body(body: dict[str, Any], registry_key: dict[str, Any],
                    signing_key: dict[str, Any] | None = None) -> dict[str, Any]:
    header = {**body["header"], "is_msg_encrypted": True}
    message = _encrypt(body["message"], registry_key)
    sent: dict[str, Any] = {"header": header, "message": message}
    if signing_key is not None:  # the signature covers the message as sent: encrypted
        sent["signature"] = signatures.sign(header, message, signing_key)
    return sent


async def _registry_key(client: httpx.AsyncClient) -> dict[str, Any]:
    keys = (await client.get("/registry/dci/keys", headers=system("bhxh", HOME))).json()["keys"]
    [found] = [k for k in keys if k.get("use") == "enc"]
    assert found["kid"] == REGISTRY_KID and "d" not in found
    return found


async def _person(client: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    body = household_body(members=2)
    response = await client.post("/registry/households", json=body, headers=commune_officer())
    assert response.status_code == 201, response.text
    return response.json(), body["members"][0]["citizen_id"]


async def test_an_encrypted_sync_search_is_answered_encrypted_and_a_bad_one_leaves_nothing(
        enc_client: httpx.AsyncClient, registry_db: str) -> None:
    private, public = _client_key()
    signing_private, signing_public = new_key("bhxh-sig")
    await register_client(enc_client, "bhxh", public_keys=[signing_public, public], allow_unsigned=False)
    await register_client(enc_client, "no-enc-key")
    registry_key = await _registry_key(enc_client)
    household, number = await _person(enc_client)

    sent = _encrypted_body(search_body("bhxh", [by_citizen(number)]), registry_key, signing_private)
    assert number not in orjson.dumps(sent).decode()
    response = await enc_client.post("/registry/sync/search", json=sent, headers=system("bhxh", HOME))
    assert response.status_code == 200, response.text
    answer = response.json()
    validate(answer, ON_SEARCH)
    assert answer["header"]["is_msg_encrypted"] is True and answer["header"]["status"] == "succ"
    assert set(answer["message"]) == {"header", "encrypted_key", "iv", "ciphertext", "tag"}
    assert answer["message"]["header"]["kid"] == "bhxh-enc" and number not in response.text
    message = _decrypt(answer["message"], private)
    validate(message, SEARCH_RESPONSE)
    [group] = message["search_response"][0]["data"]["reg_records"]
    assert group["group_identifier"][0]["identifier_value"] == household["id"]

    # Refused, and nothing kept: tampered, encrypted to another key, sent by a client without a key to
    # answer to, or unsigned by a client that signs.
    tampered = _encrypted_body(search_body("bhxh", [by_citizen(number)]), registry_key)
    tampered["message"]["ciphertext"] = tampered["message"]["ciphertext"][:-4] + "AAAA"
    tampered["signature"] = signatures.sign(tampered["header"], tampered["message"], signing_private)
    stranger = {**registry_key, **json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public()),
                "kid": "someone-else"}
    other_key = _encrypted_body(search_body("bhxh", [by_citizen(number)]), stranger, signing_private)
    no_key = _encrypted_body(search_body("no-enc-key", [by_citizen(number)]), registry_key)
    unsigned = _encrypted_body(search_body("bhxh", [by_citizen(number)]), registry_key)
    for sender, body, status, code in (("bhxh", tampered, 400, "err.encryption.invalid"),
                                       ("bhxh", other_key, 400, "err.encryption.invalid"),
                                       ("no-enc-key", no_key, 400, "err.encryption.invalid"),
                                       ("bhxh", unsigned, 401, "err.signature.missing")):
        refused = await enc_client.post("/registry/sync/search", json=body, headers=system(sender, HOME))
        assert refused.status_code == status, refused.text
        validate(refused.json(), HTTP_ERROR)
        assert refused.json()["errors"][0]["code"] == code
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions") == 1
    assert await scalar(registry_db, "SELECT count(*) FROM dci_access_log") == 1

    # A client with an encryption key gets its answers encrypted even when it asks in clear.
    clear = search_body("bhxh", [by_citizen(number)])
    clear["signature"] = signatures.sign(clear["header"], clear["message"], signing_private)
    plain_ask = (await enc_client.post("/registry/sync/search", json=clear, headers=system("bhxh", HOME))).json()
    assert plain_ask["header"]["is_msg_encrypted"] is True
    assert _decrypt(plain_ask["message"], private)["search_response"][0]["status"] == "succ"


async def test_callbacks_and_notifications_are_encrypted_to_the_client(
        enc_client: httpx.AsyncClient, receiver: Receiver) -> None:
    private, public = _client_key("RSA")
    await register_client(enc_client, "bhxh", callback_urls=[receiver.url], public_keys=[public],
                          allow_unsigned=True)
    registry_key = await _registry_key(enc_client)
    household, number = await _person(enc_client)

    search = _encrypted_body(search_body("bhxh", [by_citizen(number)], sender_uri=f"{receiver.url}/on-search"),
                             registry_key)
    ack = (await enc_client.post("/registry/search", json=search, headers=system("bhxh", HOME))).json()
    validate(ack, ACK)  # an acknowledgement carries no personal data and is not an envelope: in clear
    assert ack["message"]["ack_status"] == "ACK"
    items = [criteria("household_registered", "registered")]
    subscribe = _encrypted_body(envelope("subscribe", "bhxh", {"transaction_id": "SUB-T", "subscribe_request": items},
                                         1, sender_uri=f"{receiver.url}/notify"), registry_key)
    ack = (await enc_client.post("/registry/subscribe", json=subscribe, headers=system("bhxh", HOME))).json()
    assert ack["message"]["ack_status"] == "ACK", ack

    async def answered() -> bool:
        return bool(receiver.of("on-search")) and bool(receiver.of("on-subscribe"))

    await eventually(answered)
    [on_search], [on_subscribe] = receiver.of("on-search"), receiver.of("on-subscribe")
    validate(on_search, ON_SEARCH)
    validate(on_subscribe, ON_SUBSCRIBE)
    assert on_search["header"]["is_msg_encrypted"] is True and on_subscribe["header"]["is_msg_encrypted"] is True
    found = _decrypt(on_search["message"], private)
    validate(found, SEARCH_RESPONSE)
    assert found["search_response"][0]["data"]["reg_records"][0]["group_identifier"][0]["identifier_value"] \
        == household["id"]
    assert _decrypt(on_subscribe["message"], private)["subscribe_response"][0]["status"] == "succ"

    registered, _ = await _person(enc_client)
    [notified] = await eventually(lambda: receiver.arrived("notify"))
    validate(notified, NOTIFY)
    assert notified["header"]["is_msg_encrypted"] is True
    event = _decrypt(notified["message"], private)["notify_event"][0]
    assert event["data"]["reg_records"]["group_identifier"][0]["identifier_value"] == registered["id"]


async def test_encryption_keys_are_checked_when_registered(enc_client: httpx.AsyncClient) -> None:
    _, public = _client_key()
    private_jwk = {**json.loads(jwk.JWK.generate(kty="EC", crv="P-256", kid="p").export_private()), "use": "enc"}
    weak = {**json.loads(jwk.JWK.generate(kty="RSA", size=1024, kid="w").export_public()), "use": "enc"}
    for keys, field in (([private_jwk], "public_keys[0]"), ([weak], "public_keys[0]"),
                        ([{**public, "kid": ""}], "public_keys[0]"),
                        ([public, {**public, "kid": "second"}], "public_keys")):
        response = await enc_client.put("/registry/dci/clients", headers=ADMIN, json={
            "client_id": "x", "display_name": "X", "public_keys": keys})
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.text


async def test_a_registry_without_an_encryption_key_refuses_encrypted_messages(
        dci_client: httpx.AsyncClient, registry_db: str) -> None:
    _, public = _client_key()
    await register_client(dci_client, "bhxh", public_keys=[public])
    keys = (await dci_client.get("/registry/dci/keys", headers=system("bhxh", HOME))).json()["keys"]
    assert [k for k in keys if k.get("use") == "enc"] == []
    body = search_body("bhxh", [by_citizen("024100000001")])
    body["header"]["is_msg_encrypted"] = True
    answer = (await dci_client.post("/registry/sync/search", json=body, headers=system("bhxh", HOME))).json()
    assert answer["header"]["status"] == "rjct"
    assert answer["header"]["status_reason_code"] == "rjct.action.not_supported"
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions") == 0


async def test_the_async_endpoints_answer_an_undecryptable_message_with_an_err_acknowledgement(
        enc_client: httpx.AsyncClient, receiver: Receiver, registry_db: str) -> None:
    """The async endpoints answer with the spec's acknowledgement: a message that cannot be decrypted
    gets `ack_status: ERR` with `err.encryption.invalid` (HTTP 200), and nothing is kept or sent."""
    _, public = _client_key()
    await register_client(enc_client, "bhxh", callback_urls=[receiver.url], public_keys=[public],
                          allow_unsigned=True)
    await register_client(enc_client, "no-enc-key", callback_urls=[receiver.url])
    registry_key = await _registry_key(enc_client)
    _, number = await _person(enc_client)
    uri = {"sender_uri": f"{receiver.url}/callback"}
    messages = {
        "/registry/search": lambda sender: search_body(sender, [by_citizen(number)], **uri),
        "/registry/subscribe": lambda sender: envelope("subscribe", sender, {
            "transaction_id": "SUB-T", "subscribe_request": [criteria("household_registered", "r1")]}, 1, **uri),
        "/registry/unsubscribe": lambda sender: envelope("unsubscribe", sender, {
            "transaction_id": "UNSUB-T", "subscription_codes": ["SUB-x"]}, 1, **uri),
        "/registry/txn/status": lambda sender: envelope("txn-status", sender, {
            "transaction_id": "TS-T", "txnstatus_request": {"txn_type": "search", "attribute_type": "transaction_id",
                                                            "attribute_value": "T-1"}}, 1, **uri),
    }
    for path, body_of in messages.items():
        tampered = _encrypted_body(body_of("bhxh"), registry_key)
        tampered["message"]["ciphertext"] = tampered["message"]["ciphertext"][:-4] + "AAAA"
        stranger = {**registry_key, **json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public()),
                    "kid": "someone-else"}
        for sender, body in (("bhxh", tampered), ("bhxh", _encrypted_body(body_of("bhxh"), stranger)),
                             ("no-enc-key", _encrypted_body(body_of("no-enc-key"), registry_key))):
            response = await enc_client.post(path, json=body, headers=system(sender, HOME))
            assert response.status_code == 200, (path, response.text)
            validate(response.json(), ACK)
            message = response.json()["message"]
            assert message["ack_status"] == "ERR" and message["correlation_id"], (path, message)
            assert message["error"]["code"] == "err.encryption.invalid", (path, message)
    for table in ("dci_transactions", "dci_subscriptions", "dci_deliveries", "dci_access_log"):
        assert await scalar(registry_db, f"SELECT count(*) FROM {table}") == 0, table

    # The same endpoint still acknowledges a message it can open (the refusal is the message's, not the route's).
    good = _encrypted_body(messages["/registry/search"]("bhxh"), registry_key)
    answer = (await enc_client.post("/registry/search", json=good, headers=system("bhxh", HOME))).json()
    validate(answer, ACK)
    assert answer["message"]["ack_status"] == "ACK"
