"""The admin API is itself scope-limited: a province administrator manages only the accounts inside
its province, grants only what it holds, and account changes end the account's sessions."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gateway.conftest import GatewayUnderTest


async def _create(gw: GatewayUnderTest, admin: dict[str, str], username: str, role: str,
                  scopes: list[dict[str, Any]], password: str = "a-long-password") -> httpx.Response:
    return await gw.client.post("/admin/users", headers=admin, json={
        "username": username, "display_name": username, "role": role, "scopes": scopes, "password": password})


async def _province_admin(gw: GatewayUnderTest) -> dict[str, str]:
    national = await gw.headers("admin")
    created = await _create(gw, national, "admin.24", "admin", [{"hierarchy": "v2008", "code": "24"}])
    assert created.status_code == 201, created.text
    assert created.json()["scopes"][0]["path"] == "v2008.24"
    return {"Authorization": f"Bearer {await gw.token('admin.24', 'a-long-password')}"}


async def test_a_province_admin_manages_accounts_inside_its_province_only(gw: GatewayUnderTest) -> None:
    admin24 = await _province_admin(gw)
    inside = await _create(gw, admin24, "surveyor.07207", "surveyor", [{"hierarchy": "v2008", "code": "07207"}])
    assert inside.status_code == 201, inside.text
    assert inside.json()["scopes"] == [{"hierarchy": "v2008", "code": "07207", "path": "v2008.24.213.07207",
                                        "level": "commune"}]
    assert "password" not in inside.json() and "password_hash" not in inside.json()
    for scopes in ([{"hierarchy": "v2008", "code": "25"}], [{"hierarchy": "v2008", "code": "07888"}],
                   [{"hierarchy": "v2025", "code": "24"}], [{"hierarchy": "v2008"}],
                   [{"hierarchy": "v2008", "code": "07207"}, {"hierarchy": "v2008", "code": "25"}]):
        refused = await _create(gw, admin24, "outsider.x", "commune_officer", scopes)
        assert refused.status_code == 403, (scopes, refused.text)
    # Its list holds only accounts wholly inside the province; foreign accounts are invisible.
    listed = (await gw.client.get("/admin/users", headers=admin24, params={"limit": 500})).json()
    names = {u["username"] for u in listed["items"]}
    assert {"province.24", "district.213", "commune.07207", "commune.07222", "surveyor.07207"} <= names
    assert "admin" not in names and "outsider.x" not in names and listed["total"] == len(names)
    national = await gw.headers("admin")
    everyone = (await gw.client.get("/admin/users", headers=national, params={"limit": 500})).json()
    admin_id = next(u["id"] for u in everyone["items"] if u["username"] == "admin")
    assert (await gw.client.get(f"/admin/users/{admin_id}", headers=admin24)).status_code == 404
    moved = await gw.client.patch(f"/admin/users/{inside.json()['id']}", headers=admin24,
                                  json={"scopes": [{"hierarchy": "v2008", "code": "25"}]})
    assert moved.status_code == 403
    taken = await gw.client.patch(f"/admin/users/{admin_id}", headers=admin24, json={"active": False})
    assert taken.status_code == 404
    # Nothing changed for the national admin.
    assert (await gw.client.get("/auth/me", headers=national)).status_code == 200


async def test_officers_cannot_use_the_admin_api(gw: GatewayUnderTest) -> None:
    officer = await gw.headers("province.24")
    assert (await gw.client.get("/admin/users", headers=officer)).status_code == 403
    assert (await _create(gw, officer, "x.y.z", "viewer", [{"hierarchy": "v2008", "code": "24"}])).status_code == 403
    assert (await gw.client.get("/admin/users")).status_code == 401


async def test_a_nul_character_in_a_query_is_a_validation_error_naming_it(gw: GatewayUnderTest) -> None:
    """PostgreSQL cannot hold NUL in text: refused before any query, without the database's words."""
    admin = await gw.headers("admin")
    refused = await gw.client.get("/admin/users", params={"q": "an\x00"}, headers=admin)
    assert refused.status_code == 422 and refused.json()["errors"] == [
        {"field": "q", "reason": "must not contain NUL characters"}]
    assert (await gw.client.get("/admin/users", params={"q": "an"}, headers=admin)).status_code == 200


async def test_grants_are_limited_to_what_the_manager_holds(gw: GatewayUnderTest) -> None:
    national = await gw.headers("admin")
    # A manager that is not a full admin: a role with account management and registry reads only.
    role = await gw.client.put("/admin/roles/account_manager", headers=national, json={
        "description": "manages accounts", "permissions": ["gateway.accounts.manage", "registry.units.read"]})
    assert role.status_code == 200, role.text
    created = await _create(gw, national, "manager.24", "account_manager", [{"hierarchy": "v2008", "code": "24"}])
    assert created.status_code == 201
    manager = {"Authorization": f"Bearer {await gw.token('manager.24', 'a-long-password')}"}
    stronger = await _create(gw, manager, "officer.x", "commune_officer", [{"hierarchy": "v2008", "code": "07207"}])
    assert stronger.status_code == 403 and "cannot grant" in stronger.json()["detail"]
    client = await gw.client.post("/admin/clients", headers=manager, json={
        "client_id": "sys.x", "scopes": [{"hierarchy": "v2008", "code": "24"}], "permissions": ["*"]})
    assert client.status_code == 403
    # Roles are changed by national administrators only.
    assert (await gw.client.put("/admin/roles/viewer", headers=manager,
                                json={"permissions": ["*"]})).status_code == 403
    unknown = await gw.client.put("/admin/roles/viewer", headers=national, json={"permissions": ["root.everything"]})
    assert unknown.status_code == 422


async def test_disabling_an_account_or_changing_its_scope_ends_its_sessions(gw: GatewayUnderTest) -> None:
    national = await gw.headers("admin")
    created = await _create(gw, national, "officer.song.mai", "commune_officer",
                            [{"hierarchy": "v2008", "code": "07222"}])
    user_id = created.json()["id"]
    token = await gw.token("officer.song.mai", "a-long-password")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await gw.client.get("/registry/principal", headers=bearer)).status_code == 200

    moved = await gw.client.patch(f"/admin/users/{user_id}", headers=national,
                                  json={"scopes": [{"hierarchy": "v2008", "code": "07207"}]})
    assert moved.status_code == 200
    assert (await gw.client.get("/registry/principal", headers=bearer)).status_code == 401
    fresh = {"Authorization": f"Bearer {await gw.token('officer.song.mai', 'a-long-password')}"}
    seen = (await gw.client.get("/registry/principal", headers=fresh)).json()
    assert seen["principal"]["scopes"] == ["v2008.24.213.07207"]

    disabled = await gw.client.patch(f"/admin/users/{user_id}", headers=national, json={"active": False})
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert (await gw.client.get("/registry/principal", headers=fresh)).status_code == 401
    login = await gw.client.post("/auth/token", data={"grant_type": "password", "username": "officer.song.mai",
                                                      "password": "a-long-password"})
    assert login.status_code == 400 and login.json()["code"] == "account_disabled"

    audit = (await gw.client.get("/admin/audit", headers=national, params={"target_id": user_id})).json()
    assert [a["action"] for a in audit] == ["user.updated", "user.updated", "user.created"]
    assert audit[0]["actor_name"] == "admin"


async def test_usernames_passwords_roles_and_units_are_validated(gw: GatewayUnderTest) -> None:
    national = await gw.headers("admin")
    scope = [{"hierarchy": "v2008", "code": "07207"}]
    assert (await _create(gw, national, "commune.07207", "commune_officer", scope)).status_code == 409
    assert (await _create(gw, national, "Bad Name", "commune_officer", scope)).status_code == 422
    assert (await _create(gw, national, "short.pw", "commune_officer", scope, password="x")).status_code == 422
    assert (await _create(gw, national, "no.role", "overlord", scope)).status_code == 422
    unknown = await _create(gw, national, "no.unit", "commune_officer", [{"hierarchy": "v2008", "code": "99999"}])
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_unit"


async def test_system_clients_get_a_secret_once_and_rotating_it_ends_old_tokens(gw: GatewayUnderTest) -> None:
    admin24 = await _province_admin(gw)
    created = await gw.client.post("/admin/clients", headers=admin24, json={
        "client_id": "social-insurance.24", "name": "BHXH tỉnh Bắc Giang",
        "scopes": [{"hierarchy": "v2008", "code": "24"}], "permissions": ["registry.households.read"]})
    assert created.status_code == 201, created.text
    client = created.json()
    secret = client["client_secret"]
    listed = (await gw.client.get("/admin/clients", headers=admin24)).json()["items"]
    assert all("client_secret" not in c for c in listed)
    assert {c["client_id"] for c in listed} == {"social-insurance.24", "system.demo"}

    async def token(s: str) -> httpx.Response:
        return await gw.client.post("/auth/token", data={"grant_type": "client_credentials",
                                                         "client_id": "social-insurance.24", "client_secret": s})

    first = (await token(secret)).json()["access_token"]
    me = (await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {first}"})).json()
    assert me["permissions"] == ["registry.households.read"]
    # Its permissions hold at the gateway: it may read households but not units.
    bearer = {"Authorization": f"Bearer {first}"}
    assert (await gw.client.get("/registry/households", headers=bearer)).status_code == 200
    assert (await gw.client.get("/registry/units", headers=bearer)).status_code == 403

    rotated = (await gw.client.post(f"/admin/clients/{client['id']}/secret", headers=admin24)).json()
    assert (await token(secret)).status_code == 401
    assert (await token(rotated["client_secret"])).status_code == 200
    assert (await gw.client.get("/auth/me", headers=bearer)).status_code == 401
    outside = await gw.client.post("/admin/clients", headers=admin24, json={
        "client_id": "other.25", "scopes": [{"hierarchy": "v2008", "code": "25"}]})
    assert outside.status_code == 403


async def test_the_unit_directory_state_is_visible_to_administrators(gw: GatewayUnderTest) -> None:
    national = await gw.headers("admin")
    state = (await gw.client.get("/admin/directory", headers=national)).json()
    assert state["units_in_memory"] >= 12
    assert state["units"]["v2008"]["commune"] >= 5
    ready = (await gw.client.get("/ready")).json()
    assert ready["status"] == "ready" and ready["checks"]["unit_directory"] >= 12
