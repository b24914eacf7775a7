"""The samples: ``kubectl apply -f manifests/samples/`` against the emulator with the
operator running, and the same files through ``tenantry apply -f`` (local driver)."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest
from tenantry_operator.local import ApplyError, apply_path

from services.kit.naming import schema_name

from . import helpers as h
from .conftest import NAMESPACE, ROOT, TENANTS, is_ready, policies_path

SAMPLES = ROOT / "manifests" / "samples"
SAMPLE_TENANTS = {"demo": "moderation", "acme-rentals": "property", "lapa": "petcare",
                  "shine-detailing": "detailing", "repit": "tutoring"}


async def kubectl(kube, *args: str) -> str:
    from tests.tools import kubectl_path

    env = {**os.environ, "KUBECONFIG": kube.kubeconfig, "KUBE_FEATURE_WatchListClient": "false"}
    proc = await asyncio.create_subprocess_exec(
        kubectl_path(), *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (args, out.decode(), err.decode())
    return out.decode()


@pytest.fixture
async def clean_samples(engine, redis):
    yield
    for t in SAMPLE_TENANTS:
        await h.purge(engine, redis, t)


async def test_kubectl_apply_samples(clean_samples, kube, operator, engine, redis):
    # the sync engine's table: the moderation migrations own it; create it if they do not
    async def table_when_schema_exists() -> None:
        for _ in range(300 if not h.migrations_create_sync_policies() else 0):
            if schema_name("moderation", "demo") in await h.schemas(engine, "demo"):
                await h.ensure_sync_policies_table(engine, "demo")
                return
            await asyncio.sleep(0.1)

    helper = asyncio.create_task(table_when_schema_exists())
    # --validate=false: the emulator serves no /openapi
    out = await kubectl(kube, "apply", "--validate=false", "-f", str(SAMPLES))
    assert "tenant.tenantry.dev/demo created" in out
    assert "syncpolicy.tenantry.dev/demo-bans created" in out
    await helper
    for t in SAMPLE_TENANTS:
        await kube.wait(f"{TENANTS}/{t}", is_ready, timeout=90, what=f"tenant {t} Ready")
    pol = await kube.wait(f"{policies_path()}/demo-bans",
                          lambda o: is_ready(o) and "lag" in o["status"], timeout=60)
    assert pol["status"]["lag"] == 0
    deployments = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
    assert await kube.get(f"{deployments}/tenant-demo-bot") is not None
    assert (await kube.get(f"{deployments}/sync-demo-bans"))["spec"]["replicas"] == 2
    assert await h.role_exists(engine, "demo")
    assert await h.groups(redis, "demo") >= h.expected_groups()

    table = await kubectl(kube, "get", "tenants")
    header = table.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "READY", "APPS", "AGE"], table
    demo = next(line for line in table.splitlines() if line.startswith("demo "))
    assert "Ready" in demo and "True" in demo and "moderation" in demo
    sp = await kubectl(kube, "get", "sp", "-n", NAMESPACE)
    assert sp.splitlines()[0].split() == ["NAME", "TENANT", "EVENTS", "MODE", "LAG", "READY"], sp
    assert "demo-bans" in sp and "temporary" in sp

    # Retain (the samples' policy): deleting keeps the data
    await kubectl(kube, "delete", "-n", NAMESPACE, "syncpolicy", "demo-bans", "--wait=false")
    await kubectl(kube, "delete", "tenant", "lapa", "--wait=false")
    await kube.wait(f"{TENANTS}/lapa", lambda o: o is None, timeout=90)
    assert schema_name("petcare", "lapa") in await h.schemas(engine, "lapa")


async def test_tenantry_apply_samples_locally(clean_samples, database_url, redis_url, engine,
                                              redis, tmp_path):
    kwargs = dict(database_url=database_url, redis_url=redis_url, secrets_dir=str(tmp_path))
    # the SyncPolicy needs the moderation app's sync_policies table
    await h.purge(engine, redis, "demo")
    if not h.migrations_create_sync_policies():
        with pytest.raises(ApplyError) as err:
            await apply_path(str(SAMPLES), **kwargs)
        assert any("syncpolicy/tenantry/demo-bans: failed" in line for line in err.value.lines)
        await h.ensure_sync_policies_table(engine, "demo")
    lines = await apply_path(str(SAMPLES), **kwargs)
    text_out = "\n".join(lines)
    assert "skipped Kubernetes workloads: ConfigMap tenant-demo, Deployment tenant-demo-bot" \
        in text_out
    assert "Deployment sync-demo-bans (2 replicas)" in text_out
    assert "Namespace/tenantry" in text_out and "skipped" in text_out
    for t, app in SAMPLE_TENANTS.items():
        assert schema_name(app, t) in await h.schemas(engine, t)
        assert await h.role_exists(engine, t)
        assert await h.groups(redis, t) >= h.expected_groups()
        assert f"tenant/{t}: SchemaReady=True" in text_out
    assert "password" not in text_out.lower().replace("credentials", "")
    assert (tmp_path / "tenant-demo-postgres.json").exists()
    assert oct((tmp_path / "tenant-demo-postgres.json").stat().st_mode)[-3:] == "600"
    # applying again changes nothing
    again = await apply_path(str(SAMPLES), **kwargs)
    assert "tenant/demo: up to date" in again
    assert "syncpolicy/tenantry/demo-bans: up to date" in again
