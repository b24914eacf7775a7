"""Assertions on the real PostgreSQL and Redis state of a tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from services.kit.bus.topics import TOPIC_GROUPS
from services.kit.naming import redis_acl_user, role_name, schema_name, stream_key

SYNC_POLICIES_DDL = (
    'CREATE TABLE IF NOT EXISTS "{schema}".sync_policies ('
    "name TEXT PRIMARY KEY, spec JSONB NOT NULL, generation BIGINT NOT NULL, "
    "suspended BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)


async def schemas(engine: Any, tenant: str) -> dict[str, str]:
    """schema -> owner, for the tenant's schemas."""
    prefix = schema_name("x", tenant)[: -len("x")]
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace "
            "WHERE starts_with(nspname, :p)"), {"p": prefix})).all()
    return dict(rows)


async def role_exists(engine: Any, tenant: str) -> bool:
    async with engine.connect() as conn:
        return bool((await conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname=:r"),
                                        {"r": role_name(tenant)})).scalar_one())


async def public_usage(engine: Any, schema: str) -> bool:
    async with engine.connect() as conn:
        return bool((await conn.execute(text(
            "SELECT has_schema_privilege('public', :s, 'USAGE')"), {"s": schema})).scalar_one())


def migrations_create_sync_policies() -> bool:
    """Whether the moderation app's migrations create ``sync_policies`` themselves."""
    from services.kit.apps import get_app

    folder = get_app("moderation").migrations
    return any("sync_policies" in f.read_text() for f in folder.glob("*.py"))


async def ensure_sync_policies_table(engine: Any, tenant: str) -> None:
    """The moderation app's migrations own this table; create it if they do not (yet)."""
    if migrations_create_sync_policies():
        return
    async with engine.begin() as conn:
        await conn.execute(text(SYNC_POLICIES_DDL.format(schema=schema_name("moderation", tenant))))


async def groups(redis: Any, tenant: str) -> set[tuple[str, str]]:
    out = set()
    for topic in TOPIC_GROUPS:
        key = stream_key(tenant, topic)
        if await redis.exists(key):
            for g in await redis.xinfo_groups(key):
                name = g["name"]
                out.add((topic, name.decode() if isinstance(name, bytes) else name))
    return out


def expected_groups() -> set[tuple[str, str]]:
    return {(t, g) for t, gs in TOPIC_GROUPS.items() for g in gs}


async def acl_user(redis: Any, tenant: str) -> Any:
    return await redis.execute_command("ACL", "GETUSER", redis_acl_user(tenant))


async def keys(redis: Any, tenant: str) -> list[bytes]:
    return [k async for k in redis.scan_iter(match=f"t:{tenant}:*", count=500)]


async def purge(engine: Any, redis: Any, tenant: str) -> None:
    """Remove whatever a Retain test left behind (shared servers)."""
    async with engine.begin() as conn:
        for schema in await schemas(engine, tenant):
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if await role_exists(engine, tenant):
            await conn.execute(text(f'DROP OWNED BY "{role_name(tenant)}"'))
            await conn.execute(text(f'DROP ROLE "{role_name(tenant)}"'))
    await redis.execute_command("ACL", "DELUSER", redis_acl_user(tenant))
    for k in await keys(redis, tenant):
        await redis.unlink(k)
