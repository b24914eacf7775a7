"""Retention: expired ban events move to ban_events_archive in batches; nothing is deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from services.kit.context import Principal
from services.kit.db import Database
from services.kit.migrations import migrate
from services.kit.naming import schema_name
from services.moderation.ban_events.model import BanEventInput
from services.moderation.ban_events.retention import archive_all, archive_expired, retention_days_of
from services.moderation.ban_events.service import BanEvents


async def _counts(engine, tenant: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    s = schema_name("moderation", tenant)
    async with engine.connect() as conn:
        live = (await conn.execute(text(f'SELECT count(*) FROM "{s}".ban_events'))).scalar_one()
        archived = (await conn.execute(text(f'SELECT count(*) FROM "{s}".ban_events_archive'))).scalar_one()
    return live, archived


async def test_archive_moves_only_expired_rows_in_batches(engine, tenant_name):
    await migrate(engine, "moderation", tenant_name)
    events = BanEvents(Database(engine))
    mod = Principal("u", tenant_name, "moderator")
    now = datetime.now(UTC)
    items = [BanEventInput(event_id=f"old-{i}", user_id=1, chat_id=-1, event_type="ban", reason="spam",
                           event_timestamp=now - timedelta(days=400 + i)) for i in range(7)]
    items += [BanEventInput(event_id=f"new-{i}", user_id=1, chat_id=-1, event_type="kick", reason="flood",
                            event_timestamp=now - timedelta(days=10)) for i in range(3)]
    assert (await events.bulk_register(mod, items)).count("created") == 10
    assert await _counts(engine, tenant_name) == (10, 0)

    assert await archive_expired(engine, tenant_name, 365, batch=3) == 7
    assert await _counts(engine, tenant_name) == (3, 7)
    # Idempotent: nothing more is due.
    assert await archive_expired(engine, tenant_name, 365) == 0
    s = schema_name("moderation", tenant_name)
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            f"SELECT event_id, reason, archived_at FROM \"{s}\".ban_events_archive WHERE event_id = 'old-0'"))).one()
    assert row.reason == "spam" and row.archived_at is not None
    # A shorter retention archives more; the default pass uses 365 days when the registry has no entry.
    assert await retention_days_of(engine, tenant_name) == 365
    await archive_all(engine)
    assert await _counts(engine, tenant_name) == (3, 7)
    assert await archive_expired(engine, tenant_name, 5) == 3
    assert await _counts(engine, tenant_name) == (0, 10)
    # An archived chat is still a known chat: its history is empty, not NOT_FOUND.
    page = await events.chat_history(Principal("u", tenant_name, "member"), -1, 0, "")
    assert page.events == []
