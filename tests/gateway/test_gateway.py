"""The gateway over a real identity service: routes from annotations, errors, limits, health."""

from __future__ import annotations

import grpc
import httpx
import pytest

from services.gateway.app import create_app
from services.gateway.errors import HTTP_OF
from services.identity import main as identity_main
from services.identity.registry import ensure_identity_schema, register_tenant
from services.kit.settings import Settings
from tests.support import running


@pytest.fixture
async def backend(engine, redis_url, tenant_name):
    await ensure_identity_schema(engine)
    await register_tenant(engine, name=tenant_name, display_name="Acme", apps=[], limits={"requestsPerMinute": 1000},
                          retention_days=365)
    async with running("identity", identity_main.build, public=identity_main.PUBLIC_METHODS) as rt:
        yield rt


def _settings(port: int, **extra) -> Settings:
    addr = f"127.0.0.1:{port}"
    # Every backend address points at the identity server, so readiness can pass.
    return Settings(identity_addr=addr, notification_addr=addr, moderation_addr=addr, analytics_addr=addr,
                    **extra)


async def _client(settings: Settings):
    import uuid

    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    # A unique client address per test: anonymous rate limits are per address.
    peer = (f"test-{uuid.uuid4().hex[:12]}", 50000)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=peer), base_url="http://gw")
    return app, lifespan, client


@pytest.fixture
async def gw(backend):
    _app, lifespan, client = await _client(_settings(backend.server.port, cors_origins=["https://ui.example"]))
    yield client, backend
    await client.aclose()
    await lifespan.__aexit__(None, None, None)


async def _login(client, rt, tenant: str) -> str:
    from services.identity.accounts import Identity

    email = f"o-{tenant}@example.com"
    await Identity(rt.db.engine, rt.redis).bootstrap_member(tenant, email, "correct-horse-1", "owner")
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": "correct-horse-1"})
    assert r.status_code == 200, r.text
    return r.json()["tokens"]["access_token"]


async def test_rest_flow_and_json_shapes(gw, tenant_name):
    client, rt = gw
    token = await _login(client, rt, tenant_name)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "rid-123"})
    assert r.status_code == 200 and r.json()["user"]["email"] == f"o-{tenant_name}@example.com"
    assert r.headers["X-Request-ID"] == "rid-123"
    r = await client.get(f"/api/v1/tenants/{tenant_name}/members", params={"page_size": 10},
                         headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["members"][0]["role"] == "ROLE_OWNER"
    created = await client.post("/api/v1/auth/register", json={
        "email": f"new-{tenant_name}@example.com", "password": "0123456789ab", "display_name": "New"})
    assert created.status_code == 201


async def test_error_mapping_never_leaks_and_names_fields(gw, tenant_name):
    client, rt = gw
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer forged.token.here"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    r = await client.post("/api/v1/auth/register", json={"email": "x", "password": "1", "display_name": ""})
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"email", "password", "display_name"}
    r = await client.post("/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "body"
    r = await client.post("/api/v1/auth/register", json={"emial": "typo@example.com"})
    assert r.status_code == 422 and "emial" in r.json()["error"]["message"]
    assert r.json()["error"]["fields"] == [{"field": "emial", "description": "is not a field of this request"}]
    r = await client.post("/api/v1/auth/register", json={"email": 5, "password": "0123456789ab"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "email", "description": "must be a string"}]
    token = await _login(client, rt, tenant_name)
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.get(f"/api/v1/tenants/{tenant_name}/members", params={"page_size": "many"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "page_size"
    r = await client.get(f"/api/v1/tenants/{tenant_name}/members", params={"bogus": "1"}, headers=auth)
    assert r.status_code == 422
    r = await client.get("/api/v1/tenants/someone-else/members", headers=auth)
    assert r.status_code == 404
    dup = {"email": f"o-{tenant_name}@example.com", "password": "0123456789ab", "display_name": "Dup"}
    r = await client.post("/api/v1/auth/register", json=dup)
    assert r.status_code == 409 and "Traceback" not in r.text


def test_status_table_matches_the_contract():
    assert {HTTP_OF[c] for c in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                                 grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.UNAUTHENTICATED,
                                 grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                                 grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)} == {
        422, 404, 409, 401, 403, 429, 503, 504}


async def test_rate_limits_answer_429_with_retry_after(backend, tenant_name):
    _app, lifespan, client = await _client(_settings(backend.server.port, rate_limit_user_per_minute=3))
    try:
        codes = []
        for _ in range(5):
            r = await client.post("/api/v1/auth/login", json={"email": "a@b.cd", "password": "x"})
            codes.append(r.status_code)
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
        assert 1 <= int(r.headers["Retry-After"]) <= 60
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_tenant_rate_limit_comes_from_the_tenant_registry(backend, engine, tenant_name):
    await register_tenant(engine, name=tenant_name, display_name="Acme", apps=[], limits={"requestsPerMinute": 2},
                          retention_days=365)
    _app, lifespan, client = await _client(_settings(backend.server.port))
    try:
        token = await _login(client, backend, tenant_name)
        codes = [(await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 429, 429]
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_openapi_health_metrics_and_cors(gw):
    client, _ = gw
    doc = (await client.get("/openapi.json")).json()
    assert "/api/v1/auth/login" in doc["paths"] and "post" in doc["paths"]["/api/v1/auth/login"]
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/health/live")).status_code == 200
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
    assert "tenantry_http_requests_total" in (await client.get("/metrics")).text
    preflight = {"Origin": "https://ui.example", "Access-Control-Request-Method": "GET"}
    r = await client.options("/api/v1/me", headers=preflight)
    assert r.headers.get("access-control-allow-origin") == "https://ui.example"


async def test_ready_is_503_and_calls_503_when_a_backend_is_down(backend):
    from services.kit.embedded import free_port

    dead = f"127.0.0.1:{free_port()}"
    settings = Settings(identity_addr=dead, notification_addr=dead, moderation_addr=dead, analytics_addr=dead)
    _app, lifespan, client = await _client(settings)
    try:
        assert (await client.get("/health/ready")).status_code == 503
        r = await client.post("/api/v1/auth/login", json={"email": "a@b.cd", "password": "whatever-long"})
        assert r.status_code == 503 and r.json()["error"]["status"] == "UNAVAILABLE"
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
