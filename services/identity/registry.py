"""The tenant registry (identity schema): what tenants exist, their apps and limits.

Written by the operator and ``tenantry apply`` when they reconcile a Tenant;
read by services for per-tenant limits and retention.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.migrations import migrate
from services.kit.naming import IDENTITY_SCHEMA, validate_tenant

DEFAULT_RETENTION_DAYS = 365


@dataclass(frozen=True)
class TenantRecord:
    """A registered tenant."""

    name: str
    display_name: str
    apps: list[str]
    limits: dict[str, Any] = field(default_factory=dict)
    retention_days: int = DEFAULT_RETENTION_DAYS


async def ensure_identity_schema(engine: AsyncEngine) -> str | None:
    """Migrate the identity schema to head (idempotent, advisory-locked)."""
    return await migrate(engine, "identity")


async def register_tenant(engine: AsyncEngine, *, name: str, display_name: str, apps: list[str],
                          limits: dict[str, Any], retention_days: int) -> None:
    """Insert or update a tenant (idempotent)."""
    validate_tenant(name)
    async with engine.begin() as conn:
        await conn.execute(text(
            f'INSERT INTO "{IDENTITY_SCHEMA}".tenants '
            "(name, display_name, apps, limits, retention_days) "
            "VALUES (:n, :d, :a, CAST(:l AS jsonb), :r) "
            "ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name, "
            "apps = EXCLUDED.apps, limits = EXCLUDED.limits, "
            "retention_days = EXCLUDED.retention_days, updated_at = now() "
            "WHERE (tenants.display_name, tenants.apps, tenants.limits, tenants.retention_days) "
            "IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.apps, EXCLUDED.limits, "
            "EXCLUDED.retention_days)"
        ), {"n": name, "d": display_name, "a": sorted(apps), "l": json.dumps(limits, sort_keys=True),
            "r": retention_days})
    _cache.pop(name, None)


async def unregister_tenant(engine: AsyncEngine, name: str) -> None:
    """Remove a tenant and its memberships (users stay: they are platform accounts)."""
    async with engine.begin() as conn:
        await conn.execute(text(f'DELETE FROM "{IDENTITY_SCHEMA}".tenants WHERE name = :n'),
                           {"n": name})
    _cache.pop(name, None)


_cache: dict[str, tuple[float, TenantRecord | None]] = {}
_inflight: dict[str, asyncio.Future[TenantRecord | None]] = {}
_TTL = 30.0


async def get_tenant(engine: AsyncEngine, name: str) -> TenantRecord | None:
    """The registered tenant, or None; cached for 30 s per process.

    Concurrent misses for one tenant share a single query (no stampede on the
    pool when the entry expires under load).
    """
    hit = _cache.get(name)
    if hit is not None and time.monotonic() - hit[0] < _TTL:
        return hit[1]
    pending = _inflight.get(name)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[TenantRecord | None] = asyncio.get_running_loop().create_future()
    _inflight[name] = future
    try:
        record = await _load_tenant(engine, name)
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved here, so an unawaited failure is not reported twice
        raise
    else:
        future.set_result(record)
        return record
    finally:
        _inflight.pop(name, None)


async def _load_tenant(engine: AsyncEngine, name: str) -> TenantRecord | None:
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            f'SELECT name, display_name, apps, limits, retention_days FROM "{IDENTITY_SCHEMA}".tenants '
            "WHERE name = :n"), {"n": name})).first()
    record = None if row is None else TenantRecord(
        row.name, row.display_name, list(row.apps), dict(row.limits), int(row.retention_days))
    _cache[name] = (time.monotonic(), record)
    return record


async def get_tenant_limits(engine: AsyncEngine, name: str) -> dict[str, Any]:
    """The tenant's limits (empty when unknown: callers apply their defaults)."""
    record = await get_tenant(engine, name)
    return dict(record.limits) if record else {}
