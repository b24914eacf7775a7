"""The kopf driver: Tenant and SyncPolicy handlers on top of :mod:`.reconcile`.

Level-based: create, update, resume and a periodic timer all run the same
idempotent reconcile, which observes, plans and acts. The timer repairs drift
(a deleted Deployment, a dropped consumer group, a schema behind head) and
refreshes status. kopf keeps its progress and diff-base in annotations
(``tenantry.dev/*``), never in ``status``; ``status`` is ours alone.

Intervals are read from the environment at import (kopf fixes them when the
handlers are registered): ``TENANTRY_RESYNC_SECONDS`` (Tenant timer, 60),
``TENANTRY_STATUS_SECONDS`` (SyncPolicy timer, 30), ``TENANTRY_BACKOFF_SECONDS``
(first retry delay after a transient error, 2; doubles up to 300).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf
import redis.asyncio as aioredis

from services.kit.db import make_engine
from services.kit.settings import get_settings

from . import backends, desired, metrics
from .backends import Backends
from .constants import FINALIZER, GROUP, SYNCPOLICIES, TENANTS, VERSION
from .desired import (
    bot_deployment_name,
    configmap_name,
    credential_secret,
    policy_objects,
    postgres_secret_name,
    redis_secret_name,
    tenant_objects,
    worker_deployment_name,
)
from .kube import Kube, KubeError, object_path, secret_data
from .reconcile import (
    Condition,
    delete_policy_data,
    delete_tenant_data,
    reconcile_policy_data,
    reconcile_tenant_data,
)
from .spec import InvalidSpec, parse_sync_policy, parse_tenant

log = logging.getLogger("tenantry.operator")

RESYNC_SECONDS = float(os.environ.get("TENANTRY_RESYNC_SECONDS", "60"))
STATUS_SECONDS = float(os.environ.get("TENANTRY_STATUS_SECONDS", "30"))
BACKOFF_SECONDS = float(os.environ.get("TENANTRY_BACKOFF_SECONDS", "2"))
#: Each watch is re-established (list + watch) at least this often. A finalizer removal
#: that lost a race with a concurrent status write (its JSON patch tests resourceVersion)
#: is retried on the next event; the periodic re-list guarantees there is one.
WATCH_SECONDS = float(os.environ.get("TENANTRY_WATCH_SECONDS", "300"))
SKIP_CLEANUP = "tenantry.dev/skip-cleanup"


@dataclass
class State:
    """Per-process operator state, kept in kopf's memo."""

    namespace: str = "tenantry"
    image: str = desired.DEFAULT_IMAGE
    backend_secret: str = desired.DEFAULT_BACKEND_SECRET
    connection: kopf.ConnectionInfo | None = None
    kube: Kube | None = None
    backends: Backends | None = None
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, key: str) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())


def _state(memo: Any) -> State:
    return memo["tenantry"]


def backoff(retry: int) -> float:
    return min(300.0, BACKOFF_SECONDS * (2 ** min(retry, 10)))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ lifecycle

@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration")
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = WATCH_SECONDS
    settings.watching.client_timeout = WATCH_SECONDS + 10
    settings.networking.request_timeout = 60
    settings.batching.error_delays = [1, 2, 5, 10, 30, 60]
    state = State(
        namespace=os.environ.get("TENANTRY_NAMESPACE", "tenantry"),
        image=os.environ.get("TENANTRY_IMAGE", desired.DEFAULT_IMAGE),
        backend_secret=os.environ.get("TENANTRY_BACKEND_SECRET", desired.DEFAULT_BACKEND_SECRET),
    )
    s = get_settings()
    state.backends = Backends(engine=make_engine(s.database_url, pool_size=5),
                              redis=aioredis.from_url(s.redis_url))
    memo["tenantry"] = state


@kopf.on.login()
def login(memo: Any, **kwargs: Any) -> kopf.ConnectionInfo | None:
    """In-cluster service account first, then the current kubeconfig (read now, not at import)."""
    info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
    if info is None:
        info = kopf.login_via_client(**kwargs)
    if info is not None and "tenantry" in memo:
        memo["tenantry"].connection = info
    return info


@kopf.on.cleanup()
async def cleanup(memo: Any, **_: Any) -> None:
    state = _state(memo)
    if state.kube is not None:
        await state.kube.close()
    if state.backends is not None:
        await state.backends.redis.aclose()
        await state.backends.engine.dispose()


def _kube(state: State) -> Kube:
    if state.kube is None:
        if state.connection is None:
            raise kopf.TemporaryError("not logged in to the Kubernetes API yet", delay=1)
        state.kube = Kube(state.connection)
    return state.kube


class KubeSecretStore:
    """Credentials in Secrets in the operator's namespace, owned by the Tenant."""

    def __init__(self, kube: Kube, namespace: str, uid: str | None) -> None:
        self.kube, self.namespace, self.uid = kube, namespace, uid

    async def ensure(self, name: str, tenant: str, initial: Mapping[str, str]) -> tuple[dict[str, str], bool]:
        path = object_path("v1", "Secret", self.namespace, name)
        existing = await self.kube.get(path)
        if existing is not None:
            data = secret_data(existing)
            if "password" in data:
                return data, False
        body = credential_secret(tenant, name=name, namespace=self.namespace, uid=self.uid,
                                 data=initial)
        if existing is not None:
            await self.kube.patch(path, {"stringData": dict(initial),
                                         "metadata": {"labels": body["metadata"]["labels"]}})
            return dict(initial), True
        try:
            await self.kube.create(body)
        except KubeError as exc:
            if exc.status == 409:  # created concurrently: use the stored one
                again = await self.kube.get(path)
                if again is not None:
                    return secret_data(again), False
            raise
        return dict(initial), True

    async def forget(self, name: str) -> None:
        await self.kube.delete(object_path("v1", "Secret", self.namespace, name))

    async def orphan(self, name: str) -> None:
        """Keep a Secret when its Tenant goes (Retain): drop the ownerReference."""
        path = object_path("v1", "Secret", self.namespace, name)
        if await self.kube.get(path) is not None:
            await self.kube.patch(path, {"metadata": {"ownerReferences": None}})


# ------------------------------------------------------------------ conditions

def _conditions(old: list[Mapping[str, Any]] | None, new: list[Condition],
                generation: int | None) -> list[dict[str, Any]]:
    previous = {c.get("type"): c for c in (old or [])}
    out = []
    for c in new:
        status = "True" if c.ok else "False"
        prev = previous.get(c.type)
        since = prev.get("lastTransitionTime") if prev and prev.get("status") == status else None
        item = {"type": c.type, "status": status, "reason": c.reason, "message": c.message,
                "lastTransitionTime": since or _now()}
        if generation is not None:
            item["observedGeneration"] = generation
        out.append(item)
    return out


def _emitter(body: Any) -> Any:
    def emit(reason: str, message: str) -> None:
        metrics.ACTIONS.labels(kind=body.get("kind", "?"), reason=reason).inc()
        if reason.endswith(("Failed", "NotFound", "Missing")):
            kopf.warn(body, reason=reason, message=message)
        else:
            kopf.info(body, reason=reason, message=message)
    return emit


def _deployment_ready(obj: Mapping[str, Any] | None) -> tuple[bool, str]:
    if obj is None:
        return False, "Deployment missing"
    want = int(obj.get("spec", {}).get("replicas", 1))
    st = obj.get("status") or {}
    gen = obj.get("metadata", {}).get("generation")
    if gen is not None and st.get("observedGeneration", 0) < gen:
        return False, f"{obj['metadata']['name']}: rollout not observed yet"
    avail = int(st.get("availableReplicas") or 0)
    updated = int(st.get("updatedReplicas") or 0) if want else 0
    if avail >= want and updated >= want:
        return True, f"{obj['metadata']['name']}: {avail}/{want} available"
    return False, f"{obj['metadata']['name']}: {avail}/{want} available"


# ------------------------------------------------------------------ Tenant

@kopf.on.resume(GROUP, VERSION, TENANTS)
@kopf.on.create(GROUP, VERSION, TENANTS)
@kopf.on.update(GROUP, VERSION, TENANTS, field="spec")
async def tenant_changed(body: kopf.Body, patch: kopf.Patch, memo: Any, retry: int,
                         **_: Any) -> None:
    ok = await reconcile_tenant(body, patch, memo)
    if not ok:
        raise kopf.TemporaryError("tenant not ready yet; retrying", delay=backoff(retry))


@kopf.timer(GROUP, VERSION, TENANTS, interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS)
async def tenant_resync(body: kopf.Body, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    if body.metadata.get("deletionTimestamp"):
        return
    await reconcile_tenant(body, patch, memo)
    _drop_if_deleting(body, patch)


def _drop_if_deleting(body: kopf.Body, patch: kopf.Patch) -> None:
    """A timer that was mid-run when deletion began must not write status: that write
    would race kopf's finalizer removal (its JSON patch tests resourceVersion)."""
    if body.metadata.get("deletionTimestamp"):
        patch.clear()


async def reconcile_tenant(body: kopf.Body, patch: kopf.Patch, memo: Any) -> bool:
    state = _state(memo)
    name = body.metadata.name
    generation = body.metadata.get("generation")
    old_conditions = body.get("status", {}).get("conditions")
    emit = _emitter(body)
    started = time.monotonic()
    try:
        spec = parse_tenant(name, body.get("spec"))
    except InvalidSpec as exc:
        emit("InvalidSpec", str(exc))
        patch.status["phase"] = "Failed"
        patch.status["observedGeneration"] = generation
        patch.status["conditions"] = _conditions(old_conditions, [
            Condition("Ready", False, "InvalidSpec", str(exc))], generation)
        metrics.RECONCILES.labels(kind="Tenant", outcome="invalid").inc()
        raise kopf.PermanentError(str(exc)) from None

    kube = _kube(state)
    async with state.lock(f"tenant/{name}"):
        if not body.get("status", {}).get("phase"):
            await kube.patch(object_path(f"{GROUP}/{VERSION}", "Tenant", None, name, "status"),
                             {"status": {"phase": "Provisioning"}})
        assert state.backends is not None
        store = KubeSecretStore(kube, state.namespace, body.metadata.uid)
        data = await reconcile_tenant_data(state.backends, spec, store, emit)
        conditions = list(data.conditions)
        conditions.append(await _tenant_workloads(kube, state, spec, body, emit))

    ready = all(c.ok for c in conditions)
    failing = [c for c in conditions if not c.ok]
    conditions.append(Condition(
        "Ready", ready, "Ready" if ready else failing[0].reason,
        "tenant is ready" if ready else "; ".join(f"{c.type}: {c.message}" for c in failing)))
    errors = {"SchemaFailed", "QueuesFailed", "SecretNotFound", "SecretKeyMissing",
              "WorkloadsFailed"}
    phase = "Ready" if ready else (
        "Degraded" if any(c.reason in errors for c in failing) else "Provisioning")
    if phase != body.get("status", {}).get("phase"):
        emit("PhaseChanged", f"phase {phase}")
    patch.status["phase"] = phase
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = _conditions(old_conditions, conditions, generation)
    schemas: dict[str, str | None] = {a: r or "" for a, r in sorted(data.revisions.items())}
    for gone in set(body.get("status", {}).get("schemas") or {}) - set(schemas):
        schemas[gone] = None  # merge patch: null removes a disabled app's entry
    patch.status["schemas"] = schemas
    patch.status["apps"] = list(spec.apps)
    patch.status["roleName"] = desired.desired_tenant(spec, {}).role
    patch.status["keyPrefix"] = desired.desired_tenant(spec, {}).key_prefix
    patch.status["message"] = conditions[-1].message
    metrics.READY.labels(kind="Tenant", namespace="", name=name).set(1 if ready else 0)
    metrics.RECONCILES.labels(kind="Tenant", outcome="ready" if ready else phase.lower()).inc()
    metrics.RECONCILE_SECONDS.labels(kind="Tenant").observe(time.monotonic() - started)
    return ready


async def _tenant_workloads(kube: Kube, state: State, spec: Any, body: kopf.Body,
                            emit: Any) -> Condition:
    try:
        objs = tenant_objects(spec, uid=body.metadata.uid, namespace=state.namespace,
                              image=state.image, backend_secret=state.backend_secret)
        for obj in objs:
            if obj["kind"] == "Deployment":
                continue
            _, what = await kube.apply(obj)
            if what:
                emit(f"ConfigMap{what.capitalize()}", f"{what} ConfigMap {obj['metadata']['name']}")
        bot_path = object_path("apps/v1", "Deployment", state.namespace,
                               bot_deployment_name(spec.name))
        if spec.bot_token is None:
            if await kube.get(bot_path) is not None:
                await kube.delete(bot_path)
                emit("DeploymentDeleted", f"deleted bot Deployment {bot_deployment_name(spec.name)}")
            return Condition("WorkloadsReady", True, "NoWorkloads",
                             f"ConfigMap {configmap_name(spec.name)}; no bot token referenced")
        ref = spec.bot_token
        secret = await kube.get(object_path("v1", "Secret", state.namespace, ref.name))
        if secret is None:
            msg = f"bot token Secret {state.namespace}/{ref.name} not found"
            emit("SecretNotFound", msg)
            return Condition("WorkloadsReady", False, "SecretNotFound", msg)
        if ref.key not in secret_data(secret):
            msg = f"bot token Secret {state.namespace}/{ref.name} has no key {ref.key!r}"
            emit("SecretKeyMissing", msg)
            return Condition("WorkloadsReady", False, "SecretKeyMissing", msg)
        deployment = next(o for o in objs if o["kind"] == "Deployment")
        live, what = await kube.apply(deployment)
        if what:
            emit(f"Deployment{what.capitalize()}", f"{what} bot Deployment "
                 f"{deployment['metadata']['name']}")
        ok, msg = _deployment_ready(live)
        return Condition("WorkloadsReady", ok, "Available" if ok else "Progressing", msg)
    except KubeError as exc:
        emit("WorkloadsFailed", str(exc))
        return Condition("WorkloadsReady", False, "WorkloadsFailed", str(exc)[:300])


@kopf.on.delete(GROUP, VERSION, TENANTS)
async def tenant_deleted(body: kopf.Body, patch: kopf.Patch, memo: Any, retry: int,
                         **_: Any) -> None:
    state = _state(memo)
    name = body.metadata.name
    emit = _emitter(body)
    if body.metadata.annotations.get(SKIP_CLEANUP) == "true":
        emit("CleanupSkipped", f"annotation {SKIP_CLEANUP}=true: nothing cleaned up")
        return
    try:
        spec = parse_tenant(name, body.get("spec"))
    except InvalidSpec:
        return  # nothing was ever provisioned for an unusable spec
    kube = _kube(state)
    store = KubeSecretStore(kube, state.namespace, body.metadata.uid)
    try:
        assert state.backends is not None
        async with state.lock(f"tenant/{name}"):
            await delete_tenant_data(state.backends, spec, store, emit)
            # The API server's GC removes owned objects; delete them explicitly anyway
            # (faster, and correct where no GC runs). Retain keeps the credentials.
            for kind, api, obj_name in (
                ("Deployment", "apps/v1", bot_deployment_name(name)),
                ("ConfigMap", "v1", configmap_name(name)),
            ):
                await kube.delete(object_path(api, kind, state.namespace, obj_name))
            for secret in (postgres_secret_name(name), redis_secret_name(name)):
                if spec.deletion_policy == "Retain":
                    await store.orphan(secret)
    except Exception as exc:
        msg = f"cleanup failed (will retry): {type(exc).__name__}: {str(exc)[:200]}"
        emit("CleanupFailed", msg)
        patch.status["phase"] = "Deleting"
        patch.status["conditions"] = _conditions(body.get("status", {}).get("conditions"), [
            Condition("Ready", False, "CleanupFailed", msg)], body.metadata.get("generation"))
        raise kopf.TemporaryError(msg, delay=backoff(retry)) from None
    metrics.READY.labels(kind="Tenant", namespace="", name=name).set(0)


# ------------------------------------------------------------------ SyncPolicy

@kopf.on.resume(GROUP, VERSION, SYNCPOLICIES)
@kopf.on.create(GROUP, VERSION, SYNCPOLICIES)
@kopf.on.update(GROUP, VERSION, SYNCPOLICIES, field="spec")
async def policy_changed(body: kopf.Body, patch: kopf.Patch, memo: Any, retry: int,
                         **_: Any) -> None:
    ok, transient = await reconcile_policy(body, patch, memo)
    if not ok and transient:
        raise kopf.TemporaryError("sync policy not ready yet; retrying", delay=backoff(retry))


@kopf.timer(GROUP, VERSION, SYNCPOLICIES, interval=STATUS_SECONDS, initial_delay=STATUS_SECONDS)
async def policy_resync(body: kopf.Body, patch: kopf.Patch, memo: Any, **_: Any) -> None:
    if body.metadata.get("deletionTimestamp"):
        return
    await reconcile_policy(body, patch, memo)
    _drop_if_deleting(body, patch)


async def reconcile_policy(body: kopf.Body, patch: kopf.Patch, memo: Any) -> tuple[bool, bool]:
    """Reconcile one SyncPolicy and refresh its status; return (ready, retry-worthy)."""
    state = _state(memo)
    ns, name = body.metadata.namespace, body.metadata.name
    generation = body.metadata.get("generation")
    old = body.get("status", {}).get("conditions")
    emit = _emitter(body)
    started = time.monotonic()

    def finish(conditions: list[Condition], **fields: Any) -> bool:
        ready = all(c.ok for c in conditions)
        failing = [c for c in conditions if not c.ok]
        conditions = [*conditions, Condition(
            "Ready", ready, "Ready" if ready else failing[0].reason,
            "policy is active" if ready else "; ".join(f"{c.type}: {c.message}" for c in failing))]
        patch.status["observedGeneration"] = generation
        patch.status["conditions"] = _conditions(old, conditions, generation)
        for k, v in fields.items():
            patch.status[k] = v
        metrics.READY.labels(kind="SyncPolicy", namespace=ns, name=name).set(1 if ready else 0)
        metrics.RECONCILES.labels(kind="SyncPolicy", outcome="ready" if ready else "not_ready").inc()
        metrics.RECONCILE_SECONDS.labels(kind="SyncPolicy").observe(time.monotonic() - started)
        return ready

    try:
        spec = parse_sync_policy(ns, name, body.get("spec"))
    except InvalidSpec as exc:
        emit("InvalidSpec", str(exc))
        finish([Condition("TenantReady", False, "InvalidSpec", str(exc))])
        raise kopf.PermanentError(str(exc)) from None

    kube = _kube(state)
    assert state.backends is not None
    want = desired.desired_policy(spec)
    fields: dict[str, Any] = {"consumerGroup": want.group, "stream": want.stream}
    tenant = await kube.get(object_path(f"{GROUP}/{VERSION}", "Tenant", None, spec.tenant))
    if tenant is None:
        msg = f"Tenant {spec.tenant!r} not found"
        emit("TenantNotFound", msg)
        return finish([Condition("TenantReady", False, "TenantNotFound", msg)], **fields), True
    if "moderation" not in (tenant.get("spec", {}).get("apps") or []):
        msg = f"Tenant {spec.tenant!r} does not enable the moderation app"
        emit("ModerationNotEnabled", msg)
        return finish([Condition("TenantReady", False, "ModerationNotEnabled", msg)],
                      **fields), True
    if tenant.get("metadata", {}).get("deletionTimestamp"):
        msg = f"Tenant {spec.tenant!r} is being deleted"
        return finish([Condition("TenantReady", False, "TenantDeleting", msg)], **fields), True

    conditions = [Condition("TenantReady", True, "TenantFound", f"Tenant {spec.tenant} found")]
    async with state.lock(f"policy/{ns}/{name}"):
        try:
            await reconcile_policy_data(state.backends, spec, generation or 1, emit)
            conditions.append(Condition("PolicyStored", True, "Stored",
                                        f"stored in {want.schema}.sync_policies"))
        except backends.PolicyStoreMissing as exc:
            emit(exc.reason, str(exc))
            conditions.append(Condition("PolicyStored", False, exc.reason, str(exc)))
        except Exception as exc:
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            emit("PolicyStoreFailed", msg)
            conditions.append(Condition("PolicyStored", False, "PolicyStoreFailed", msg))
        try:
            (live, what), = [await kube.apply(o) for o in policy_objects(
                spec, uid=body.metadata.uid, image=state.image,
                backend_secret=state.backend_secret)]
            if what:
                emit(f"Deployment{what.capitalize()}",
                     f"{what} sync-worker Deployment {worker_deployment_name(name)} "
                     f"({spec.effective_replicas} replicas)")
            ok, msg = _deployment_ready(live)
            if spec.suspend:
                ok, msg = True, f"suspended: {worker_deployment_name(name)} scaled to 0"
            conditions.append(Condition("WorkloadsReady", ok,
                                        "Suspended" if spec.suspend else
                                        ("Available" if ok else "Progressing"), msg))
            fields["replicas"] = spec.effective_replicas
        except KubeError as exc:
            emit("WorkloadsFailed", str(exc))
            conditions.append(Condition("WorkloadsReady", False, "WorkloadsFailed", str(exc)[:300]))
        try:
            stats = await backends.policy_stats(state.backends, want)
            fields.update(lag=stats.lag, pending=stats.pending, synced=stats.synced,
                          failed=stats.failed)
            if stats.last_sync is not None:
                fields["lastSyncTime"] = stats.last_sync.strftime("%Y-%m-%dT%H:%M:%SZ")
            conditions.append(Condition(
                "QueuesReady", stats.group_exists,
                "GroupReady" if stats.group_exists else "GroupMissing",
                f"group {want.group} on {want.stream}: lag {stats.lag}, pending {stats.pending}"))
            metrics.POLICY_LAG.labels(namespace=ns, name=name, tenant=spec.tenant).set(stats.lag)
        except Exception as exc:
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            conditions.append(Condition("QueuesReady", False, "StatsFailed", msg))
    return finish(conditions, **fields), True


@kopf.on.delete(GROUP, VERSION, SYNCPOLICIES)
async def policy_deleted(body: kopf.Body, patch: kopf.Patch, memo: Any, retry: int,
                         **_: Any) -> None:
    state = _state(memo)
    ns, name = body.metadata.namespace, body.metadata.name
    emit = _emitter(body)
    if body.metadata.annotations.get(SKIP_CLEANUP) == "true":
        return
    try:
        spec = parse_sync_policy(ns, name, body.get("spec"))
    except InvalidSpec:
        return
    kube = _kube(state)
    try:
        assert state.backends is not None
        await delete_policy_data(state.backends, spec, emit)
        await kube.delete(object_path("apps/v1", "Deployment", ns, worker_deployment_name(name)))
    except Exception as exc:
        msg = f"cleanup failed (will retry): {type(exc).__name__}: {str(exc)[:200]}"
        emit("CleanupFailed", msg)
        patch.status["conditions"] = _conditions(body.get("status", {}).get("conditions"), [
            Condition("Ready", False, "CleanupFailed", msg)], body.metadata.get("generation"))
        raise kopf.TemporaryError(msg, delay=backoff(retry)) from None
    metrics.READY.labels(kind="SyncPolicy", namespace=ns, name=name).set(0)
