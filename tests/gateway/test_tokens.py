"""Tokens: issued, verified by others through the JWKS, refused when forged or stale; refresh tokens
rotate and a reused one revokes its family; logout and revocation take effect at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import text

from shared.db import Database
from tests.gateway.conftest import GatewayUnderTest
from tests.kit import eventually


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _password(gw: GatewayUnderTest, username: str) -> dict[str, object]:
    response = await gw.client.post("/auth/token", data={"grant_type": "password", "username": username,
                                                         "password": "demo"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return dict(response.json())


async def _refused(gw: GatewayUnderTest, token: str) -> None:
    """Refused on a proxied route (nothing reaches the service) and on the gateway's own routes."""
    before = len(gw.echo.seen)
    proxied = await gw.client.get("/registry/principal", headers={"Authorization": f"Bearer {token}"})
    assert proxied.status_code == 401, proxied.text
    assert proxied.headers["content-type"] == "application/problem+json"
    assert proxied.json()["code"] == "invalid_token"
    assert "Bearer" in proxied.headers["www-authenticate"]
    own = await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 401
    assert len(gw.echo.seen) == before


async def test_an_access_token_speaks_for_its_user_and_verifies_with_the_jwks(gw: GatewayUnderTest) -> None:
    grant = await _password(gw, "commune.07207")
    token = str(grant["access_token"])
    assert grant["token_type"] == "Bearer" and int(grant["expires_in"]) > 0  # type: ignore[call-overload]
    me = (await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["username"] == "commune.07207" and me["role"] == "commune_officer"
    assert me["scopes"] == [{"hierarchy": "v2008", "code": "07207", "path": "v2008.24.213.07207", "level": "commune"}]

    # Another system verifies the token with nothing but the published keys.
    jwks = (await gw.client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="chungtay-api",
                        issuer="chungtay-gateway")
    assert claims["sub"] == me["id"] and claims["scopes"][0]["path"] == "v2008.24.213.07207"
    assert "d" not in jwk  # the private part is never published

    # The service behind receives the verified principal, not the token.
    seen = (await gw.client.get("/registry/principal", headers={"Authorization": f"Bearer {token}"})).json()
    assert seen["principal"] == {"id": me["id"], "role": "commune_officer", "scopes": ["v2008.24.213.07207"]}
    assert "authorization" not in seen["headers"]


async def test_forged_stale_and_foreign_tokens_are_refused(gw: GatewayUnderTest) -> None:
    token = str((await _password(gw, "commune.07207"))["access_token"])
    header, payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    key = gw.gateway.keyring.current
    kid = key.kid

    # Tampered: the role and scope raised, the original signature kept.
    raised = _b64(claims | {"role": "admin", "perms": ["*"], "scopes": [{"hierarchy": "v2008", "code": "",
                                                                        "path": "v2008", "level": "national"}]})
    await _refused(gw, f"{header}.{raised}.{signature}")
    # Unsigned (alg none), with and without the kid.
    await _refused(gw, f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': kid})}.{payload}.")
    await _refused(gw, jwt.encode(claims, None, algorithm="none"))  # type: ignore[arg-type]
    # Signed by a key that is not the gateway's, claiming the gateway's kid.
    stranger = ec.generate_private_key(ec.SECP256R1())
    await _refused(gw, jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"}))
    # Algorithm confusion: HMAC keyed with the public key.
    public_pem = key.public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hmac_header = _b64({"alg": "HS256", "typ": "at+jwt", "kid": kid})
    forged_sig = base64.urlsafe_b64encode(hmac.new(public_pem, f"{hmac_header}.{payload}".encode(),
                                                   hashlib.sha256).digest()).rstrip(b"=").decode()
    await _refused(gw, f"{hmac_header}.{payload}.{forged_sig}")
    # Properly signed by the gateway's key, but expired / for another audience / another issuer / no typ.
    now = int(time.time())
    signed = {"kid": kid, "typ": "at+jwt"}
    await _refused(gw, jwt.encode(claims | {"jti": "a", "iat": now - 4000, "exp": now - 3000}, key.private,
                                  algorithm="ES256", headers=signed))
    await _refused(gw, jwt.encode(claims | {"jti": "b", "aud": "some-other-system"}, key.private,
                                  algorithm="ES256", headers=signed))
    await _refused(gw, jwt.encode(claims | {"jti": "c", "iss": "someone-else"}, key.private,
                                  algorithm="ES256", headers=signed))
    await _refused(gw, jwt.encode(claims | {"jti": "d"}, key.private, algorithm="ES256", headers={"kid": kid}))
    # The principal token the gateway gives services is not an access token either.
    forwarded = gw.gateway.tokens.forwarded(await gw.gateway.tokens.verify(token))
    await _refused(gw, forwarded)
    await _refused(gw, "not-a-token")
    # The genuine token still works.
    ok = await gw.client.get("/registry/principal", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


async def test_requests_without_a_token_are_refused(gw: GatewayUnderTest) -> None:
    for headers in ({}, {"Authorization": "Basic YWRtaW46ZGVtbw=="}, {"Authorization": "Bearer"}):
        response = await gw.client.get("/registry/units", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] in ("unauthorized", "invalid_token")
    assert gw.echo.seen == []


async def test_a_refresh_token_rotates_and_a_reused_one_revokes_the_family(gw: GatewayUnderTest) -> None:
    first = await _password(gw, "district.213")
    second = (await gw.client.post("/auth/token", data={"grant_type": "refresh_token",
                                                        "refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    third = (await gw.client.post("/auth/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": second["refresh_token"]})).json()
    assert "access_token" in third

    # The first refresh token again: a stolen copy. The whole family is revoked.
    reused = await gw.client.post("/auth/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": first["refresh_token"]})
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant" and reused.json()["code"] == "refresh_token_reused"
    latest = await gw.client.post("/auth/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": third["refresh_token"]})
    assert latest.status_code == 400 and latest.json()["code"] == "session_revoked"
    for grant in (first, second, third):
        await _refused(gw, str(grant["access_token"]))

    # Another login of the same person is a new family and unaffected.
    other = await _password(gw, "district.213")
    ok = await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert ok.status_code == 200


async def test_logout_revokes_the_session_at_once(gw: GatewayUnderTest) -> None:
    grant = await _password(gw, "commune.07222")
    other = await _password(gw, "commune.07222")  # a second device
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    assert (await gw.client.get("/registry/principal", headers=bearer)).status_code == 200
    assert (await gw.client.post("/auth/logout", headers=bearer)).status_code == 204
    await _refused(gw, str(grant["access_token"]))
    refreshed = await gw.client.post("/auth/token", data={"grant_type": "refresh_token",
                                                          "refresh_token": grant["refresh_token"]})
    assert refreshed.status_code == 400
    still = await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert still.status_code == 200  # only that session ended


async def test_revocation_endpoint_ends_the_session_of_a_refresh_token(gw: GatewayUnderTest) -> None:
    grant = await _password(gw, "province.24")
    response = await gw.client.post("/auth/revoke", data={"token": grant["refresh_token"]})
    assert response.status_code == 200
    await _refused(gw, str(grant["access_token"]))
    assert (await gw.client.post("/auth/revoke", data={"token": "crt_unknown"})).status_code == 200


async def test_a_revocation_written_by_another_replica_is_honoured(gw: GatewayUnderTest) -> None:
    grant = await _password(gw, "province.24")
    token = str(grant["access_token"])
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    db = Database(gw.database_url, pool_size=1)
    try:
        async with db.system_session() as session:
            await session.execute(text("INSERT INTO revocations (sid, expires_at) "
                                       "VALUES (:sid, now() + interval '1 hour')"), {"sid": sid})
    finally:
        await db.dispose()

    async def refused() -> bool:
        r = await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        return r.status_code == 401

    await eventually(refused, timeout=15)


async def test_client_credentials_for_other_systems(gw: GatewayUnderTest) -> None:
    response = await gw.client.post("/auth/token", data={"grant_type": "client_credentials",
                                                         "client_id": "system.demo", "client_secret": "demo"})
    assert response.status_code == 200, response.text
    grant = response.json()
    assert "refresh_token" not in grant
    me = (await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {grant['access_token']}"})).json()
    assert me["kind"] == "client" and me["role"] == "system_client"
    assert [s["path"] for s in me["scopes"]] == ["v2008.24"]
    basic = base64.b64encode(b"system.demo:demo").decode()
    via_basic = await gw.client.post("/auth/token", data={"grant_type": "client_credentials"},
                                     headers={"Authorization": f"Basic {basic}"})
    assert via_basic.status_code == 200
    wrong = await gw.client.post("/auth/token", data={"grant_type": "client_credentials",
                                                      "client_id": "system.demo", "client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    unsupported = await gw.client.post("/auth/token", data={"grant_type": "implicit"})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


async def test_key_rotation_keeps_earlier_tokens_valid_and_publishes_both_keys(gw: GatewayUnderTest) -> None:
    before = str((await _password(gw, "commune.07207"))["access_token"])
    admin = await gw.headers("admin")
    rotated = await gw.client.post("/admin/keys/rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["kid"]
    after = str((await _password(gw, "commune.07207"))["access_token"])
    assert jwt.get_unverified_header(after)["kid"] == new_kid != jwt.get_unverified_header(before)["kid"]
    kids = {k["kid"] for k in (await gw.client.get("/.well-known/jwks.json")).json()["keys"]}
    assert {new_kid, jwt.get_unverified_header(before)["kid"]} <= kids
    for token in (before, after):
        assert (await gw.client.get("/registry/principal",
                                    headers={"Authorization": f"Bearer {token}"})).status_code == 200
    # Only a national administrator rotates keys.
    officer = await gw.headers("province.24")
    assert (await gw.client.post("/admin/keys/rotate", headers=officer)).status_code == 403


async def test_a_key_unknown_to_this_replica_is_loaded_from_the_database(gw: GatewayUnderTest) -> None:
    """Another replica rotated: its tokens carry a kid this process has not seen yet."""
    from gateway.keys.service import KeyRing

    other = KeyRing(gw.gateway.db, gw.gateway.settings)
    await other.reload()
    kid = await other.rotate()
    claims = {"iss": "chungtay-gateway", "aud": "chungtay-api", "sub": str(uuid.uuid4()), "jti": "x", "sid": "s",
              "iat": time.time(), "exp": int(time.time()) + 60, "role": "viewer", "perms": [], "scopes": [],
              "kind": "user", "name": "v"}
    token = jwt.encode(claims, other.current.private, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
    gw.gateway.keyring._last_reload = 0.0  # as if the last reload were long ago
    me = await gw.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
