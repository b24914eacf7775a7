"""The data plane: observe and change a tenant's PostgreSQL and Redis state.

Every function here performs one idempotent action of a plan
(:mod:`.desired`) or observes the state a plan is computed from. Passwords
never appear in logs, events or exception messages: the PostgreSQL password is
sent as a SCRAM-SHA-256 verifier computed here, so the server never sees it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit import migrations
from services.kit.naming import BUSINESS_APPS, PLATFORM_TENANT_APPS, schema_name

from .desired import Action, DesiredPolicy, DesiredTenant, ObservedPolicy, ObservedTenant


@dataclass
class Backends:
    engine: AsyncEngine
    redis: aioredis.Redis


class SecretStore(Protocol):
    """Where generated credentials live (a Kubernetes Secret, or a local file)."""

    async def ensure(self, name: str, tenant: str, initial: Mapping[str, str]) -> tuple[dict[str, str], bool]:
        """Return (data, created): the stored data, or ``initial`` after storing it."""

    async def forget(self, name: str) -> None:
        """Delete the stored credentials."""


class FileSecretStore:
    """Credentials for ``tenantry apply -f``: one JSON file per secret, mode 0600."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, f"{name}.json")

    async def ensure(self, name: str, tenant: str, initial: Mapping[str, str]) -> tuple[dict[str, str], bool]:
        return await asyncio.to_thread(self._ensure, name, initial)

    def _ensure(self, name: str, initial: Mapping[str, str]) -> tuple[dict[str, str], bool]:
        path = self._path(name)
        if os.path.exists(path):
            with open(path) as fh:
                return json.load(fh), False
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(dict(initial), fh)
        return dict(initial), True

    async def forget(self, name: str) -> None:
        try:
            await asyncio.to_thread(os.remove, self._path(name))
        except FileNotFoundError:
            pass


def new_password() -> str:
    return secrets.token_urlsafe(24)


def scram_verifier(password: str, *, iterations: int = 4096) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier for ``password`` (what pg_authid stores)."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


# Alembic's ``context`` is process-global, so two migrations running at once in one
# process (two tenants reconciled concurrently) corrupt each other. Serialize them
# process-wide; across processes the kit's advisory lock still applies. A thread
# lock (acquired off-loop) works for every event loop: kopf's and apply's.
_MIGRATIONS = threading.Lock()


async def serialized(fn: Callable[[], Awaitable[Any]]) -> Any:
    await asyncio.to_thread(_MIGRATIONS.acquire)
    try:
        return await fn()
    finally:
        _MIGRATIONS.release()


# ------------------------------------------------------------------ observe

async def observe_tenant(b: Backends, desired: DesiredTenant) -> ObservedTenant:
    tenant = desired.tenant
    candidates = {schema_name(a, tenant): a for a in (*PLATFORM_TENANT_APPS, *BUSINESS_APPS)}
    async with b.engine.connect() as conn:
        rows = (await conn.execute(
            text("SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace "
                 "WHERE nspname = ANY(:names)"), {"names": list(candidates)})).all()
        role_exists = (await conn.execute(
            text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": desired.role}
        )).scalar_one() > 0
    schemas: dict[str, str | None] = {}
    role_schemas = set()
    for nsp, owner in rows:
        app = candidates[nsp]
        schemas[app] = await migrations.current_revision(b.engine, app, tenant)
        if owner == desired.role:
            role_schemas.add(nsp)
    groups = set()
    for stream in sorted({s for s, _ in desired.groups}):
        groups |= {(stream, g) for g in await stream_groups(b.redis, stream)}
    acl = await b.redis.execute_command("ACL", "GETUSER", desired.acl_user)
    has_keys = bool(groups) or await _any_key(b.redis, desired.key_prefix)
    return ObservedTenant(
        schemas=schemas, role_exists=role_exists, role_schemas=frozenset(role_schemas),
        groups=frozenset(groups), acl_user_exists=acl is not None, has_keys=has_keys,
    )


async def stream_groups(r: aioredis.Redis, stream: str) -> set[str]:
    try:
        info = await r.xinfo_groups(stream)
    except ResponseError:  # no such key
        return set()
    return {_s(g["name"]) for g in info}


async def _any_key(r: aioredis.Redis, prefix: str) -> bool:
    cursor = 0
    while True:
        cursor, keys = await r.scan(cursor=cursor, match=prefix + "*", count=500)
        if keys:
            return True
        if cursor == 0:
            return False


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


# ------------------------------------------------------------------ perform

class CredentialError(RuntimeError):
    """Setting a password failed (the message never contains the password)."""


async def perform(b: Backends, desired: DesiredTenant, action: Action, *,
                  pg_password: str | None = None, redis_password: str | None = None) -> str | None:
    """Perform one action; return the schema revision reached for ``migrate``."""
    kind = action.kind
    if kind == "migrate":
        return await serialized(lambda: migrations.migrate(b.engine, action.extra, desired.tenant))
    if kind == "drop_schema":
        await serialized(lambda: migrations.drop_schema(b.engine, action.extra, desired.tenant))
    elif kind == "create_role":
        assert pg_password is not None
        await create_role(b.engine, desired.role, pg_password)
    elif kind == "own_schema":
        await own_schema(b.engine, action.target, action.extra)
    elif kind == "drop_role":
        async with b.engine.begin() as conn:
            exists = (await conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname=:r"),
                                         {"r": action.target})).scalar_one()
            if exists:
                await conn.execute(text(f"DROP OWNED BY {_q(action.target)}"))
                await conn.execute(text(f"DROP ROLE IF EXISTS {_q(action.target)}"))
    elif kind == "create_group":
        await create_group(b.redis, action.target, action.extra, start="0")
    elif kind == "destroy_group":
        try:
            await b.redis.xgroup_destroy(action.target, action.extra)
        except ResponseError:
            pass
    elif kind == "create_acl_user":
        assert redis_password is not None
        await set_acl_user(b.redis, action.target, action.extra, redis_password)
    elif kind == "delete_acl_user":
        await b.redis.execute_command("ACL", "DELUSER", action.target)
    elif kind == "delete_keys":
        await delete_keys(b.redis, action.target)
    else:  # pragma: no cover
        raise ValueError(f"unknown action {kind}")
    return None


async def create_role(engine: AsyncEngine, role: str, password: str) -> None:
    verifier = scram_verifier(password)
    try:
        async with engine.begin() as conn:
            exists = (await conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname=:r"),
                                         {"r": role})).scalar_one()
            verb = "ALTER" if exists else "CREATE"
            # exec_driver_sql: the verifier's ':' must not be read as a bind parameter.
            await conn.exec_driver_sql(
                f"{verb} ROLE {_q(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
                f"PASSWORD '{verifier}'")
    except Exception as exc:  # never let the statement (with the verifier) reach a log
        raise CredentialError(f"could not create role {role}: {type(exc).__name__}") from None


async def set_role_password(engine: AsyncEngine, role: str, password: str) -> None:
    verifier = scram_verifier(password)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"ALTER ROLE {_q(role)} PASSWORD '{verifier}'")
    except Exception as exc:
        raise CredentialError(f"could not set the password of role {role}: "
                              f"{type(exc).__name__}") from None


async def own_schema(engine: AsyncEngine, role: str, schema: str) -> None:
    """Make ``role`` the owner of ``schema`` with every privilege in it; revoke PUBLIC."""
    r, s = _q(role), _q(schema)
    async with engine.begin() as conn:
        for sql in (
            f"ALTER SCHEMA {s} OWNER TO {r}",
            f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC",
            f"GRANT ALL ON ALL TABLES IN SCHEMA {s} TO {r}",
            f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
            f"GRANT ALL ON ALL FUNCTIONS IN SCHEMA {s} TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT ALL ON TABLES TO {r}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT ALL ON SEQUENCES TO {r}",
        ):
            await conn.execute(text(sql))


async def create_group(r: aioredis.Redis, stream: str, group: str, *, start: str) -> bool:
    """XGROUP CREATE ... MKSTREAM; False when it already existed (BUSYGROUP)."""
    try:
        await r.xgroup_create(stream, group, id=start, mkstream=True)
        return True
    except ResponseError as exc:
        if "BUSYGROUP" in str(exc):
            return False
        raise


def acl_rules(prefix: str, password: str) -> list[str]:
    """Least privilege: only the tenant's keys and channels, no dangerous/admin commands."""
    # "resetchannels": Redis 6.2's reset leaves allchannels on (acl-pubsub-default),
    # and then refuses a channel pattern; Redis 7 starts from none anyway.
    return ["reset", "resetchannels", "on", f">{password}", f"~{prefix}*", f"&{prefix}*",
            "+@all", "-@dangerous", "-@admin", "-select", "-flushdb", "-flushall"]


async def set_acl_user(r: aioredis.Redis, user: str, prefix: str, password: str) -> None:
    try:
        await r.execute_command("ACL", "SETUSER", user, *acl_rules(prefix, password))
    except ResponseError as exc:
        raise CredentialError(f"could not set Redis ACL user {user}: "
                              f"{str(exc).split(password)[0][:80]}") from None


async def set_acl_password(r: aioredis.Redis, user: str, password: str) -> None:
    await r.execute_command("ACL", "SETUSER", user, "resetpass", f">{password}")


async def delete_keys(r: aioredis.Redis, prefix: str) -> int:
    """UNLINK every key under ``prefix`` (SCAN, never KEYS/FLUSH); return how many."""
    n = 0
    cursor = 0
    while True:
        cursor, keys = await r.scan(cursor=cursor, match=prefix + "*", count=500)
        if keys:
            n += await r.unlink(*keys)
        if cursor == 0:
            return n


# ------------------------------------------------------------------ sync policies

class PolicyStoreMissing(RuntimeError):
    """The tenant's moderation schema or its sync_policies table is not there (yet)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def _table_exists(conn: Any, schema: str, table: str) -> bool:
    return bool((await conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"),
                                    {"t": f"{_q(schema)}.{table}"})).scalar_one())


async def observe_policy(b: Backends, desired: DesiredPolicy) -> ObservedPolicy:
    async with b.engine.connect() as conn:
        if not (await conn.execute(text("SELECT to_regnamespace(:s) IS NOT NULL"),
                                   {"s": desired.schema})).scalar_one():
            raise PolicyStoreMissing("ModerationSchemaMissing",
                                     f"schema {desired.schema} does not exist (yet)")
        if not await _table_exists(conn, desired.schema, "sync_policies"):
            raise PolicyStoreMissing("PolicyTableMissing",
                                     f"table {desired.schema}.sync_policies does not exist (yet)")
        row = (await conn.execute(
            text(f"SELECT spec, suspended, generation FROM {_q(desired.schema)}.sync_policies "
                 "WHERE name = :n"), {"n": desired.key})).first()
    observed_row = None
    if row is not None:
        spec = row[0] if not isinstance(row[0], str) else json.loads(row[0])
        observed_row = (json.dumps(spec, sort_keys=True, separators=(",", ":")),
                        bool(row[1]), int(row[2]))
    group = desired.group in await stream_groups(b.redis, desired.stream)
    return ObservedPolicy(row=observed_row, group_exists=group)


async def perform_policy(b: Backends, desired: DesiredPolicy, action: Action) -> None:
    if action.kind == "store_policy":
        async with b.engine.begin() as conn:
            await conn.execute(text(
                f"INSERT INTO {_q(desired.schema)}.sync_policies "
                "(name, spec, generation, suspended, updated_at) "
                "VALUES (:n, CAST(:spec AS JSONB), :g, :s, now()) "
                "ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, "
                "generation = EXCLUDED.generation, suspended = EXCLUDED.suspended, "
                "updated_at = now()"),
                {"n": desired.key, "spec": json.dumps(dict(desired.document)),
                 "g": int(action.extra), "s": desired.suspended})
    elif action.kind == "create_group":
        # A new policy applies to bans from now on ("$"), never to the stream's history.
        await create_group(b.redis, desired.stream, desired.group, start="$")
    elif action.kind == "delete_policy":
        async with b.engine.begin() as conn:
            if await _table_exists(conn, desired.schema, "sync_policies"):
                await conn.execute(text(f"DELETE FROM {_q(desired.schema)}.sync_policies "
                                        "WHERE name = :n"), {"n": desired.key})
    elif action.kind == "destroy_group":
        try:
            await b.redis.xgroup_destroy(desired.stream, desired.group)
        except ResponseError:
            pass


async def observe_policy_for_deletion(b: Backends, desired: DesiredPolicy) -> ObservedPolicy:
    try:
        return await observe_policy(b, desired)
    except PolicyStoreMissing:
        group = desired.group in await stream_groups(b.redis, desired.stream)
        return ObservedPolicy(row=None, group_exists=group)


@dataclass(frozen=True)
class PolicyStats:
    lag: int = 0
    pending: int = 0
    synced: int = 0
    failed: int = 0
    last_sync: datetime | None = None
    group_exists: bool = False


async def group_lag(r: aioredis.Redis, stream: str, group: str) -> tuple[int, int, bool]:
    """(lag, pending, exists) of a consumer group: XINFO GROUPS' ``lag`` (Redis >= 7),
    else the entries after the group's last-delivered-id (Redis 6.2)."""
    try:
        groups = await r.xinfo_groups(stream)
    except ResponseError:
        return 0, 0, False
    for g in groups:
        if _s(g["name"]) != group:
            continue
        pending = int(g.get("pending") or 0)
        lag = g.get("lag")
        if lag is None:
            last = _s(g.get("last-delivered-id") or "0-0")
            entries = await r.xrange(stream, min=f"({last}", max="+", count=100000)
            lag = len(entries)
        return int(lag), pending, True
    return 0, 0, False


async def policy_stats(b: Backends, desired: DesiredPolicy) -> PolicyStats:
    lag, pending, exists = await group_lag(b.redis, desired.stream, desired.group)
    synced = failed = 0
    last = None
    async with b.engine.connect() as conn:
        if await _table_exists(conn, desired.schema, "sync_logs"):
            cols = set((await conn.execute(text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = 'sync_logs'"),
                {"s": desired.schema})).scalars())
            where = "WHERE policy = :p" if "policy" in cols else ""
            row = (await conn.execute(text(
                "SELECT count(*) FILTER (WHERE status = 'success'), "
                "count(*) FILTER (WHERE status = 'failed'), max(completed_at) "
                f"FROM {_q(desired.schema)}.sync_logs {where}"), {"p": desired.key})).one()
            synced, failed, last = int(row[0]), int(row[1]), row[2]
    return PolicyStats(lag=lag, pending=pending, synced=synced, failed=failed,
                       last_sync=last, group_exists=exists)
