"""The operator under kopf against the kmock emulator, with real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import base64

from services.kit.naming import role_name, schema_name, stream_key

from . import helpers as h
from .conftest import NAMESPACE, TENANTS, condition, is_ready, policies_path

API = "tenantry.dev/v1alpha1"
NS = f"/api/v1/namespaces/{NAMESPACE}"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"


def tenant(name: str, **spec: object) -> dict:
    return {"apiVersion": API, "kind": "Tenant", "metadata": {"name": name}, "spec": spec}


async def bot_secret(kube, name: str) -> None:
    await kube.create(f"{NS}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                        "metadata": {"name": name},
                                        "stringData": {"token": "123:abc"}})


async def gone(kube, path: str, timeout: float = 90) -> None:
    await kube.wait(path, lambda o: o is None, timeout=timeout, what=f"{path} to be deleted")


async def test_lifecycle_with_delete_policy(kube, operator, engine, redis, tenant_name):
    t = tenant_name
    path = f"{TENANTS}/{t}"
    await bot_secret(kube, f"{t}-bot")
    await kube.create(TENANTS, tenant(t, displayName="Acme", apps=["moderation"],
                                      deletionPolicy="Delete",
                                      telegram={"botTokenSecretRef": {"name": f"{t}-bot"}}))

    # create -> Ready, with every object present
    obj = await kube.wait(path, is_ready, what="tenant Ready")
    assert obj["status"]["phase"] == "Ready"
    for c in ("SchemaReady", "QueuesReady", "WorkloadsReady", "Ready"):
        assert condition(obj, c)["status"] == "True", c
        assert condition(obj, c)["reason"] and condition(obj, c)["message"]
    assert set(obj["status"]["schemas"]) == {"notification", "analytics", "moderation"}
    owned = await h.schemas(engine, t)
    assert owned == {schema_name(a, t): role_name(t)
                     for a in ("notification", "analytics", "moderation")}
    assert not await h.public_usage(engine, schema_name("moderation", t))
    assert await h.groups(redis, t) == h.expected_groups()
    assert await h.acl_user(redis, t) is not None
    # progress in annotations, never in status
    assert "kopf" not in obj["status"]
    obj = await kube.wait(path, lambda o: "tenantry.dev/last-handled-configuration"
                          in o["metadata"]["annotations"], what="kopf's diff-base annotation")
    assert obj["metadata"]["finalizers"] == ["tenantry.dev/finalizer"]
    uid = obj["metadata"]["uid"]
    for p in (f"{NS}/configmaps/tenant-{t}", f"{NS}/secrets/tenant-{t}-postgres",
              f"{NS}/secrets/tenant-{t}-redis", f"{DEPLOYMENTS}/tenant-{t}-bot"):
        o = await kube.get(p)
        assert o is not None, p
        assert o["metadata"]["labels"]["tenantry.dev/tenant"] == t
        assert o["metadata"]["ownerReferences"][0]["uid"] == uid
    pg = await kube.get(f"{NS}/secrets/tenant-{t}-postgres")
    assert base64.b64decode(pg["data"]["username"]).decode() == role_name(t)
    bot = await kube.get(f"{DEPLOYMENTS}/tenant-{t}-bot")
    container = bot["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve", "telegram", "--tenant", t]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["grpc"]["port"] == 50055
    env = {e["name"]: e for e in container["env"]}
    assert env["TELEGRAM_BOT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": f"{t}-bot",
                                                                      "key": "token"}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "tenantry-backends"

    # spec change -> update; adding an app
    await kube.patch(path, {"spec": {"displayName": "Acme Corp", "apps": ["moderation", "property"]}})
    obj = await kube.wait(path, lambda o: is_ready(o) and o["metadata"]["generation"] == 2)
    assert "property" in obj["status"]["schemas"]
    assert schema_name("property", t) in await h.schemas(engine, t)
    cm = await kube.get(f"{NS}/configmaps/tenant-{t}")
    assert cm["data"]["displayName"] == "Acme Corp"

    # removing an app under Delete drops its schema
    await kube.patch(path, {"spec": {"apps": ["moderation"]}})
    await kube.wait(path, lambda o: is_ready(o) and o["metadata"]["generation"] == 3)
    assert schema_name("property", t) not in await h.schemas(engine, t)

    # drift: a deleted Deployment and a dropped consumer group come back (timer)
    await kube.delete(f"{DEPLOYMENTS}/tenant-{t}-bot")
    await redis.xgroup_destroy(stream_key(t, "ban.detected"), "sync")
    await kube.wait(f"{DEPLOYMENTS}/tenant-{t}-bot", lambda o: o is not None, timeout=20)
    for _ in range(100):
        if await h.groups(redis, t) == h.expected_groups():
            break
        await asyncio.sleep(0.2)
    assert await h.groups(redis, t) == h.expected_groups()

    # delete with Delete: schemas, role, ACL user, keys and owned objects go
    await kube.delete(path)
    await gone(kube, path)
    assert await h.schemas(engine, t) == {}
    assert not await h.role_exists(engine, t)
    assert await h.acl_user(redis, t) is None
    assert await h.keys(redis, t) == []
    assert await kube.get(f"{NS}/secrets/tenant-{t}-postgres") is None
    assert await kube.get(f"{DEPLOYMENTS}/tenant-{t}-bot") is None


async def test_retain_keeps_data(kube, operator, engine, redis, tenant_name):
    t = tenant_name
    path = f"{TENANTS}/{t}"
    try:
        await kube.create(TENANTS, tenant(t, apps=["detailing", "tutoring"]))
        await kube.wait(path, is_ready, what="tenant Ready")
        # removing an app under Retain keeps its schema
        await kube.patch(path, {"spec": {"apps": ["detailing"]}})
        obj = await kube.wait(path, lambda o: is_ready(o) and o["metadata"]["generation"] == 2)
        assert "tutoring" not in obj["status"]["schemas"]
        assert schema_name("tutoring", t) in await h.schemas(engine, t)

        await kube.delete(path)
        await gone(kube, path)
        assert set(await h.schemas(engine, t)) == {
            schema_name(a, t) for a in ("notification", "analytics", "detailing", "tutoring")}
        assert await h.role_exists(engine, t)
        assert await h.groups(redis, t) == h.expected_groups()
        assert await h.acl_user(redis, t) is not None
        # the credentials of the retained data survive, no longer owned by the Tenant
        secret = await kube.get(f"{NS}/secrets/tenant-{t}-postgres")
        assert secret is not None and not secret["metadata"].get("ownerReferences")
    finally:
        await h.purge(engine, redis, t)


async def test_invalid_references_set_conditions(kube, operator, engine, redis, tenant_name):
    t = tenant_name
    path = f"{TENANTS}/{t}"
    # a policy whose tenant does not exist: a condition, not a crash loop
    await kube.create(policies_path(), {
        "apiVersion": API, "kind": "SyncPolicy", "metadata": {"name": f"p-{t}"},
        "spec": {"tenantRef": {"name": t}, "events": ["ban"]}})
    pol = await kube.wait(f"{policies_path()}/p-{t}",
                          lambda o: condition(o, "TenantReady").get("reason") == "TenantNotFound")
    assert condition(pol, "Ready")["status"] == "False"

    # a Tenant whose bot token Secret is missing
    await kube.create(TENANTS, tenant(t, apps=["moderation"], deletionPolicy="Delete",
                                      telegram={"botTokenSecretRef": {"name": f"{t}-missing"}}))
    obj = await kube.wait(path, lambda o: condition(o, "WorkloadsReady").get("reason")
                          == "SecretNotFound")
    assert obj["status"]["phase"] == "Degraded"
    assert condition(obj, "SchemaReady")["status"] == "True"
    assert condition(obj, "Ready")["status"] == "False"
    assert f"{t}-missing" in condition(obj, "WorkloadsReady")["message"]
    # ... fixed by creating the Secret: retried with backoff, then Ready
    await bot_secret(kube, f"{t}-missing")
    await kube.wait(path, is_ready, what="tenant Ready after the Secret appeared")
    await kube.delete(f"{policies_path()}/p-{t}")
    await kube.delete(path)
    await gone(kube, path)


async def test_sync_policy(kube, operator, engine, redis, tenant_name):
    t = tenant_name
    await kube.create(TENANTS, tenant(t, apps=["moderation"], deletionPolicy="Delete"))
    await kube.wait(f"{TENANTS}/{t}", is_ready)
    await h.ensure_sync_policies_table(engine, t)
    name = f"p-{t}"
    path = f"{policies_path()}/{name}"
    await kube.create(policies_path(), {
        "apiVersion": API, "kind": "SyncPolicy", "metadata": {"name": name},
        "spec": {"tenantRef": {"name": t}, "events": ["ban", "kick"],
                 "action": {"mode": "temporary", "duration": "1d"}, "workers": {"replicas": 2}}})
    pol = await kube.wait(path, is_ready, what="policy Ready")
    group = f"sync.{NAMESPACE}.{name}"
    assert pol["status"]["consumerGroup"] == group
    stream = stream_key(t, "ban.detected")
    assert group in {g["name"].decode() for g in await redis.xinfo_groups(stream)}
    worker = await kube.get(f"{DEPLOYMENTS}/sync-{name}")
    assert worker["spec"]["replicas"] == 2
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "serve", "sync-worker", "--tenant", t, "--policy", f"{NAMESPACE}/{name}"]
    from sqlalchemy import text
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            f'SELECT spec, generation, suspended FROM "{schema_name("moderation", t)}".sync_policies '
            "WHERE name = :n"), {"n": f"{NAMESPACE}/{name}"})).one()
    assert row.spec["action"] == {"mode": "temporary", "duration": "1d"}
    assert row.spec["retry"]["maxAttempts"] == 4 and row.generation == 1 and not row.suspended

    # lag from XINFO, refreshed by the timer
    for i in range(3):
        await redis.xadd(stream, {"n": str(i)})
    pol = await kube.wait(path, lambda o: o["status"].get("lag") == 3, what="lag 3")
    assert pol["status"]["synced"] == 0 and pol["status"]["failed"] == 0

    # suspend -> 0 replicas, stored as suspended
    await kube.patch(path, {"spec": {"suspend": True}})
    await kube.wait(path, lambda o: is_ready(o) and o["metadata"]["generation"] == 2)
    assert (await kube.get(f"{DEPLOYMENTS}/sync-{name}"))["spec"]["replicas"] == 0
    async with engine.connect() as conn:
        assert (await conn.execute(text(
            f'SELECT suspended FROM "{schema_name("moderation", t)}".sync_policies')
        )).scalar_one() is True

    # drift: a dropped group and a deleted Deployment are repaired by the timer
    await redis.xgroup_destroy(stream, group)
    await kube.delete(f"{DEPLOYMENTS}/sync-{name}")
    await kube.wait(f"{DEPLOYMENTS}/sync-{name}", lambda o: o is not None, timeout=20)
    for _ in range(100):
        if group in {g["name"].decode() for g in await redis.xinfo_groups(stream)}:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("consumer group not repaired")

    await kube.delete(path)
    await gone(kube, path)
    assert group not in {g["name"].decode() for g in await redis.xinfo_groups(stream)}
    async with engine.connect() as conn:
        assert (await conn.execute(text(
            f'SELECT count(*) FROM "{schema_name("moderation", t)}".sync_policies'))).scalar_one() == 0
    await kube.delete(f"{TENANTS}/{t}")
    await gone(kube, f"{TENANTS}/{t}")


async def test_restart_mid_reconcile_converges(kube, operator, engine, redis, tenant_name):
    t = tenant_name
    await kube.create(TENANTS, tenant(t, apps=["moderation", "property", "petcare"],
                                      deletionPolicy="Delete"))
    # stop the operator as soon as the first schema exists: mid-reconcile
    for _ in range(300):
        if await h.schemas(engine, t):
            break
        await asyncio.sleep(0.02)
    await operator.stop()
    half = await kube.get(f"{TENANTS}/{t}")
    assert not is_ready(half) or len(await h.schemas(engine, t)) == 5
    await operator.start()
    obj = await kube.wait(f"{TENANTS}/{t}", is_ready, what="Ready after restart")
    assert len(obj["status"]["schemas"]) == 5
    assert len(await h.schemas(engine, t)) == 5
    assert await h.groups(redis, t) == h.expected_groups()
    await kube.delete(f"{TENANTS}/{t}")
    await gone(kube, f"{TENANTS}/{t}")
    assert not await h.role_exists(engine, t)


async def test_liveness_endpoint_and_metrics(kube, database_url, redis_url, tenant_name):
    """What the chart probes (kopf's liveness) and scrapes (Prometheus) answers."""
    import httpx

    from services.kit.embedded import free_port

    from .conftest import OperatorThread

    live, metrics = free_port(), free_port()
    op = OperatorThread(liveness=f"http://127.0.0.1:{live}/healthz", metrics_port=metrics)
    await op.start()
    try:
        await kube.create(TENANTS, tenant(tenant_name, displayName="Live", apps=["moderation"]))
        await kube.wait(f"{TENANTS}/{tenant_name}", is_ready, what="tenant Ready")
        async with httpx.AsyncClient(timeout=5) as client:
            health = await client.get(f"http://127.0.0.1:{live}/healthz")
            scraped = (await client.get(f"http://127.0.0.1:{metrics}/metrics")).text
        assert health.status_code == 200
        assert 'tenantry_operator_reconciles_total{' in scraped
        assert f'tenantry_operator_resource_ready{{kind="Tenant",name="{tenant_name}"' in scraped
    finally:
        await kube.delete(f"{TENANTS}/{tenant_name}")
        await gone(kube, f"{TENANTS}/{tenant_name}")
        await op.stop()
