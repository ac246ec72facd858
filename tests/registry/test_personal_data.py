"""Citizen IDs: encrypted at rest with a keyed hash for look-ups, masked for roles that do not need them,
and every read of a full record in the access log an auditor can query."""

from __future__ import annotations

import httpx
import pytest
from cryptography.exceptions import InvalidTag

from services.registry.main import create_app
from services.registry.personal_data import (
    InvalidCitizenId,
    PersonalDataCipher,
    mask_citizen_id,
    normalize_citizen_id,
)
from services.registry.settings import RegistrySettings
from shared.crypto import decode_key, generate_key
from tests.kit import running_app, service_env
from tests.registry.households_helpers import (
    PROVINCE,
    as_,
    commune_officer,
    fetch,
    household_body,
    register,
    table_counts,
)


def cipher() -> PersonalDataCipher:
    return PersonalDataCipher(decode_key(generate_key(), "k"), decode_key(generate_key(), "h"))


def test_encryption_round_trips_and_never_repeats_a_ciphertext() -> None:
    c = cipher()
    first, second = c.encrypt("001234567845"), c.encrypt("001234567845")
    assert first != second and b"001234567845" not in first
    assert c.decrypt(first) == c.decrypt(second) == "001234567845"


def test_a_tampered_ciphertext_or_another_key_does_not_decrypt() -> None:
    c = cipher()
    blob = bytearray(c.encrypt("001234567845"))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        c.decrypt(bytes(blob))
    with pytest.raises(InvalidTag):
        cipher().decrypt(c.encrypt("001234567845"))


def test_the_hash_is_stable_for_one_key_and_differs_between_keys() -> None:
    c, other = cipher(), cipher()
    assert c.hash("001234567845") == c.hash("001234567845")
    assert c.hash("001234567845") != c.hash("001234567846")
    assert c.hash("001234567845") != other.hash("001234567845")
    pairs = c.protect_many(["001234567845", "001234567846"])
    assert [c.decrypt(enc) for enc, _ in pairs] == ["001234567845", "001234567846"]
    assert pairs[0][1] == c.hash("001234567845")


def test_masking_and_normalising() -> None:
    assert mask_citizen_id("001234567845") == "0012******45"
    assert normalize_citizen_id(" 0012 3456 7845 ") == "001234567845"
    for bad in ("12345", "00123456784a", "0012345678451", "٠٠١٢٣٤٥٦٧٨٤٥"):
        with pytest.raises(InvalidCitizenId):
            normalize_citizen_id(bad)


def test_keys_must_be_32_bytes_and_distinct() -> None:
    with pytest.raises(ValueError):
        decode_key("c2hvcnQ=", "REGISTRY_PERSONAL_DATA_KEY")
    key = decode_key(generate_key(), "k")
    with pytest.raises(ValueError):
        PersonalDataCipher(key, key)


async def test_the_database_holds_no_citizen_id_in_plain_text(household_client: httpx.AsyncClient,
                                                              registry_db: str) -> None:
    created = await register(household_client)
    ids = [m["citizen_id"] for m in created["members"]]
    rows = await fetch(registry_db, "SELECT citizen_id_enc, citizen_id_hash FROM household_members")
    assert len(rows) == 3
    for row in rows:
        assert len(row["citizen_id_hash"]) == 32
        assert not any(i.encode() in bytes(row["citizen_id_enc"]) for i in ids)
    # Nor does any other table the registry writes (history, outbox, idempotency answers, access log).
    dump = await fetch(registry_db, """
        SELECT string_agg(t::text, ' ') AS text FROM (
            SELECT row_to_json(h)::text AS t FROM household_history h
            UNION ALL SELECT encode(body, 'escape') FROM outbox
            UNION ALL SELECT row_to_json(m)::text FROM household_members m
            UNION ALL SELECT row_to_json(l)::text FROM personal_data_access_log l) x""")
    assert not any(i in (dump[0]["text"] or "") for i in ids)


async def test_roles_without_personal_data_read_see_masked_ids_and_birth_years(
        household_client: httpx.AsyncClient) -> None:
    created = await register(household_client)
    plain = created["members"][0]["citizen_id"]
    assert len(plain) == 12 and not created["members"][0]["citizen_id_masked"]
    viewer = await household_client.get(f"/registry/households/{created['id']}",
                                        headers=as_("viewer", PROVINCE))
    member = viewer.json()["members"][0]
    assert member["citizen_id"] == plain[:4] + "******" + plain[-2:] and member["citizen_id_masked"]
    assert member["birth_date"] is None and member["birth_year"] == 1975
    officer = await household_client.get(f"/registry/households/{created['id']}", headers=commune_officer())
    assert officer.json()["members"][0]["citizen_id"] == plain
    assert officer.json()["members"][0]["birth_date"] == "1975-04-12"


async def test_every_full_read_is_logged_and_the_auditor_can_query_it(household_client: httpx.AsyncClient) -> None:
    created = await register(household_client)
    url = f"/registry/households/{created['id']}"
    await household_client.get(url, params={"purpose": "health insurance card issue"},
                               headers=commune_officer(principal_id="officer-1"))
    await household_client.get(url, headers=as_("viewer", PROVINCE, principal_id="viewer-1"))
    await household_client.get("/registry/households", headers=commune_officer())  # a list is not a full read
    auditor = as_("province_officer", PROVINCE)
    log = await household_client.get("/registry/audit/access-log", params={"household_id": created["id"]},
                                     headers=auditor)
    assert log.status_code == 200
    items = log.json()["items"]
    assert [(i["principal_id"], i["unmasked"], i["purpose"], i["action"]) for i in items] == [
        ("viewer-1", False, None, "read"), ("officer-1", True, "health insurance card issue", "read")]
    only_officer = await household_client.get("/registry/audit/access-log",
                                              params={"principal_id": "officer-1"}, headers=auditor)
    assert only_officer.json()["total"] == 1
    refused = await household_client.get("/registry/audit/access-log", headers=commune_officer())
    assert refused.status_code == 403 and refused.json()["permission"] == "registry.audit.read"


async def test_look_up_by_citizen_id_needs_the_permission_and_is_logged(household_client: httpx.AsyncClient,
                                                                       registry_db: str) -> None:
    created = await register(household_client)
    await register(household_client)
    wanted = created["members"][2]["citizen_id"]
    found = await household_client.get("/registry/households", params={"citizen_id": wanted, "purpose": "duplicate"},
                                       headers=commune_officer(principal_id="looker"))
    assert found.status_code == 200
    assert [h["id"] for h in found.json()["items"]] == [created["id"]]
    rows = await fetch(registry_db, "SELECT principal_id, action, purpose FROM personal_data_access_log")
    assert [tuple(r) for r in rows] == [("looker", "lookup", "duplicate")]
    before = await table_counts(registry_db)
    viewer = await household_client.get("/registry/households", params={"citizen_id": wanted},
                                        headers=as_("viewer", PROVINCE))
    assert viewer.status_code == 403
    assert await table_counts(registry_db) == before


async def test_without_keys_the_service_refuses_personal_data_work_clearly(registry_db: str, nats_url: str) -> None:
    app = create_app(RegistrySettings(**service_env("registry", registry_db, nats_url)))
    async with running_app(app) as client:
        response = await client.post("/registry/households", json=household_body(), headers=commune_officer())
        assert response.status_code == 503 and response.json()["code"] == "personal_data_unavailable"
        assert "REGISTRY_PERSONAL_DATA_KEY" in response.json()["detail"]
