"""Which tenants exist, as seen from the database (the schemas are the truth)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


def tenant_of_schema(schema: str, app: str) -> str | None:
    """Invert :func:`services.kit.naming.schema_name` (tenant names hold no '_')."""
    suffix = f"__{app}"
    if not schema.startswith("t_") or not schema.endswith(suffix):
        return None
    return schema[2:-len(suffix)].replace("_", "-")


async def tenants_with_app(engine: AsyncEngine, app: str) -> list[str]:
    """Tenants that have a schema for ``app``, sorted."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
            {"p": f"t\\_%\\_\\_{app}"},
        )).scalars().all()
    return sorted(t for s in rows if (t := tenant_of_schema(s, app)))


DEFAULT_RETENTION_DAYS = 365


async def retention_seconds(engine: AsyncEngine, tenant: str) -> int:
    """The tenant's retention (the Tenant's ``retention``, default 365 days), in seconds."""
    async with engine.connect() as conn:
        # A deployment without the identity app has no registry: the default applies. (A
        # to_regclass() test in the same statement does not help: a missing table fails
        # the statement when it is parsed.)
        if not (await conn.execute(text("SELECT to_regclass('identity.tenants') IS NOT NULL"))
                ).scalar_one():
            return DEFAULT_RETENTION_DAYS * 86400
        days = (await conn.execute(
            text("SELECT retention_days FROM identity.tenants WHERE name = :n"), {"n": tenant},
        )).scalar_one_or_none()
    return int(days or DEFAULT_RETENTION_DAYS) * 86400
