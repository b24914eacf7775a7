"""Desired state, plans and their simulation: pure functions of a spec.

The reconcilers are split in three pure steps so that both drivers (kopf and
``tenantry apply -f``) and the property tests share them:

1. :func:`desired_tenant` / :func:`desired_policy` -- what should exist, from
   the spec alone (plus the migration heads, which are code, not state);
2. :func:`plan_tenant` / :func:`plan_tenant_deletion` / :func:`plan_policy` --
   the actions that take an *observed* state to the desired one;
3. :func:`simulate` -- what an observed state becomes after the actions.

The executors (:mod:`.backends`) observe the real PostgreSQL/Redis, ask for a
plan and perform it; every action is itself idempotent, so an interrupted
reconcile converges on the next run. Applying a plan and planning again gives
no actions: that is the level-based contract the property tests check.

Kubernetes objects are rendered here too (:func:`tenant_objects`,
:func:`policy_objects`) and compared with :func:`needs_update`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from services.kit.bus.topics import TOPIC_GROUPS, policy_group
from services.kit.naming import (
    PLATFORM_TENANT_APPS,
    key_prefix,
    redis_acl_user,
    role_name,
    schema_name,
    stream_key,
)

from .constants import API_VERSION
from .spec import SyncPolicySpec, TenantSpec

MANAGED_BY = "tenantry-operator"
DEFAULT_IMAGE = "ghcr.io/tenantry/tenantry:0.1.0"
DEFAULT_BACKEND_SECRET = "tenantry-backends"
BOT_GRPC_PORT = 50055
SYNC_WORKER_GRPC_PORT = 50056


# ---------------------------------------------------------------- tenant state

@dataclass(frozen=True)
class DesiredTenant:
    tenant: str
    apps: tuple[str, ...]                 # platform apps + enabled business apps
    schemas: Mapping[str, str]            # app -> schema
    heads: Mapping[str, str | None]       # app -> head revision
    role: str
    acl_user: str
    key_prefix: str
    groups: frozenset[tuple[str, str]]    # (stream key, consumer group)
    deletion_policy: str


@dataclass(frozen=True)
class ObservedTenant:
    """What exists now for a tenant in PostgreSQL and Redis."""

    schemas: Mapping[str, str | None] = field(default_factory=dict)  # app -> revision (None: no version)
    role_exists: bool = False
    role_schemas: frozenset[str] = frozenset()   # schemas the role owns
    groups: frozenset[tuple[str, str]] = frozenset()
    acl_user_exists: bool = False
    has_keys: bool = False


@dataclass(frozen=True, order=True)
class Action:
    """One idempotent step. ``kind`` names it; ``target`` is what it acts on."""

    kind: str
    target: str
    extra: str = ""

    def describe(self) -> str:
        words = {
            "migrate": "migrated schema {target} to head",
            "drop_schema": "dropped schema {target}",
            "create_role": "created role {target}",
            "own_schema": "gave schema {extra} to role {target}",
            "drop_role": "dropped role {target}",
            "create_group": "created consumer group {extra} on {target}",
            "destroy_group": "destroyed consumer group {extra} on {target}",
            "create_acl_user": "created Redis ACL user {target}",
            "delete_acl_user": "deleted Redis ACL user {target}",
            "delete_keys": "deleted Redis keys {target}*",
        }
        return words.get(self.kind, "{kind} {target} {extra}").format(
            kind=self.kind, target=self.target, extra=self.extra)


def desired_tenant(spec: TenantSpec, heads: Mapping[str, str | None]) -> DesiredTenant:
    """The database and queue state a Tenant asks for."""
    t = spec.name
    apps = tuple(PLATFORM_TENANT_APPS) + tuple(a for a in spec.apps if a not in PLATFORM_TENANT_APPS)
    groups = frozenset(
        (stream_key(t, topic), group) for topic, groups in TOPIC_GROUPS.items() for group in groups
    )
    return DesiredTenant(
        tenant=t,
        apps=apps,
        schemas={a: schema_name(a, t) for a in apps},
        heads={a: heads.get(a) for a in apps},
        role=role_name(t),
        acl_user=redis_acl_user(t),
        key_prefix=key_prefix(t),
        groups=groups,
        deletion_policy=spec.deletion_policy,
    )


def plan_tenant(desired: DesiredTenant, observed: ObservedTenant) -> list[Action]:
    """Actions that bring ``observed`` to ``desired`` (empty when converged).

    Schemas of apps no longer enabled are dropped only under ``deletionPolicy:
    Delete``; with ``Retain`` they stay (and stay the role's).
    """
    actions: list[Action] = []
    for app in desired.apps:
        schema = desired.schemas[app]
        if app not in observed.schemas or observed.schemas[app] != desired.heads[app]:
            actions.append(Action("migrate", schema, app))
    if desired.deletion_policy == "Delete":
        for app in sorted(observed.schemas):
            if app not in desired.schemas:
                actions.append(Action("drop_schema", schema_name(app, desired.tenant), app))
    if not observed.role_exists:
        actions.append(Action("create_role", desired.role))
    for app in desired.apps:
        schema = desired.schemas[app]
        if schema not in observed.role_schemas or any(
            a.kind == "migrate" and a.target == schema for a in actions
        ):
            actions.append(Action("own_schema", desired.role, schema))
    for stream, group in sorted(desired.groups - observed.groups):
        actions.append(Action("create_group", stream, group))
    if not observed.acl_user_exists:
        actions.append(Action("create_acl_user", desired.acl_user, desired.key_prefix))
    return actions


def plan_tenant_deletion(desired: DesiredTenant, observed: ObservedTenant) -> list[Action]:
    """Actions when a Tenant is deleted: nothing under Retain, everything under Delete."""
    if desired.deletion_policy != "Delete":
        return []
    actions = [
        Action("drop_schema", schema_name(app, desired.tenant), app)
        for app in sorted(observed.schemas)
    ]
    if observed.role_exists:
        actions.append(Action("drop_role", desired.role))
    if observed.acl_user_exists:
        actions.append(Action("delete_acl_user", desired.acl_user))
    if observed.has_keys or observed.groups:
        actions.append(Action("delete_keys", desired.key_prefix))
    return actions


def simulate(observed: ObservedTenant, actions: list[Action],
             heads: Mapping[str, str | None]) -> ObservedTenant:
    """The observed state after performing ``actions`` (a model of the executors)."""
    state = observed
    for a in actions:
        if a.kind == "migrate":
            state = replace(state, schemas={**state.schemas, a.extra: heads.get(a.extra)})
        elif a.kind == "drop_schema":
            state = replace(
                state,
                schemas={k: v for k, v in state.schemas.items() if k != a.extra},
                role_schemas=state.role_schemas - {a.target},
            )
        elif a.kind == "create_role":
            state = replace(state, role_exists=True)
        elif a.kind == "own_schema":
            state = replace(state, role_schemas=state.role_schemas | {a.extra})
        elif a.kind == "drop_role":
            state = replace(state, role_exists=False, role_schemas=frozenset())
        elif a.kind == "create_group":
            state = replace(state, groups=state.groups | {(a.target, a.extra)}, has_keys=True)
        elif a.kind == "destroy_group":
            state = replace(state, groups=state.groups - {(a.target, a.extra)})
        elif a.kind == "create_acl_user":
            state = replace(state, acl_user_exists=True)
        elif a.kind == "delete_acl_user":
            state = replace(state, acl_user_exists=False)
        elif a.kind == "delete_keys":
            state = replace(state, groups=frozenset(), has_keys=False)
        else:  # pragma: no cover - every planned kind is modelled
            raise ValueError(f"unknown action {a.kind}")
    return state


# ---------------------------------------------------------------- sync policy

@dataclass(frozen=True)
class DesiredPolicy:
    key: str                  # "<namespace>/<name>" (row key)
    tenant: str
    stream: str
    group: str
    schema: str               # the tenant's moderation schema
    document: Mapping[str, Any]
    suspended: bool
    replicas: int


def desired_policy(spec: SyncPolicySpec) -> DesiredPolicy:
    """The stored policy, consumer group and worker count a SyncPolicy asks for."""
    return DesiredPolicy(
        key=spec.key,
        tenant=spec.tenant,
        stream=stream_key(spec.tenant, "ban.detected"),
        group=policy_group(spec.namespace, spec.name),
        schema=schema_name("moderation", spec.tenant),
        document=spec.document,
        suspended=spec.suspend,
        replicas=spec.effective_replicas,
    )


@dataclass(frozen=True)
class ObservedPolicy:
    row: tuple[str, bool, int] | None = None   # (canonical spec json, suspended, generation)
    group_exists: bool = False


def policy_row(desired: DesiredPolicy, generation: int) -> tuple[str, bool, int]:
    return (canonical_json(desired.document), desired.suspended, generation)


def plan_policy(desired: DesiredPolicy, observed: ObservedPolicy, generation: int) -> list[Action]:
    actions: list[Action] = []
    if observed.row != policy_row(desired, generation):
        actions.append(Action("store_policy", desired.key, str(generation)))
    if not observed.group_exists:
        actions.append(Action("create_group", desired.stream, desired.group))
    return actions


def simulate_policy(observed: ObservedPolicy, actions: list[Action],
                    desired: DesiredPolicy) -> ObservedPolicy:
    state = observed
    for a in actions:
        if a.kind == "store_policy":
            state = replace(state, row=policy_row(desired, int(a.extra)))
        elif a.kind == "create_group":
            state = replace(state, group_exists=True)
        elif a.kind == "delete_policy":
            state = replace(state, row=None)
        elif a.kind == "destroy_group":
            state = replace(state, group_exists=False)
    return state


def plan_policy_deletion(desired: DesiredPolicy, observed: ObservedPolicy) -> list[Action]:
    actions = []
    if observed.row is not None:
        actions.append(Action("delete_policy", desired.key))
    if observed.group_exists:
        actions.append(Action("destroy_group", desired.stream, desired.group))
    return actions


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------- Kubernetes objects

def labels(tenant: str, component: str, **extra: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "tenantry",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/component": component,
        "tenantry.dev/tenant": tenant,
        **extra,
    }


def owner_reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION, "kind": kind, "name": name, "uid": uid,
        "controller": True, "blockOwnerDeletion": True,
    }


def postgres_secret_name(tenant: str) -> str:
    return f"tenant-{tenant}-postgres"


def redis_secret_name(tenant: str) -> str:
    return f"tenant-{tenant}-redis"


def configmap_name(tenant: str) -> str:
    return f"tenant-{tenant}"


def bot_deployment_name(tenant: str) -> str:
    return f"tenant-{tenant}-bot"


def worker_deployment_name(policy: str) -> str:
    return f"sync-{policy}"


_SECURITY_POD = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
_SECURITY_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _deployment(*, name: str, namespace: str, labels_: dict[str, str], replicas: int,
                image: str, args: list[str], port: int, backend_secret: str,
                extra_env: list[dict[str, Any]], owner: dict[str, Any]) -> dict[str, Any]:
    selector = {k: labels_[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/component",
                                        "tenantry.dev/tenant")}
    selector["tenantry.dev/workload"] = name
    pod_labels = {**labels_, "tenantry.dev/workload": name}
    env = [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": backend_secret, "key": "DATABASE_URL"}}},
        {"name": "REDIS_URL", "valueFrom": {"secretKeyRef": {"name": backend_secret, "key": "REDIS_URL"}}},
        *extra_env,
    ]
    probe = {"grpc": {"port": port}, "periodSeconds": 10, "failureThreshold": 3}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": pod_labels,
                     "ownerReferences": [owner]},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": _SECURITY_POD,
                    "containers": [{
                        "name": "main",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": args,
                        "env": env,
                        "ports": [{"name": "grpc", "containerPort": port, "protocol": "TCP"}],
                        "readinessProbe": {**probe, "initialDelaySeconds": 2},
                        "livenessProbe": {**probe, "initialDelaySeconds": 10},
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "96Mi"},
                            "limits": {"cpu": "500m", "memory": "256Mi"},
                        },
                        "securityContext": _SECURITY_CONTAINER,
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def tenant_objects(spec: TenantSpec, *, uid: str, namespace: str, image: str = DEFAULT_IMAGE,
                   backend_secret: str = DEFAULT_BACKEND_SECRET) -> list[dict[str, Any]]:
    """The Kubernetes objects a Tenant owns except its credential Secrets (see
    :func:`credential_secret`): the tenant ConfigMap and, with a bot token, the bot."""
    t = spec.name
    owner = owner_reference("Tenant", t, uid)
    apps = list(PLATFORM_TENANT_APPS) + list(spec.apps)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": configmap_name(t), "namespace": namespace,
                     "labels": labels(t, "tenant-config"), "ownerReferences": [owner]},
        "data": {
            "tenant": t,
            "displayName": spec.display_name,
            "apps": ",".join(apps),
            "schemas": ",".join(schema_name(a, t) for a in apps),
            "keyPrefix": key_prefix(t),
            "roleName": role_name(t),
            "limits.json": canonical_json(spec.limits),
            "retentionDays": str(spec.retention_days),
            "deletionPolicy": spec.deletion_policy,
            "postgresSecret": postgres_secret_name(t),
            "redisSecret": redis_secret_name(t),
        },
    }
    objs = [cm]
    if spec.bot_token is not None:
        objs.append(_deployment(
            name=bot_deployment_name(t), namespace=namespace, labels_=labels(t, "bot"),
            replicas=1, image=image, args=["serve", "telegram", "--tenant", t],
            port=BOT_GRPC_PORT, backend_secret=backend_secret, owner=owner,
            extra_env=[
                {"name": "TENANTRY_TENANT", "value": t},
                {"name": "TELEGRAM_BOT_TOKEN", "valueFrom": {"secretKeyRef": {
                    "name": spec.bot_token.name, "key": spec.bot_token.key}}},
            ],
        ))
    return objs


def credential_secret(tenant: str, *, name: str, namespace: str, uid: str | None,
                      data: Mapping[str, str]) -> dict[str, Any]:
    """A credential Secret (``stringData``) owned by the Tenant."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace,
                            "labels": labels(tenant, "credentials")}
    if uid:
        meta["ownerReferences"] = [owner_reference("Tenant", tenant, uid)]
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta,
            "stringData": dict(data)}


def policy_objects(spec: SyncPolicySpec, *, uid: str, image: str = DEFAULT_IMAGE,
                   backend_secret: str = DEFAULT_BACKEND_SECRET) -> list[dict[str, Any]]:
    """The sync-worker Deployment of a SyncPolicy (0 replicas while suspended)."""
    owner = owner_reference("SyncPolicy", spec.name, uid)
    return [_deployment(
        name=worker_deployment_name(spec.name), namespace=spec.namespace,
        labels_=labels(spec.tenant, "sync-worker", **{"tenantry.dev/syncpolicy": spec.name}),
        replicas=spec.effective_replicas, image=image,
        args=["serve", "sync-worker", "--tenant", spec.tenant, "--policy", spec.key],
        port=SYNC_WORKER_GRPC_PORT, backend_secret=backend_secret, owner=owner,
        extra_env=[{"name": "TENANTRY_TENANT", "value": spec.tenant},
                   {"name": "TENANTRY_SYNC_POLICY", "value": spec.key}],
    )]


def is_subset(want: Any, have: Any) -> bool:
    """True when every field of ``want`` is present and equal in ``have`` (lists
    element-wise, same length): the server may add defaults, never change ours."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(
            k in have and is_subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(
            is_subset(w, h) for w, h in zip(want, have, strict=True))
    return bool(want == have)


def managed_view(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a desired object the operator owns (compared for drift)."""
    meta = obj.get("metadata", {})
    view = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind", "stringData")}
    view["metadata"] = {k: meta[k] for k in ("labels", "ownerReferences") if k in meta}
    return view


def needs_update(existing: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """Whether an existing object drifted from the desired one (or is missing)."""
    return existing is None or not is_subset(managed_view(desired), existing)


def merge_patch(existing: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch (what the operator sends to update an object)."""
    out = dict(existing)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merge_patch(out[k], v)
        else:
            out[k] = v
    return out
