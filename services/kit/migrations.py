"""Alembic migrations per schema, under a PostgreSQL advisory lock, idempotently.

One Alembic script environment (``services/kit/alembic``) serves every app; each
run points ``version_locations`` at the app's own directory and pins
``search_path`` (and the version table) to the target schema, so the same
revision files build every tenant's schema. Two processes migrating the same
schema serialise on ``pg_advisory_lock``; running again at head does nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from .apps import App, get_app

log = structlog.get_logger("tenantry.migrations")

_SCRIPT_LOCATION = str(Path(__file__).parent / "alembic")


def _config(app: App, schema: str, connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    cfg.set_main_option("version_locations", str(app.migrations))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    cfg.attributes["app"] = app.name
    return cfg


def head_revision(app_name: str) -> str | None:
    """The head revision(s) of an app's migrations, comma-joined (None when it has none).

    An app's areas may branch from a common base revision; each branch is a head
    and ``upgrade heads`` brings all of them up.
    """
    app = get_app(app_name)
    cfg = Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    cfg.set_main_option("version_locations", str(app.migrations))
    cfg.set_main_option("path_separator", "os")
    heads = ScriptDirectory.from_config(cfg).get_heads()
    return ",".join(sorted(heads)) or None


def _current(connection: Connection, schema: str) -> str | None:
    ctx = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return ",".join(sorted(ctx.get_current_heads())) or None


def _upgrade(connection: Connection, app: App, schema: str) -> str | None:
    # Session-level advisory lock: held across the DDL of every revision, released
    # explicitly below (or when the connection closes if we crash).
    key = f"tenantry:migrate:{schema}"
    connection.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": key})
    try:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}"'))
        connection.commit()
        command.upgrade(_config(app, schema, connection), "heads")
        connection.commit()
        return _current(connection, schema)
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
        connection.execute(text("SET search_path TO DEFAULT"))
        connection.commit()


_process_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _process_lock() -> asyncio.Lock:
    # Alembic keeps its migration context in module globals, so two migrations on
    # one event loop (they interleave at every await of asyncpg) would share it.
    # The advisory lock serialises processes; this serialises coroutines.
    loop = asyncio.get_running_loop()
    lock = _process_locks.get(loop)
    if lock is None:
        lock = _process_locks[loop] = asyncio.Lock()
    return lock


async def migrate(engine: AsyncEngine, app_name: str, tenant: str | None = None) -> str | None:
    """Bring ``app_name``'s schema for ``tenant`` to its heads; return the revision(s) reached."""
    app = get_app(app_name)
    schema = app.schema(tenant)
    async with _process_lock(), engine.connect() as conn:
        revision = await conn.run_sync(_upgrade, app, schema)
    log.info("migrated", app=app_name, tenant=tenant, schema=schema, revision=revision)
    return revision


async def current_revision(engine: AsyncEngine, app_name: str, tenant: str | None = None) -> str | None:
    """The revision a schema is at now (None if never migrated)."""
    schema = get_app(app_name).schema(tenant)
    async with engine.connect() as conn:
        exists = (await conn.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f'"{schema}".alembic_version'}
        )).scalar_one()
        if not exists:
            return None
        return await conn.run_sync(_current, schema)


async def drop_schema(engine: AsyncEngine, app_name: str, tenant: str) -> None:
    """Drop a tenant's app schema and everything in it (deletion policy Delete)."""
    schema = get_app(app_name).schema(tenant)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    log.info("schema_dropped", app=app_name, tenant=tenant, schema=schema)
