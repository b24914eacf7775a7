"""Retention: expired ban events move to ban_events_archive in batches; nothing is deleted."""

from __future__ import annotations

import asyncio
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


async def test_a_live_copy_of_an_archived_event_does_not_stop_retention(engine, tenant_name):
    # Written before dedupe looked at the archive: the same event_id live and archived.
    await migrate(engine, "moderation", tenant_name)
    s = schema_name("moderation", tenant_name)
    old = datetime.now(UTC) - timedelta(days=400)
    async with engine.begin() as conn:
        for table, reason in (("ban_events_archive", "original"), ("ban_events", "copy")):
            # Archived rows keep the id the live sequence gave them.
            await conn.execute(text(
                f'INSERT INTO "{s}".{table} (id, event_id, user_id, chat_id, event_type, reason, '
                f" event_timestamp) VALUES (nextval(pg_get_serial_sequence('\"{s}\".ban_events', 'id')),"
                " 'dup-1', 1, -1, 'ban', :r, :t)"), {"r": reason, "t": old})
        await conn.execute(text(
            f'INSERT INTO "{s}".ban_events (event_id, user_id, chat_id, event_type, reason, '
            " event_timestamp) VALUES ('other-1', 1, -1, 'ban', 'spam', :t)"), {"t": old})
    assert await archive_expired(engine, tenant_name, 365) == 1  # other-1; the copy is dropped
    assert await _counts(engine, tenant_name) == (0, 2)
    async with engine.connect() as conn:
        reason = (await conn.execute(text(
            f"SELECT reason FROM \"{s}\".ban_events_archive WHERE event_id = 'dup-1'"))).scalar_one()
    assert reason == "original"


async def _outbox(engine, tenant: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    s = schema_name("moderation", tenant)
    async with engine.connect() as conn:
        return dict((await conn.execute(text(f'SELECT topic, count(*) FROM "{s}".outbox GROUP BY topic'))).all())


async def test_a_repeat_of_an_archived_event_writes_nothing_single_and_bulk(engine, tenant_name):
    await migrate(engine, "moderation", tenant_name)
    events = BanEvents(Database(engine))
    mod = Principal("u", tenant_name, "moderator")
    old = datetime.now(UTC) - timedelta(days=400)

    def item(event_id: str, reason: str = "spam") -> BanEventInput:
        return BanEventInput(event_id=event_id, user_id=1, chat_id=-1, event_type="ban", reason=reason,
                             event_timestamp=old)

    first = await events.register(mod, item("a-1"))
    assert await archive_expired(engine, tenant_name, 365) == 1
    assert await _outbox(engine, tenant_name) == {"ban.detected": 1, "ban.registered": 1}

    again = await events.register(mod, item("a-1", reason="different"))
    assert not again.created and again.event.id == first.event.id and again.event.reason == "spam"
    assert again.event.archived_at is not None
    bulk = await events.bulk_register(mod, [item("a-1"), item("a-2"), item("a-1")])
    assert [(r.status, r.id) for r in bulk.results] == [
        ("duplicate", first.event.id), ("created", bulk.results[1].id), ("duplicate", first.event.id)]
    assert await _counts(engine, tenant_name) == (1, 1)
    assert await _outbox(engine, tenant_name) == {"ban.detected": 2, "ban.registered": 2}
    # The historical flag changes the bus events, not the dedupe.
    hist = await events.bulk_register(mod, [item("a-1"), item("a-3")], historical=True)
    assert [r.status for r in hist.results] == ["duplicate", "created"]
    assert await _outbox(engine, tenant_name) == {"ban.detected": 2, "ban.registered": 3}
    got = await events.get(Principal("u", tenant_name, "member"), "a-1")
    assert got.id == first.event.id and got.archived_at is not None
    assert (await events.get_by_id(Principal("u", tenant_name, "member"), first.event.id)).event_id == "a-1"


async def _waiting_inserts(engine, at_least: int) -> None:  # type: ignore[no-untyped-def]
    """Until ``at_least`` INSERTs into ban_events wait on a lock (bounded)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with engine.connect() as conn:
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO ban_events%'"))).scalar_one()
        if waiting >= at_least:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{waiting} inserts waiting"
        await asyncio.sleep(0.05)


async def test_a_repeat_racing_the_archiving_of_its_original_still_writes_nothing(engine, tenant_name):
    """Retention moves the original while the repeat's INSERT runs: the INSERT cannot see the
    archive row yet and waits on the row being moved; the read after it must catch that."""
    await migrate(engine, "moderation", tenant_name)
    events = BanEvents(Database(engine))
    mod = Principal("u", tenant_name, "moderator")
    old = datetime.now(UTC) - timedelta(days=400)

    def item(event_id: str) -> BanEventInput:
        return BanEventInput(event_id=event_id, user_id=1, chat_id=-1, event_type="ban", reason="spam",
                             event_timestamp=old)

    originals = (await events.bulk_register(mod, [item("r-1"), item("r-2")])).results
    s = schema_name("moderation", tenant_name)
    cols = ("id, event_id, user_id, chat_id, event_type, ban_duration, reason, initiator_user_id, "
            "event_timestamp, created_at, metadata")
    async with engine.connect() as mover:
        # What retention's batch does, held open until both repeats wait on it.
        tx = await mover.begin()
        moved = (await mover.execute(text(f"""
            WITH moved AS (DELETE FROM "{s}".ban_events RETURNING {cols})
            INSERT INTO "{s}".ban_events_archive ({cols}, archived_at) SELECT {cols}, now() FROM moved"""))).rowcount
        assert moved == 2
        single = asyncio.create_task(events.register(mod, item("r-1")))
        bulk = asyncio.create_task(events.bulk_register(mod, [item("r-2"), item("r-3")]))
        try:
            await _waiting_inserts(engine, 2)
        finally:
            await tx.commit()
        repeat, batch = await single, await bulk

    assert not repeat.created and repeat.event.id == originals[0].id and repeat.event.archived_at is not None
    dup, fresh = batch.results
    assert (dup.status, dup.id, fresh.status) == ("duplicate", originals[1].id, "created")
    # Only r-3 is live; r-1 and r-2 are in the archive once; one ban.detected per event, no more.
    assert await _counts(engine, tenant_name) == (1, 2)
    assert await _outbox(engine, tenant_name) == {"ban.detected": 3, "ban.registered": 3}
