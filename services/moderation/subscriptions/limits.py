"""The tenant's limit of active subscriptions per admin (``subscriptionsPerAdmin``).

The limit lives in the identity tenant registry (``identity.tenants.limits``
JSONB, written by the operator from the Tenant resource). We use the
registry's own reader when the identity service provides it, and otherwise
read the table directly; a missing table, tenant, key or a nonsense value
falls back to the seed's 100.
"""

from __future__ import annotations

import importlib
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .models import DEFAULT_LIMIT_PER_ADMIN

log = structlog.get_logger("tenantry.moderation.limits")

LIMIT_KEY = "subscriptionsPerAdmin"


def limit_from(limits: dict[str, Any] | None) -> int:
    """``subscriptionsPerAdmin`` of a limits document, or the default when absent or invalid."""
    value = (limits or {}).get(LIMIT_KEY)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return DEFAULT_LIMIT_PER_ADMIN
    return int(value)


async def read_registry_limits(session: AsyncSession, tenant: str,
                               *, schema: str = "identity") -> dict[str, Any] | None:
    """``<schema>.tenants.limits`` of ``tenant`` on the caller's session (None if absent)."""
    exists = (await session.execute(text("SELECT to_regclass(:t) IS NOT NULL"),
                                    {"t": f'"{schema}".tenants'})).scalar_one()
    if not exists:
        return None
    row = (await session.execute(
        text(f'SELECT limits FROM "{schema}".tenants WHERE name = :n'), {"n": tenant})).first()
    return dict(row.limits or {}) if row else None


async def tenant_subscription_limit(session: AsyncSession, tenant: str,
                                    *, schema: str = "identity") -> int:
    """The active-subscriptions-per-admin limit of ``tenant``."""
    registry = _registry_reader() if schema == "identity" else None
    if registry is not None:
        try:
            engine = session.bind
            assert isinstance(engine, AsyncEngine)
            return limit_from(await registry(engine, tenant))
        except Exception as err:  # the registry is new code; never let it block subscriptions
            log.warning("tenant_limits_unavailable", tenant=tenant, error=type(err).__name__)
    return limit_from(await read_registry_limits(session, tenant, schema=schema))


def _registry_reader() -> Any:
    try:
        module = importlib.import_module("services.identity.registry")
    except ImportError:
        return None
    return getattr(module, "get_tenant_limits", None)
