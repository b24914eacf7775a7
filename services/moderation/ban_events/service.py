"""The ban event use cases: register (deduplicated), bulk register, get, history, search.

The caller (a verified :class:`~services.kit.context.Principal`) decides the
tenant; registering needs role moderator (service tokens pass), reading needs
member. A newly stored event and its two bus events commit in one transaction.

Dedupe outlives retention. The INSERT skips event_ids the archive holds, but a
retention batch moving the original out of ``ban_events`` at that very moment
is invisible to it: the INSERT waits on the row being moved and, once
retention commits, inserts a second row. The read that follows the INSERT
(the single path reads the event anyway; the bulk path reads the duplicates'
ids) is a new statement, so it does see the archived original, and the new row
is deleted again in the same transaction before any outbox write: the repeat
still writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from services.kit.bus.outbox import enqueue
from services.kit.context import Principal
from services.kit.db import Database
from services.kit.errors import InvalidArgument, NotFound, Validator
from services.kit.pagination import decode_page_token, encode_page_token, page_size

from . import store
from .events import envelopes_for_batch
from .model import (
    EVENT_TYPES,
    MAX_BULK,
    BanEventInput,
    BulkItemResult,
    BulkResult,
    Page,
    Registered,
)
from .validation import check_event_id, check_reason_query, parse_instant, validate, violations_of

APP = "moderation"


def _now() -> datetime:
    return datetime.now(UTC)


def _position(token: str) -> tuple[datetime, int] | None:
    raw = decode_page_token(token)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw["ts"])), int(raw["id"])
    except (KeyError, TypeError, ValueError):
        raise InvalidArgument.field("page_token", "is not a token this server issued") from None


class BanEvents:
    """Ban events of every tenant, one tenant per call (the caller's)."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.clock = clock

    async def register(self, caller: Principal, item: BanEventInput) -> Registered:
        """Store ``item`` once; a repeat of its event_id, live or archived, returns the original (created=False)."""
        tenant = caller.tenant_with_role("moderator")
        now = self.clock()
        validate(item, now)
        async with self.db.session(APP, tenant) as session:
            inserted = await store.insert_many(session, [item], now)
            # The read we need anyway is also the archive race check (module docstring).
            found = await store.versions(session, item.event_id)
            if inserted and found and found[0].archived_at is not None:
                await store.delete_rows(session, [inserted[0].id])
                inserted = []
            if inserted:
                row = inserted[0]
                await enqueue(session, *envelopes_for_batch(
                    tenant, [(row.id, item, item.event_timestamp or now, row.created_at)]))
        if not found:  # pragma: no cover - only if the row was deleted by hand meanwhile
            raise NotFound(f"ban event {item.event_id!r} not found")
        return Registered(found[0], bool(inserted))

    async def bulk_register(self, caller: Principal, items: Sequence[BanEventInput], *,
                            historical: bool = False) -> BulkResult:
        """Store many events in one transaction and one INSERT; one result per item.

        Invalid items are reported and skipped; an event_id already stored (live
        or archived), or repeated earlier in the batch, is a duplicate. More than
        MAX_BULK items is INVALID_ARGUMENT for the whole call, before anything is
        written. ``historical`` (an import of past bans) emits only
        ``ban.registered`` for the new events: no ``ban.detected``, so no sync and
        no notifications.
        """
        tenant = caller.tenant_with_role("moderator")
        if not items:
            raise InvalidArgument.field("events", "must not be empty")
        if len(items) > MAX_BULK:
            raise InvalidArgument.field("events", f"at most {MAX_BULK} events per call; got {len(items)}")
        now = self.clock()
        results: list[BulkItemResult] = []
        first_seen: set[str] = set()
        fresh: list[BanEventInput] = []
        for index, item in enumerate(items):
            found = violations_of(item, now)
            if found:
                results.append(BulkItemResult(index, item.event_id, "invalid",
                                              violations=[(f.field, f.description) for f in found]))
            elif item.event_id in first_seen:
                results.append(BulkItemResult(index, item.event_id, "duplicate"))
            else:
                first_seen.add(item.event_id)
                fresh.append(item)
                results.append(BulkItemResult(index, item.event_id, "created"))
        async with self.db.session(APP, tenant) as session:
            inserted = {row.event_id: row for row in await store.insert_many(session, fresh, now)}
            # One statement: the duplicates' ids, and the archive race check (module docstring).
            prior = await store.originals(session, list(first_seen), [e for e in first_seen if e not in inserted])
            raced = [inserted.pop(e).id for e in list(inserted) if e in prior.archived]
            await store.delete_rows(session, raced)
            await enqueue(session, *envelopes_for_batch(tenant, [
                (row.id, item, item.event_timestamp or now, row.created_at)
                for item in fresh if (row := inserted.get(item.event_id)) is not None], detected=not historical))
        for result in results:
            if result.status == "invalid":
                continue
            row = inserted.get(result.event_id)
            if result.status == "created" and row is None:
                result.status = "duplicate"
            # A later repeat inside the batch points at the row its first occurrence created.
            result.id = row.id if row is not None else prior.id_of(result.event_id)
        return BulkResult(results)

    async def get(self, caller: Principal, event_id: str) -> store.BanEvent:
        """The event registered with ``event_id``, live or archived; NOT_FOUND when this tenant has none.

        A malformed event_id is INVALID_ARGUMENT: it can never have been stored.
        """
        tenant = caller.tenant_with_role("member")
        v = Validator()
        check_event_id(event_id, v)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            event = await store.get(session, event_id)
        if event is None:
            raise NotFound(f"ban event {event_id!r} not found", code="ban_event_not_found")
        return event

    async def get_by_id(self, caller: Principal, row_id: int) -> store.BanEvent:
        """The event with row id ``row_id`` (the ``ban_event_id`` of the bus and the sync API), live or archived."""
        tenant = caller.tenant_with_role("member")
        v = Validator()
        v.require(row_id > 0, "id", "must be a positive ban event id")
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            event = await store.get_by_id(session, row_id)
        if event is None:
            raise NotFound(f"ban event with id {row_id} not found", code="ban_event_not_found")
        return event

    async def user_history(self, caller: Principal, user_id: int, size: int, token: str) -> Page:
        """A user's events, newest first."""
        v = Validator()
        v.require(user_id > 0, "user_id", "must be a positive Telegram user id")
        v.raise_if_any()
        return await self._page(caller, store.Filters(user_id=user_id), size, token)

    async def chat_history(self, caller: Principal, chat_id: int, size: int, token: str) -> Page:
        """A chat's events, newest first; empty for a registered chat without events (or with only
        archived ones), NOT_FOUND for a chat the tenant never saw."""
        v = Validator()
        v.require(chat_id != 0, "chat_id", "must be a non-zero Telegram chat id")
        v.raise_if_any()
        return await self._page(caller, store.Filters(chat_id=chat_id), size, token, chat_must_exist=chat_id)

    async def search(self, caller: Principal, *, user_id: int | None = None, chat_id: int | None = None,
                     since: str = "", until: str = "", event_type: str = "", reason: str = "",
                     size: int = 0, token: str = "") -> Page:
        """Events matching every given filter, newest first."""
        v = Validator()
        if user_id is not None:
            v.require(user_id > 0, "user_id", "must be a positive Telegram user id")
        if chat_id is not None:
            v.require(chat_id != 0, "chat_id", "must be a non-zero Telegram chat id")
        start = parse_instant(since, "from", end_of_day=False, v=v)
        end = parse_instant(until, "to", end_of_day=True, v=v)
        if start and end:
            v.require(start < end, "to", "must be after from")
        if event_type:
            v.require(event_type in EVENT_TYPES, "event_type", f"must be one of: {', '.join(EVENT_TYPES)}")
        reason = check_reason_query(reason, v)
        v.raise_if_any()
        filters = store.Filters(user_id=user_id, chat_id=chat_id, since=start, until=end,
                                event_type=event_type, reason=reason)
        return await self._page(caller, filters, size, token)

    async def _page(self, caller: Principal, filters: store.Filters, size: int, token: str,
                    chat_must_exist: int | None = None) -> Page:
        tenant = caller.tenant_with_role("member")
        n = page_size(size)
        after = _position(token)
        async with self.db.session(APP, tenant) as session:
            rows = await store.page(session, filters, n, after)
            if chat_must_exist is not None and not rows and after is None \
                    and not await store.chat_known(session, chat_must_exist):
                raise NotFound(f"chat {chat_must_exist} not found", code="chat_not_found")
        next_token = ""
        if len(rows) > n:
            rows = rows[:n]
            last = rows[-1]
            next_token = encode_page_token({"ts": last.event_timestamp.isoformat(), "id": last.id})
        return Page(rows, next_token)
