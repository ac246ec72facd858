"""The proxy: paths forwarded unchanged, the client's own principal header never trusted, request
ids, hop-by-hop headers, streamed bodies, size limits, upstream failures, CORS, deny by default."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import GatewayUnderTest


async def test_path_and_query_reach_the_service_unchanged(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    response = await gw.client.get("/support/test/echo?name=Ng%C3%B4%20Quy%E1%BB%81n&x=1&x=2", headers=bearer)
    seen = response.json()
    assert seen["path"] == "/support/test/echo" and seen["raw_path"] == "/support/test/echo"
    assert seen["query"] == "name=Ng%C3%B4%20Quy%E1%BB%81n&x=1&x=2"
    assert response.headers["x-upstream"] == "echo"


async def test_a_principal_header_sent_by_the_client_is_replaced(gw: GatewayUnderTest) -> None:
    from tests.kit import auth_headers, make_principal

    forged = auth_headers(make_principal("admin", ["v2008", "v2025"]))  # validly signed by the test key!
    bearer = await gw.headers("commune.07207")
    seen = (await gw.client.get("/support/test/echo", headers=bearer | forged)).json()
    assert seen["principal"]["role"] == "commune_officer"
    assert seen["headers"]["x-chungtay-principal"] != forged["x-chungtay-principal"]
    # Without a bearer token the forged header gets nowhere.
    refused = await gw.client.get("/support/test/echo", headers=forged)
    assert refused.status_code == 401
    assert len(gw.echo.seen) == 1


async def test_request_ids_are_kept_or_made_and_always_returned(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    given = await gw.client.get("/support/test/echo", headers=bearer | {"X-Request-ID": "client-req-42"})
    assert given.headers["x-request-id"] == "client-req-42"
    assert given.json()["headers"]["x-request-id"] == "client-req-42"
    made = await gw.client.get("/support/test/echo", headers=bearer)
    assert len(made.headers["x-request-id"]) == 36
    assert made.json()["headers"]["x-request-id"] == made.headers["x-request-id"]
    unsafe = await gw.client.get("/support/test/echo", headers=bearer | {"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    refused = await gw.client.get("/support/test/echo", headers={"X-Request-ID": "r-401"})
    assert refused.headers["x-request-id"] == "r-401" and refused.json()["request_id"] == "r-401"
    own = await gw.client.get("/health", headers={"X-Request-ID": "r-health"})
    assert own.headers["x-request-id"] == "r-health"


async def test_hop_by_hop_headers_stop_at_the_gateway(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    response = await gw.client.get("/support/test/echo", headers=bearer | {
        "Connection": "keep-alive, X-Internal-Hop", "X-Internal-Hop": "secret", "TE": "trailers",
        "Proxy-Authorization": "Basic abc", "X-Custom": "kept"})
    forwarded = response.json()["headers"]
    assert forwarded["x-custom"] == "kept"
    for name in ("x-internal-hop", "te", "proxy-authorization", "authorization"):
        assert name not in forwarded
    assert forwarded["x-forwarded-for"] == "198.51.100.7"
    # The upstream's own connection headers are not relayed to the client.
    assert "keep-alive" not in response.headers and response.headers.get("connection") != "keep-alive"


async def test_large_responses_and_uploads_stream_through(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    size = 5 * 1024 * 1024 + 17
    big = await gw.client.get(f"/support/test/big/{size}", headers=bearer)
    assert big.status_code == 200 and len(big.content) == size
    upload = b"household_code,commune_code\n" + b"x" * (3 * 1024 * 1024)
    sent = await gw.client.post("/support/test/upload", headers=bearer | {"Content-Type": "text/csv"},
                                content=upload)
    assert sent.status_code == 200 and sent.json()["body_size"] == len(upload)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(8):
            yield b"y" * 100_000

    chunked = await gw.client.post("/support/test/upload", headers=bearer | {"Content-Type": "text/csv"},
                                   content=chunks())
    assert chunked.json()["body_size"] == 800_000


@pytest.mark.gateway_settings(max_json_body_bytes=1000, max_upload_bytes=50_000)
async def test_bodies_over_the_limit_are_refused(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    json_body = b'{"note": "' + b"a" * 2000 + b'"}'
    too_big = await gw.client.post("/support/test/json", headers=bearer | {"Content-Type": "application/json"},
                                   content=json_body)
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
    upload = await gw.client.post("/support/test/upload", headers=bearer | {"Content-Type": "text/csv"},
                                  content=b"z" * 60_000)
    assert upload.status_code == 413
    assert gw.echo.seen == []

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"y" * 10_000

    streamed = await gw.client.post("/support/test/upload", headers=bearer | {"Content-Type": "text/csv"},
                                    content=chunks())
    assert streamed.status_code == 413


async def test_only_upload_routes_take_bodies_the_gateway_cannot_read(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    csv = await gw.client.post("/support/test/json", headers=bearer | {"Content-Type": "text/csv"},
                               content=b"a,b\n1,2\n")
    assert csv.status_code == 415
    broken = await gw.client.post("/support/test/json", headers=bearer | {"Content-Type": "application/json"},
                                  content=b'{"commune_code": ')
    assert broken.status_code == 400 and broken.json()["code"] == "invalid_json"
    assert gw.echo.seen == []


async def test_a_service_that_is_down_answers_502_and_a_slow_one_504(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("province.24")
    down = await gw.client.get("/reporting/status", headers=bearer)
    assert down.status_code == 502
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["code"] == "upstream_unavailable" and down.json()["service"] == "reporting"
    slow = await gw.client.get("/support/test/slow/1", headers=bearer)
    assert slow.status_code == 504 and slow.json()["code"] == "upstream_timeout"
    assert slow.headers["x-request-id"]


async def test_deny_by_default(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("admin")
    unknown = await gw.client.get("/registry/internal/dump", headers=bearer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    wrong_method = await gw.client.delete("/registry/units/07207", headers=bearer)
    assert wrong_method.status_code == 405  # RFC 9110: a 405 says which methods the path has
    assert wrong_method.headers["allow"] == "GET, HEAD" and wrong_method.json()["allowed"] == ["GET", "HEAD"]
    other = await gw.client.put("/registry/households/0190e1f2-0000-7000-8000-000000000000", headers=bearer)
    assert other.status_code == 405 and other.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    for path in ("/registry/units/..%2F..%2Fhealth", "/registry//units", "/registry/units/%2e%2e/x"):
        tricky = await gw.client.get(path, headers=bearer)
        assert tricky.status_code in (400, 404), path
    # A role without the route's permission: the emulation board cannot register households.
    board = await gw.headers("emulation.24")
    refused = await gw.client.post("/registry/households", headers=board, json={"commune_code": "07207"})
    assert refused.status_code == 403
    assert refused.json()["permission"] == "registry.households.write"
    assert gw.echo.seen == []


async def test_head_requests_are_answered_without_a_body(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    response = await gw.client.head("/support/test/echo", headers=bearer)
    assert response.status_code == 200 and response.content == b""


@pytest.mark.gateway_settings(cors_origins="https://app.chungtay.gov.vn, https://m.chungtay.gov.vn")
async def test_cors_for_configured_web_origins(gw: GatewayUnderTest) -> None:
    preflight = await gw.client.options("/registry/households", headers={
        "Origin": "https://app.chungtay.gov.vn", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.chungtay.gov.vn"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    stranger = await gw.client.options("/registry/households", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert stranger.status_code == 403 and "access-control-allow-origin" not in stranger.headers
    bearer = await gw.headers("commune.07207")
    actual = await gw.client.get("/support/test/echo", headers=bearer | {"Origin": "https://m.chungtay.gov.vn"})
    assert actual.headers["access-control-allow-origin"] == "https://m.chungtay.gov.vn"
    assert "x-request-id" in actual.headers["access-control-expose-headers"]
    other = await gw.client.get("/support/test/echo", headers=bearer | {"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    token = await gw.client.post("/auth/token", headers={"Origin": "https://app.chungtay.gov.vn"},
                                 data={"grant_type": "password", "username": "commune.07207", "password": "demo"})
    assert token.headers["access-control-allow-origin"] == "https://app.chungtay.gov.vn"
