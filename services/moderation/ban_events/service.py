"""The ban event use cases: register (deduplicated), bulk register, get, history, search.

The caller (a verified :class:`~services.kit.context.Principal`) decides the
tenant; registering needs role moderator (service tokens pass), reading needs
member. A newly stored event and its two bus events commit in one transaction.
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
    MAX_EVENT_ID,
    BanEventInput,
    BulkItemResult,
    BulkResult,
    Page,
    Registered,
)
from .validation import check_reason_query, parse_instant, validate, violations_of

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
        """Store ``item`` once; a repeat of its event_id returns the original (created=False)."""
        tenant = caller.require_tenant()
        caller.require_role("moderator")
        now = self.clock()
        validate(item, now)
        async with self.db.session(APP, tenant) as session:
            inserted = await store.insert_many(session, [item], now)
            if inserted:
                row = inserted[0]
                await enqueue(session, *envelopes_for_batch(
                    tenant, [(row.id, item, item.event_timestamp or now, row.created_at)]))
            event = await store.get(session, item.event_id)
        if event is None:  # pragma: no cover - archived between our insert attempt and read
            raise NotFound(f"ban event {item.event_id!r} not found")
        return Registered(event, bool(inserted))

    async def bulk_register(self, caller: Principal, items: Sequence[BanEventInput]) -> BulkResult:
        """Store many events in one transaction and one INSERT; one result per item.

        Invalid items are reported and skipped; an event_id already stored, or
        repeated earlier in the batch, is a duplicate. More than MAX_BULK items
        is INVALID_ARGUMENT for the whole call, before anything is written.
        """
        tenant = caller.require_tenant()
        caller.require_role("moderator")
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
            existing = await store.ids_of(session, [e for e in first_seen if e not in inserted])
            await enqueue(session, *envelopes_for_batch(tenant, [
                (row.id, item, item.event_timestamp or now, row.created_at)
                for item in fresh if (row := inserted.get(item.event_id)) is not None]))
        for result in results:
            if result.status == "invalid":
                continue
            row = inserted.get(result.event_id)
            if result.status == "created" and row is None:
                result.status = "duplicate"
            # A later repeat inside the batch points at the row its first occurrence created.
            result.id = row.id if row is not None else existing.get(result.event_id, 0)
        return BulkResult(results)

    async def get(self, caller: Principal, event_id: str) -> store.BanEvent:
        """The event registered with ``event_id``; NOT_FOUND when this tenant has none."""
        tenant = caller.require_tenant()
        caller.require_role("member")
        if not event_id or len(event_id) > MAX_EVENT_ID:
            raise InvalidArgument.field("event_id", f"must be 1 to {MAX_EVENT_ID} characters")
        async with self.db.session(APP, tenant) as session:
            event = await store.get(session, event_id)
        if event is None:
            raise NotFound(f"ban event {event_id!r} not found", code="ban_event_not_found")
        return event

    async def user_history(self, caller: Principal, user_id: int, size: int, token: str) -> Page:
        """A user's events, newest first."""
        v = Validator()
        v.require(user_id > 0, "user_id", "must be a positive Telegram user id")
        v.raise_if_any()
        return await self._page(caller, store.Filters(user_id=user_id), size, token)

    async def chat_history(self, caller: Principal, chat_id: int, size: int, token: str) -> Page:
        """A chat's events, newest first; NOT_FOUND for a chat the tenant never saw an event in."""
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
        tenant = caller.require_tenant()
        caller.require_role("member")
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
