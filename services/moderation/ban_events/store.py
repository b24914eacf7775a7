"""SQL of ban events. Every function runs on a session already pinned to the tenant's schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .model import BanEvent, BanEventInput

COLUMNS = ("id, event_id, user_id, chat_id, event_type, ban_duration, reason, initiator_user_id, "
           "event_timestamp, created_at, metadata")

# One statement for any number of rows: the arrays are bound once, so a 5,000-row
# batch is a single round trip. ON CONFLICT DO NOTHING makes a repeated event_id
# write nothing (the unique constraint is the truth, also between concurrent calls).
# The NOT EXISTS keeps dedupe alive after retention moved the original away: the
# archive's unique index on event_id answers it inside the same statement, so an
# archived repeat is never inserted (no row, no index entries, no id burnt).
_INSERT = text("""
    INSERT INTO ban_events (event_id, user_id, chat_id, event_type, ban_duration, reason,
                            initiator_user_id, event_timestamp, metadata)
    SELECT e, u, c, t, d, r, i, ts, CAST(m AS jsonb)
    FROM unnest(CAST(:event_ids AS varchar[]), CAST(:user_ids AS bigint[]), CAST(:chat_ids AS bigint[]),
                CAST(:types AS varchar[]), CAST(:durations AS bigint[]), CAST(:reasons AS text[]),
                CAST(:initiators AS bigint[]), CAST(:timestamps AS timestamptz[]), CAST(:metadata AS text[]))
         AS x(e, u, c, t, d, r, i, ts, m)
    WHERE NOT EXISTS (SELECT 1 FROM ban_events_archive a WHERE a.event_id = x.e)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, event_id, created_at
""")


@dataclass(frozen=True)
class Inserted:
    """A row this statement created."""

    id: int
    event_id: str
    created_at: datetime


def _row(r: Any) -> BanEvent:
    return BanEvent(id=r.id, event_id=r.event_id, user_id=r.user_id, chat_id=r.chat_id,
                    event_type=r.event_type, ban_duration=r.ban_duration, reason=r.reason,
                    initiator_user_id=r.initiator_user_id, event_timestamp=r.event_timestamp,
                    created_at=r.created_at, metadata=dict(r.metadata or {}),
                    archived_at=getattr(r, "archived_at", None))


def _lookup(key: str) -> Any:
    # Archive first: when both tables hold an event_id (only while a registration that
    # raced retention is being undone, or rows left by the old pre-archive dedupe),
    # the archived row is the original.
    return text(f"""
        SELECT {COLUMNS}, archived_at, 0 AS live FROM ban_events_archive WHERE {key} = :k
        UNION ALL
        SELECT {COLUMNS}, CAST(NULL AS timestamptz), 1 FROM ban_events WHERE {key} = :k
        ORDER BY live, id""")


_BY_EVENT_ID = _lookup("event_id")
_BY_ID = _lookup("id")


def stored_metadata(item: BanEventInput) -> dict[str, Any]:
    """What goes into the metadata column: the client's data plus username and chat title."""
    meta = dict(item.metadata)
    if item.username:
        meta.setdefault("username", item.username)
    if item.chat_title:
        meta.setdefault("chat_title", item.chat_title)
    return meta


async def insert_many(session: AsyncSession, items: Sequence[BanEventInput], now: datetime) -> list[Inserted]:
    """Insert ``items`` (distinct event_ids) in one statement; return the rows actually created."""
    if not items:
        return []
    rows = (await session.execute(_INSERT, {
        "event_ids": [i.event_id for i in items],
        "user_ids": [i.user_id for i in items],
        "chat_ids": [i.chat_id for i in items],
        "types": [i.event_type for i in items],
        "durations": [i.ban_duration for i in items],
        "reasons": [i.reason for i in items],
        "initiators": [i.initiator_user_id for i in items],
        "timestamps": [i.event_timestamp or now for i in items],
        "metadata": [json.dumps(stored_metadata(i)) for i in items],
    })).all()
    return [Inserted(r.id, r.event_id, r.created_at) for r in rows]


# Joins against unnest, not "event_id = ANY(:array)": once the plan is generic, ANY over a
# bound 5,000-element array is a linear scan of the array for every row the planner
# chose to filter (measured: 1.8 s against a 50,000-row archive instead of 7 ms). A join
# is answered by the unique indexes on event_id (or a hash), whatever the plan.
_ORIGINALS = text("""
    SELECT a.id, a.event_id, true AS archived
    FROM unnest(CAST(:all AS varchar[])) AS x(e) JOIN ban_events_archive a ON a.event_id = x.e
    UNION ALL
    SELECT b.id, b.event_id, false
    FROM unnest(CAST(:rest AS varchar[])) AS y(e) JOIN ban_events b ON b.event_id = y.e""")


@dataclass(frozen=True)
class Originals:
    """Row ids of event_ids stored before this call: archived ones and live ones."""

    archived: dict[str, int]
    live: dict[str, int]

    def id_of(self, event_id: str) -> int:
        """The original's row id (the archived one when both exist), 0 when unknown."""
        return self.archived.get(event_id) or self.live.get(event_id, 0)


async def originals(session: AsyncSession, event_ids: Sequence[str], not_inserted: Sequence[str]) -> Originals:
    """Archived rows of ``event_ids`` and live rows of ``not_inserted``, in one statement.

    Run after :func:`insert_many` in the same transaction: its fresh snapshot sees
    a retention batch that committed while the INSERT waited on the row it was
    moving, so an archived hit among the inserted event_ids is exactly that race.
    """
    if not event_ids:
        return Originals({}, {})
    rows = (await session.execute(_ORIGINALS, {"all": list(event_ids), "rest": list(not_inserted)})).all()
    found = Originals({}, {})
    for r in rows:
        (found.archived if r.archived else found.live)[r.event_id] = r.id
    return found


async def delete_rows(session: AsyncSession, ids: Sequence[int]) -> None:
    """Delete live rows by id (this transaction's own inserts that turned out to be repeats)."""
    if ids:
        await session.execute(text("DELETE FROM ban_events WHERE id = ANY(:ids)"), {"ids": list(ids)})


async def versions(session: AsyncSession, event_id: str) -> list[BanEvent]:
    """Every stored row of ``event_id``, live or archived, the archived one first (normally one row)."""
    return [_row(r) for r in (await session.execute(_BY_EVENT_ID, {"k": event_id})).all()]


async def get(session: AsyncSession, event_id: str) -> BanEvent | None:
    """The event registered with ``event_id`` (live or archived), or None."""
    found = await versions(session, event_id)
    return found[0] if found else None


async def get_by_id(session: AsyncSession, row_id: int) -> BanEvent | None:
    """The event with row id ``row_id`` (live or archived; the archive keeps the id), or None."""
    row = (await session.execute(_BY_ID, {"k": row_id})).first()
    return _row(row) if row else None


@dataclass
class Filters:
    """Search filters; None/'' means "any"."""

    user_id: int | None = None
    chat_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    event_type: str = ""
    reason: str = ""


def _like_pattern(text_: str) -> str:
    escaped = text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(session: AsyncSession, filters: Filters, size: int,
               after: tuple[datetime, int] | None) -> list[BanEvent]:
    """Up to ``size + 1`` events matching ``filters``, newest first, after the keyset position."""
    where: list[str] = []
    params: dict[str, Any] = {"n": size + 1}
    if filters.user_id is not None:
        where.append("user_id = :user_id")
        params["user_id"] = filters.user_id
    if filters.chat_id is not None:
        where.append("chat_id = :chat_id")
        params["chat_id"] = filters.chat_id
    if filters.since is not None:
        where.append("event_timestamp >= :since")
        params["since"] = filters.since
    if filters.until is not None:
        where.append("event_timestamp < :until")
        params["until"] = filters.until
    if filters.event_type:
        where.append("event_type = :event_type")
        params["event_type"] = filters.event_type
    if filters.reason:
        # Served by the pg_trgm GIN index (gin_trgm_ops supports ILIKE).
        where.append("reason ILIKE :reason")
        params["reason"] = _like_pattern(filters.reason)
    if after is not None:
        where.append("(event_timestamp, id) < (:after_ts, :after_id)")
        params["after_ts"], params["after_id"] = after
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = (await session.execute(text(
        f"SELECT {COLUMNS} FROM ban_events {clause} ORDER BY event_timestamp DESC, id DESC LIMIT :n"
    ), params)).all()
    return [_row(r) for r in rows]


async def chat_known(session: AsyncSession, chat_id: int) -> bool:
    """True when the tenant registered ``chat_id`` (chat_settings) or has any event in it, live or archived."""
    # chat_settings belongs to the users area (migration 0002); every moderation schema
    # is migrated to all heads, so the table is always there. Its primary key answers first.
    return bool((await session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM chat_settings WHERE chat_id = :c) "
        "OR EXISTS (SELECT 1 FROM ban_events WHERE chat_id = :c) "
        "OR EXISTS (SELECT 1 FROM ban_events_archive WHERE chat_id = :c)"), {"c": chat_id})).scalar_one())
