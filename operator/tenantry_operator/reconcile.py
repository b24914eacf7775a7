"""The reconcile steps both drivers share (kopf handlers and ``tenantry apply -f``).

Each step observes, plans (pure, :mod:`.desired`) and performs, reporting every
action through ``emit(reason, message)`` -- a Kubernetes Event in the operator,
a printed line locally -- and returns condition results instead of raising, so
one failing part (say, Redis) still lets the other (PostgreSQL) converge and
the status says exactly which is not ready and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.kit.migrations import head_revision
from services.kit.naming import BUSINESS_APPS, PLATFORM_TENANT_APPS

from . import backends
from .backends import Backends, SecretStore
from .desired import (
    DesiredTenant,
    desired_policy,
    desired_tenant,
    plan_policy,
    plan_policy_deletion,
    plan_tenant,
    plan_tenant_deletion,
    postgres_secret_name,
    redis_secret_name,
)
from .spec import SyncPolicySpec, TenantSpec

log = logging.getLogger("tenantry.operator")

Emit = Callable[[str, str], None]

SCHEMA_ACTIONS = {"migrate", "drop_schema", "create_role", "own_schema", "drop_role"}
QUEUE_ACTIONS = {"create_group", "destroy_group", "create_acl_user", "delete_acl_user", "delete_keys"}


@dataclass
class Condition:
    type: str
    ok: bool
    reason: str
    message: str


@dataclass
class TenantDataResult:
    conditions: list[Condition] = field(default_factory=list)
    revisions: dict[str, str | None] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


def heads() -> dict[str, str | None]:
    return {app: head_revision(app) for app in (*PLATFORM_TENANT_APPS, *BUSINESS_APPS)}


def _registry() -> Any:
    try:
        from services.identity import registry  # written by the platform lead
    except ImportError:
        return None
    return registry


def _short(exc: BaseException) -> str:
    msg = str(exc).split("\n")[0]
    return f"{type(exc).__name__}: {msg}"[:300]


async def reconcile_tenant_data(b: Backends, spec: TenantSpec, store: SecretStore,
                                emit: Emit) -> TenantDataResult:
    """Schemas at head, the role, streams, groups and the ACL user of a tenant."""
    result = TenantDataResult()
    desired = desired_tenant(spec, heads())
    observed = await backends.observe_tenant(b, desired)
    actions = plan_tenant(desired, observed)
    result.revisions = {a: r for a, r in observed.schemas.items() if a in desired.schemas}

    # Credentials first: generated once, kept in the store, never logged.
    pg, pg_fresh = await store.ensure(postgres_secret_name(spec.name), spec.name, {
        "username": desired.role, "password": backends.new_password(),
    })
    rd, rd_fresh = await store.ensure(redis_secret_name(spec.name), spec.name, {
        "username": desired.acl_user, "password": backends.new_password(),
        "keyPrefix": desired.key_prefix,
    })
    if pg_fresh:
        emit("CredentialsCreated", f"stored PostgreSQL credentials for role {desired.role}")
    if rd_fresh:
        emit("CredentialsCreated", f"stored Redis credentials for ACL user {desired.acl_user}")

    # ---- PostgreSQL: schemas, role, registry
    try:
        for action in [a for a in actions if a.kind in SCHEMA_ACTIONS]:
            rev = await backends.perform(b, desired, action, pg_password=pg["password"])
            if action.kind == "migrate":
                result.revisions[action.extra] = rev
            result.actions.append(action.describe())
            emit(_reason(action.kind), action.describe())
        if pg_fresh and observed.role_exists:
            await backends.set_role_password(b.engine, desired.role, pg["password"])
            emit("PasswordReset", f"reset the password of role {desired.role} (new Secret)")
        registry = _registry()
        if registry is not None:
            await backends.serialized(lambda: registry.ensure_identity_schema(b.engine))
            await registry.register_tenant(
                b.engine, name=spec.name, display_name=spec.display_name,
                apps=list(spec.apps), limits=spec.limits, retention_days=spec.retention_days)
        pending = [a for a in desired.apps if result.revisions.get(a) != desired.heads[a]]
        if pending:
            result.conditions.append(Condition("SchemaReady", False, "MigrationsPending",
                                               f"not at head: {', '.join(pending)}"))
        else:
            result.conditions.append(Condition(
                "SchemaReady", True, "AtHead",
                f"{len(desired.apps)} schemas at head, owned by role {desired.role}"))
    except Exception as exc:
        log.warning("tenant %s: schema step failed: %s", spec.name, _short(exc))
        emit("SchemaFailed", _short(exc))
        result.conditions.append(Condition("SchemaReady", False, "SchemaFailed", _short(exc)))

    # ---- Redis: streams, consumer groups, ACL user
    try:
        for action in [a for a in actions if a.kind in QUEUE_ACTIONS]:
            await backends.perform(b, desired, action, redis_password=rd["password"])
            result.actions.append(action.describe())
            emit(_reason(action.kind), action.describe())
        if rd_fresh and observed.acl_user_exists:
            await backends.set_acl_password(b.redis, desired.acl_user, rd["password"])
            emit("PasswordReset", f"reset the password of Redis user {desired.acl_user}")
        result.conditions.append(Condition(
            "QueuesReady", True, "GroupsReady",
            f"{len(desired.groups)} consumer groups on {len({s for s, _ in desired.groups})} "
            f"streams; ACL user {desired.acl_user} limited to {desired.key_prefix}*"))
    except Exception as exc:
        log.warning("tenant %s: queue step failed: %s", spec.name, _short(exc))
        emit("QueuesFailed", _short(exc))
        result.conditions.append(Condition("QueuesReady", False, "QueuesFailed", _short(exc)))
    return result


def _reason(kind: str) -> str:
    return {
        "migrate": "SchemaMigrated", "drop_schema": "SchemaDropped", "create_role": "RoleCreated",
        "own_schema": "SchemaGranted", "drop_role": "RoleDropped",
        "create_group": "ConsumerGroupCreated", "destroy_group": "ConsumerGroupDestroyed",
        "create_acl_user": "AclUserCreated", "delete_acl_user": "AclUserDeleted",
        "delete_keys": "KeysDeleted", "store_policy": "PolicyStored",
        "delete_policy": "PolicyDeleted",
    }.get(kind, kind)


async def delete_tenant_data(b: Backends, spec: TenantSpec, store: SecretStore,
                             emit: Emit) -> list[str]:
    """Tenant deletion: Retain keeps schemas, role, streams and credentials; Delete drops
    them. Either way the tenant leaves the registry. Raises on failure (retried)."""
    desired: DesiredTenant = desired_tenant(spec, heads())
    observed = await backends.observe_tenant(b, desired)
    done = []
    for action in plan_tenant_deletion(desired, observed):
        await backends.perform(b, desired, action)
        done.append(action.describe())
        emit(_reason(action.kind), action.describe())
    if spec.deletion_policy == "Delete":
        await store.forget(postgres_secret_name(spec.name))
        await store.forget(redis_secret_name(spec.name))
    else:
        done.append(f"retained schemas, role {desired.role} and keys {desired.key_prefix}*")
        emit("DataRetained", done[-1])
    registry = _registry()
    if registry is not None:
        await backends.serialized(lambda: registry.ensure_identity_schema(b.engine))
        await registry.unregister_tenant(b.engine, spec.name)
    return done


async def reconcile_policy_data(b: Backends, spec: SyncPolicySpec, generation: int,
                                emit: Emit) -> list[str]:
    """Store the policy for the sync engine and create its consumer group.
    Raises backends.PolicyStoreMissing when the moderation schema/table is missing."""
    desired = desired_policy(spec)
    observed = await backends.observe_policy(b, desired)
    done = []
    for action in plan_policy(desired, observed, generation):
        await backends.perform_policy(b, desired, action)
        line = (f"stored sync policy {desired.key} (generation {generation}) in {desired.schema}"
                if action.kind == "store_policy" else
                f"created consumer group {desired.group} on {desired.stream}")
        done.append(line)
        emit(_reason(action.kind), line)
    return done


async def delete_policy_data(b: Backends, spec: SyncPolicySpec, emit: Emit) -> list[str]:
    desired = desired_policy(spec)
    observed = await backends.observe_policy_for_deletion(b, desired)
    done = []
    for action in plan_policy_deletion(desired, observed):
        await backends.perform_policy(b, desired, action)
        line = (f"deleted sync policy {desired.key}" if action.kind == "delete_policy"
                else f"destroyed consumer group {desired.group}")
        done.append(line)
        emit(_reason(action.kind), line)
    return done
