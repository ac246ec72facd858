"""Registering DCI client systems: administrators only, checked field by field, nothing kept on refusal."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dci.conftest import ADMIN, new_key, register_client
from tests.kit import scalar
from tests.registry.households_helpers import PROVINCE, as_, commune_officer


async def test_only_an_administrator_registers_clients(dci_client: httpx.AsyncClient, registry_db: str) -> None:
    body = {"client_id": "bhxh", "display_name": "Bảo hiểm xã hội", "callback_urls": ["https://bhxh.example/dci"]}
    for headers in (commune_officer(), as_("province_officer", PROVINCE)):
        refused = await dci_client.put("/registry/dci/clients", json=body, headers=headers)
        assert refused.status_code == 403
        assert (await dci_client.get("/registry/dci/clients", headers=headers)).status_code == 403
    assert await scalar(registry_db, "SELECT count(*) FROM dci_clients") == 0
    _, public = new_key("k1")
    saved = await register_client(dci_client, "bhxh", callback_urls=["https://bhxh.example/dci"], public_keys=[public])
    assert saved["key_ids"] == ["k1"] and saved["updated_by"] == "dci-admin"
    again = await register_client(dci_client, "bhxh", data_profile="masked", active=False)
    assert again["data_profile"] == "masked" and not again["active"]
    listed = (await dci_client.get("/registry/dci/clients", headers=ADMIN)).json()
    assert [c["client_id"] for c in listed] == ["bhxh"]


async def test_bad_registrations_name_the_field(dci_client: httpx.AsyncClient, registry_db: str) -> None:
    private, public = new_key("k1")
    cases: list[tuple[dict[str, Any], str]] = [({"callback_urls": ["ftp://x.example/cb"]}, "callback_urls[0]"),
             ({"callback_urls": ["https://user:pw@x.example/cb"]}, "callback_urls[0]"),
             ({"public_keys": [private]}, "public_keys[0]"),
             ({"public_keys": [{"kty": "OKP", "crv": "Ed25519", "x": "nope", "kid": "a"}]}, "public_keys[0]"),
             ({"public_keys": [public, public]}, "public_keys[0].kid")]
    for extra, field in cases:
        response = await dci_client.put("/registry/dci/clients", headers=ADMIN, json={
            "client_id": "bhxh", "display_name": "BHXH", **extra})
        assert response.status_code == 422, response.text
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert await scalar(registry_db, "SELECT count(*) FROM dci_clients") == 0
