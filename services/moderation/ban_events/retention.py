"""Retention: events older than the tenant's retention move to ``ban_events_archive``.

Rows are moved (DELETE ... RETURNING into INSERT, one statement per batch, each
batch its own transaction), never silently deleted, so a long backlog never
holds one huge transaction and a crash loses nothing: a batch is either moved
whole or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kit.naming import schema_name
from services.kit.tenants import tenants_with_app

log = structlog.get_logger("tenantry.moderation.retention")

APP = "moderation"
DEFAULT_RETENTION_DAYS = 365
_COLS = ("id, event_id, user_id, chat_id, event_type, ban_duration, reason, initiator_user_id, "
         "event_timestamp, created_at, metadata")


async def archive_expired(engine: AsyncEngine, tenant: str, retention_days: int, batch: int = 5000) -> int:
    """Move ``tenant``'s events older than ``retention_days`` into the archive; return how many moved."""
    if retention_days < 1 or batch < 1:
        raise ValueError("retention_days and batch must be positive")
    schema = schema_name(APP, tenant)
    # A live row whose event_id the archive already holds is a copy of an archived event
    # (written before dedupe looked at the archive): the archive keeps the original, the
    # copy is dropped, counted and logged, instead of the unique index stopping retention.
    statement = text(f"""
        WITH moved AS (
            DELETE FROM "{schema}".ban_events WHERE id IN (
                SELECT id FROM "{schema}".ban_events
                WHERE event_timestamp < now() - make_interval(days => :days)
                ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED)
            RETURNING {_COLS}),
        archived AS (
            INSERT INTO "{schema}".ban_events_archive ({_COLS}, archived_at)
            SELECT {_COLS}, now() FROM moved
            ON CONFLICT DO NOTHING RETURNING 1)
        SELECT (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM archived) AS archived""")
    total = copies = 0
    while True:
        async with engine.begin() as conn:
            row = (await conn.execute(statement, {"days": retention_days, "batch": batch})).one()
        total += row.archived
        copies += row.moved - row.archived
        if row.moved < batch:
            break
    if copies:
        log.warning("ban_events_archived_copies_dropped", tenant=tenant, count=copies)
    if total:
        log.info("ban_events_archived", tenant=tenant, count=total, retention_days=retention_days)
    return total


async def retention_days_of(engine: AsyncEngine, tenant: str) -> int:
    """The tenant's retention from the registry; 365 days when unknown or unavailable."""
    try:
        from services.identity.registry import get_tenant
    except ImportError:  # the registry is optional for this app
        return DEFAULT_RETENTION_DAYS
    try:
        record: Any = await get_tenant(engine, tenant)
    except Exception:  # no identity schema yet (dev runner, tests): fall back
        return DEFAULT_RETENTION_DAYS
    days = getattr(record, "retention_days", None) if record is not None else None
    return int(days) if days and int(days) > 0 else DEFAULT_RETENTION_DAYS


async def archive_all(engine: AsyncEngine) -> int:
    """One archiving pass over every tenant with the moderation app."""
    total = 0
    for tenant in await tenants_with_app(engine, APP):
        try:
            total += await archive_expired(engine, tenant, await retention_days_of(engine, tenant))
        except Exception:
            log.exception("ban_events_archive_failed", tenant=tenant)
    return total


def retention_loop(engine: AsyncEngine, interval_seconds: float = 3600.0) -> Callable[[asyncio.Event], Awaitable[None]]:
    """A background task (``rt.background``) archiving every ``interval_seconds`` until stopped."""
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await archive_all(engine)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
    return run
