"""The fan-out: one ban event → one action in every chat that should get it, exactly once.

How a ``ban.detected`` event is handled (:meth:`SyncEngine.handle_ban_detected`):

1. **Plan** (one transaction): the run row (unique per event and consumer
   group, so a redelivery plans nothing), one ``sync_logs`` row per target chat
   (subscribers read in keyset pages; SyncPolicy targets; each chat's
   settings), each keyed ``(ban_event_id, target_chat_id, action)`` UNIQUE, and
   ``sync.started`` in the outbox.
2. **Execute**: lease due rows (``FOR UPDATE SKIP LOCKED``), call Telegram with
   bounded concurrency under the client's rate limits and breaker, and finalise
   each row in its own transaction with the events it causes. A row leased
   before (``attempts > 1``) may already have been applied by a worker that
   died: it is re-checked with getChatMember instead of applied again.
3. **Finish**: when no row is pending, close the run once and emit
   ``sync.completed`` / ``sync.partial`` / ``sync.failed``.

Rows that are delayed (chat delay, backoff, 429, open circuit) stay pending
and are picked up by :meth:`SyncEngine.sweep`, which the worker runs every
second; it also takes over rows whose lease expired (a crashed worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from redis.asyncio import Redis
from sqlalchemy import text
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, new_event, unpack
from services.kit.bus.outbox import enqueue
from services.kit.db import Database
from services.kit.errors import FailedPrecondition, NotFound
from services.kit.metrics import SYNC_OUTCOMES
from services.kit.naming import dead_letter_key, tenant_key
from services.kit.throttle import SharedTokenBucket
from services.telegram_api import (
    BotApiClient,
    BotClientFactory,
    BotTokenMissing,
    ChatMember,
    TelegramBadRequest,
    TelegramCircuitOpen,
    TelegramError,
    TelegramForbidden,
    TelegramRetryAfter,
    TelegramUnavailable,
    until_date_for,
)

from ..subscriptions import cache as subscription_cache
from ..subscriptions import events as subscription_events
from ..subscriptions import store as subscription_store
from . import store
from .models import EVENT_TYPES, BanEvent, LogRow, Outcome, RunStatus
from .rules import DEFAULT_RULE, Rule, plan_target, rules_for

log = structlog.get_logger("tenantry.sync")

APP = "moderation"
#: A kick is a short ban lifted at once; if the lift never happens the ban still ends.
KICK_BAN_SECONDS = 60
#: How many of a user's latest sync runs a join is checked against.
JOIN_LOOKBACK_RUNS = 50
#: Per-chat rows a finish event lists at most (~40 bytes each); counts are always whole.
FINISH_EVENT_MAX_ROWS = 10_000
#: The dead-letter stream of target chats that failed for good after retries.
DLQ_TOPIC = "sync.target"


@dataclass(frozen=True)
class SyncConfig:
    """Engine knobs (the default rule's retry policy; SyncPolicies bring their own)."""

    lease_seconds: float = 120.0
    concurrency: int = 16
    batch: int = 100
    page_size: int = 500
    #: The first try and 3 retries (seed §5: max_retries=3).
    max_attempts: int = 4
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    #: Ask getChatMember before every action (seed §5.2 "skip where already banned").
    precheck: bool = True
    #: The event handler waits for rows due within this many seconds; later ones are swept.
    inline_horizon: float = 5.0
    inline_budget: float = 600.0
    #: A row waits at most this long for its SyncPolicy's rate limit; past it, it is
    #: deferred (its lease is not held for the wait) and the sweeper takes it later.
    rate_wait_max: float = 5.0


@dataclass(frozen=True)
class JoinEnforcement:
    """What :meth:`SyncEngine.enforce_on_join` did."""

    status: str  # banned | failed | not_banned
    ban_event_id: int | None = None
    until_date: int | None = None
    error: str | None = None


class SyncEngine:
    """Plans, executes and reports ban sync runs for any tenant."""

    def __init__(self, db: Database, bots: BotClientFactory, *, redis: Redis | None = None,
                 config: SyncConfig | None = None) -> None:
        self.db = db
        self.bots = bots
        self.redis = redis
        self.config = config or SyncConfig()
        self._tasks: set[asyncio.Task[None]] = set()
        self._policy_buckets: dict[tuple[str, str, float, int], SharedTokenBucket] = {}

    # -- entry points ----------------------------------------------------------------------
    async def handle_ban_detected(self, envelope: EventEnvelope, *, group: str = "sync",
                                  policy: str | None = None) -> uuid.UUID | None:
        """Consumer handler of ``ban.detected``: plan (idempotently), then execute."""
        event = BanEvent.from_proto(unpack(envelope, events_pb2.BanDetected))
        if event.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event_type {event.event_type!r}")
        tenant = envelope.tenant
        sync_id = await self.plan(tenant, event, run_key=f"event:{group}:{envelope.event_id}",
                                  trigger="event", policy=policy)
        if sync_id is not None:
            await self.execute_run(tenant, sync_id)
        return sync_id

    async def trigger(self, tenant: str, ban_event_id: int,
                      target_chat_ids: Sequence[int] = ()) -> tuple[uuid.UUID, int]:
        """Manual sync of a ban event (to its usual targets, or to the given chats)."""
        async with self.db.session(APP, tenant) as session:
            event = await store.latest_event_of(session, ban_event_id)
        if event is None:
            raise NotFound(f"ban event {ban_event_id} not found", code="ban_event_not_found")
        rules = None
        if target_chat_ids:
            rules = [Rule(name=None, events=frozenset(EVENT_TYPES), to_subscribers=False,
                          target_chat_ids=tuple(sorted(set(target_chat_ids))))]
        sync_id = await self.plan(tenant, event, run_key=f"manual:{uuid.uuid4()}",
                                  trigger="manual", policy=None, rules=rules, always=True)
        assert sync_id is not None
        run = await self.status(tenant, sync_id)
        self._spawn(self.execute_run(tenant, sync_id))
        return sync_id, run.total_chats

    async def retry(self, tenant: str, sync_id: uuid.UUID) -> int:
        """Put a run's failed rows back to pending; they are executed at once."""
        async with self.db.session(APP, tenant) as session:
            if await store.get_run(session, sync_id) is None:
                raise NotFound(f"sync {sync_id} not found", code="sync_not_found")
            n = await store.reopen_failed(session, sync_id)
        if n == 0:
            raise FailedPrecondition(f"sync {sync_id} has no failed chats to retry",
                                     code="nothing_to_retry")
        self._spawn(self.execute_run(tenant, sync_id))
        return n

    async def status(self, tenant: str, sync_id: uuid.UUID) -> RunStatus:
        """A run with its counts; NotFound when unknown."""
        async with self.db.session(APP, tenant) as session:
            run = await store.get_run(session, sync_id)
        if run is None:
            raise NotFound(f"sync {sync_id} not found", code="sync_not_found")
        return run

    async def confirm(self, tenant: str, sync_id: uuid.UUID,
                      target_chat_ids: Sequence[int] = ()) -> int:
        """An admin confirmed a run's rows waiting for it (those in ``target_chat_ids``, or
        all): they become due now and are executed at once. Return how many.

        NotFound (``sync_not_found``) for an unknown run; FailedPrecondition
        (``nothing_awaiting_confirmation``) when no row of the selection waits.
        """
        chats = sorted(set(target_chat_ids))
        async with self.db.session(APP, tenant) as session:
            if not await store.run_exists(session, sync_id):
                raise NotFound(f"sync {sync_id} not found", code="sync_not_found")
            n = await store.confirm_awaiting(session, sync_id, chats)
            if n == 0:
                raise FailedPrecondition(_nothing_awaiting(sync_id, chats),
                                         code="nothing_awaiting_confirmation")
            # A waiting row does not hold its run open, so the run may be closed already:
            # reopen it (as retry does) so its outcome covers the confirmed chats.
            await store.reopen_run(session, sync_id)
        log.info("sync_confirmed", tenant=tenant, sync_id=str(sync_id), confirmed=n)
        self._spawn(self.execute_run(tenant, sync_id))
        return n

    async def decline(self, tenant: str, sync_id: uuid.UUID, target_chat_ids: Sequence[int] = (),
                      *, reason: str = "", by: str | None = None) -> int:
        """An admin declined a run's rows waiting for a confirmation (those in
        ``target_chat_ids``, or all): they become ``skipped`` for good, and the run is
        finished, with its outcome event, when nothing else is pending. Return how many.

        One transaction: the rows, the run and the outcome event commit together.
        Errors as :meth:`confirm`.
        """
        chats = sorted(set(target_chat_ids))
        error = "declined by an admin" + (f" ({by})" if by else "") + (
            f": {reason}" if reason else "")
        async with self.db.session(APP, tenant) as session:
            if not await store.run_exists(session, sync_id):
                raise NotFound(f"sync {sync_id} not found", code="sync_not_found")
            n = await store.decline_awaiting(session, sync_id, chats, error)
            if n == 0:
                raise FailedPrecondition(_nothing_awaiting(sync_id, chats),
                                         code="nothing_awaiting_confirmation")
            await store.reopen_run(session, sync_id)
            finished = await self._close_if_done(session, tenant, sync_id)
        SYNC_OUTCOMES.labels(tenant, "skipped").inc(n)
        log.info("sync_declined", tenant=tenant, sync_id=str(sync_id), declined=n, by=by)
        if finished is not None:
            log.info("sync_finished", tenant=tenant, sync_id=str(sync_id), status=finished[0],
                     **finished[1])
        return n

    async def drain(self) -> None:
        """Wait for executions started in the background (trigger, retry, confirm)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- planning --------------------------------------------------------------------------
    async def plan(self, tenant: str, event: BanEvent, *, run_key: str, trigger: str,
                   policy: str | None, rules: list[Rule] | None = None,
                   always: bool = False) -> uuid.UUID | None:
        """Create the run and its target rows in one transaction; idempotent on run_key.

        Returns the run's sync_id (the existing one on a redelivery), or None when no
        rule propagates this event, or when the rules find no target chat (a ban of a user
        nobody subscribes to, the common case). That run is still recorded, closed at once
        and with no events: enforcement on join reads it when an admin subscribes later.
        """
        async with self.db.session(APP, tenant) as session:
            existing = await store.run_id_of(session, run_key)
            if existing is not None:
                return existing
            if rules is None:
                rules = rules_for(event, await store.load_rules(session), policy=policy)
            if not rules and not always:
                return None
            sync_id = await store.insert_run(session, run_key, event, trigger=trigger,
                                             policy=policy)
            if sync_id is None:  # a concurrent delivery planned it first
                return await store.run_id_of(session, run_key)
            total = 0
            for rule in rules:
                total += await self._plan_rule(session, sync_id, event, rule)
            await store.set_total(session, sync_id, total)
            if total == 0 and not always:
                await store.close_run(session, sync_id, "completed")
                return None
            await enqueue(session, new_event("sync.started", tenant, events_pb2.SyncStarted(
                ban_event_id=event.ban_event_id, sync_id=str(sync_id), user_id=event.user_id,
                source_chat_id=event.chat_id, total_chats=total)))
        log.info("sync_planned", tenant=tenant, sync_id=str(sync_id), total=total,
                 ban_event_id=event.ban_event_id, trigger=trigger)
        return sync_id

    async def _plan_rule(self, session, sync_id: uuid.UUID, event: BanEvent,  # type: ignore[no-untyped-def]
                         rule: Rule) -> int:
        total = 0
        size = self.config.page_size
        if rule.to_subscribers:
            async for page in store.subscriber_pages(session, event.user_id, size):
                targets = [plan_target(rule, event, r.admin_chat_id, store.settings_from_row(r),
                                       admin_user_id=r.admin_user_id, subscription_id=r.id,
                                       admin_can_ban=r.admin_can_ban)
                           for r in page]
                total += await store.insert_targets(session, sync_id, event, targets)
        ids = list(rule.target_chat_ids)
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            settings = await store.chat_settings_of(session, chunk)
            # A listed chat has no subscribing admin: its own admin hears how it went.
            admins = await store.chat_admins_of(session, chunk)
            targets = [plan_target(rule, event, c, store.settings_from_row(settings.get(c)),
                                   admin_user_id=admins.get(c), subscription_id=None)
                       for c in chunk]
            total += await store.insert_targets(session, sync_id, event, targets)
        return total

    # -- execution -------------------------------------------------------------------------
    async def execute_run(self, tenant: str, sync_id: uuid.UUID) -> None:
        """Execute a run's due rows (waiting for those due soon), then finish it if done."""
        budget_end = time.monotonic() + self.config.inline_budget
        while time.monotonic() < budget_end:
            async with self.db.session(APP, tenant) as session:
                rows = await store.claim_due(session, sync_id=sync_id, limit=self.config.batch,
                                             lease_seconds=self.config.lease_seconds)
            if rows:
                await self._process(tenant, rows)
                continue
            async with self.db.session(APP, tenant) as session:
                wait = await store.next_due_in(session, sync_id)
            if wait is None or wait > self.config.inline_horizon:
                break
            await asyncio.sleep(max(wait, 0.05))
        await self.finish_if_done(tenant, sync_id)

    async def sweep(self, tenant: str) -> int:
        """Execute any due rows of ``tenant`` (delays, backoffs, expired leases); close
        runs with nothing left. Return how many rows were processed."""
        async with self.db.session(APP, tenant) as session:
            rows = await store.claim_due(session, sync_id=None, limit=self.config.batch,
                                         lease_seconds=self.config.lease_seconds)
        if rows:
            await self._process(tenant, rows)
        async with self.db.session(APP, tenant) as session:
            idle = await store.open_runs_without_pending(session)
        for sync_id in {r.sync_id for r in rows} | set(idle):
            await self.finish_if_done(tenant, sync_id)
        return len(rows)

    async def _process(self, tenant: str, rows: list[LogRow]) -> None:
        async with self.db.session(APP, tenant) as session:
            rules = {r.name: r for r in await store.load_rules(session)}
        try:
            client = await self.bots.for_tenant(tenant)
        except BotTokenMissing as exc:
            for row in rows:
                await self._record(tenant, row, Outcome("failed", str(exc)), DEFAULT_RULE)
            return
        sem = asyncio.Semaphore(self.config.concurrency)
        in_flight = {r.id for r in rows}

        async def one(row: LogRow) -> None:
            try:
                async with sem:
                    rule = rules.get(row.policy) if row.policy else None
                    await self._run_row(tenant, client, row, rule or self._default_rule())
            finally:
                in_flight.discard(row.id)

        heartbeat = asyncio.ensure_future(self._keep_leases(tenant, in_flight))
        try:
            await asyncio.gather(*(one(r) for r in rows))
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _keep_leases(self, tenant: str, in_flight: set[int]) -> None:
        """Renew the leases of this batch's unfinished rows every third of a lease: a
        batch can outlast one lease (16 at a time, 429 pauses, a slow Telegram), and a
        row whose lease ran out while it was still being worked on would be taken by
        another worker too. A worker that dies stops renewing, so its rows are taken over."""
        every = max(self.config.lease_seconds / 3, 0.05)
        while in_flight:
            await asyncio.sleep(every)
            try:
                async with self.db.session(APP, tenant) as session:
                    await store.extend_leases(session, sorted(in_flight), self.config.lease_seconds)
            except Exception:
                log.exception("sync_lease_renewal_failed", tenant=tenant, rows=len(in_flight))

    def _default_rule(self) -> Rule:
        c = self.config
        return Rule(name=None, events=DEFAULT_RULE.events, max_attempts=c.max_attempts,
                    backoff_initial=c.backoff_initial, backoff_max=c.backoff_max)

    async def _policy_turn(self, tenant: str, rule: Rule) -> float | None:
        """Wait for a slot of the rule's rateLimit (shared by all its workers through
        Redis). None: go now; a number: defer the row that long instead of waiting."""
        if rule.per_second is None or rule.name is None:
            return None
        key = (tenant, rule.name, rule.per_second, rule.burst)
        bucket = self._policy_buckets.get(key)
        if bucket is None:
            bucket = self._policy_buckets[key] = SharedTokenBucket(
                self.redis, tenant_key(tenant, "sync", "policy", rule.name, "rate"),
                rule.per_second, rule.burst)
        granted, wait = await bucket.reserve(max_wait=self.config.rate_wait_max)
        if not granted:
            return max(wait, 0.05)
        if wait > 0:
            await asyncio.sleep(wait)
        return None

    async def _run_row(self, tenant: str, client: BotApiClient, row: LogRow, rule: Rule) -> None:
        try:
            defer = await self._policy_turn(tenant, rule)
            if defer is not None:
                await self._record(tenant, row, Outcome("deferred", "SyncPolicy rate limit",
                                                        defer_seconds=defer), rule)
                return
            outcome = await self._apply(tenant, client, row)
            await self._record(tenant, row, outcome, rule)
        except asyncio.CancelledError:
            raise  # the lease expires and another worker re-checks this row
        except Exception:
            log.exception("sync_row_crashed", tenant=tenant, sync_log_id=row.id)
            try:
                async with self.db.session(APP, tenant) as session:
                    await store.defer(session, row.id, rule.backoff(max(1, row.attempts)),
                                      error="internal error", count_retry=False,
                                      uncount_attempt=False)
            except Exception:
                log.exception("sync_row_release_failed", tenant=tenant, sync_log_id=row.id)

    async def _apply(self, tenant: str, client: BotApiClient, row: LogRow) -> Outcome:
        """The Telegram side of one row: check, act, classify errors."""
        chat, user = row.target_chat_id, row.user_id
        redelivered = row.attempts > 1
        try:
            if row.action == "unban":
                async with self.db.session(APP, tenant) as session:
                    if not await store.synced_ban_exists(session, user, chat):
                        return Outcome("skipped", "no ban applied by sync to lift")
            if self.config.precheck or redelivered:
                member = await client.get_chat_member(chat, user)
                done = _already_done(row.action, member)
                if done is not None:
                    if redelivered and row.action == "kick" and member.is_banned:
                        await client.unban_chat_member(chat, user, only_if_banned=True)
                    return Outcome("success" if redelivered else "skipped", done)
            until: int | None = None
            if row.action in ("ban", "restrict"):
                until = timed_until(row.ban_duration, row.banned_at)
                if until is None:
                    return Outcome("skipped", "the ban is already over")
                if row.action == "ban":
                    await client.ban_chat_member(chat, user, until_date=until)
                else:
                    await client.restrict_chat_member(chat, user, until_date=until)
            elif row.action == "kick":
                until = until_date_for(KICK_BAN_SECONDS)
                await client.ban_chat_member(chat, user, until_date=until)
                await client.unban_chat_member(chat, user, only_if_banned=True)
            elif row.action == "unban":
                await client.unban_chat_member(chat, user, only_if_banned=True)
            return Outcome("success", until_date=until)
        except TelegramCircuitOpen as exc:
            return Outcome("deferred", exc.description, defer_seconds=max(exc.retry_in, 0.2))
        except TelegramRetryAfter as exc:
            return Outcome("deferred", exc.description, defer_seconds=exc.retry_after)
        except TelegramUnavailable as exc:
            return Outcome("retry", exc.description)
        except TelegramForbidden as exc:
            return Outcome("failed", exc.description, rights_missing=True)
        except TelegramBadRequest as exc:
            if exc.chat_not_found:
                return Outcome("failed", exc.description, chat_not_found=True)
            if exc.user_not_found:
                return Outcome("skipped", exc.description)
            return Outcome("failed", exc.description, rights_missing=exc.rights_missing)
        except TelegramError as exc:
            return Outcome("failed", exc.description)

    async def _record(self, tenant: str, row: LogRow, outcome: Outcome, rule: Rule) -> None:
        """Persist an outcome and the events it causes, in one transaction."""
        status, error = outcome.status, outcome.error
        dead = False
        deactivated: list = []
        async with self.db.session(APP, tenant) as session:
            if status == "deferred":
                await store.defer(session, row.id, outcome.defer_seconds, error=error,
                                  count_retry=False, uncount_attempt=True)
                return
            if status == "retry":
                if row.retry_count + 1 < rule.max_attempts:
                    await store.defer(session, row.id, rule.backoff(row.retry_count + 1),
                                      error=error, count_retry=True, uncount_attempt=False)
                    return
                await store.count_retry(session, row.id)
                status, dead = "failed", True
            if not await store.finalise(session, row.id, status, error, outcome.until_date):
                return  # someone else finished it (a lease that expired under us)
            if outcome.chat_not_found:
                deactivated = await subscription_store.deactivate_subscriptions_for_chat(
                    session, tenant, row.target_chat_id, subscription_events.REASON_CHAT_NOT_FOUND)
            if outcome.rights_missing:
                await enqueue(session, new_event("sync.failed", tenant, events_pb2.SyncRightsMissing(
                    chat_id=row.target_chat_id, admin_user_id=row.admin_user_id or 0,
                    user_id=row.user_id, error=error or "", sync_id=str(row.sync_id))))
        SYNC_OUTCOMES.labels(tenant, status).inc()
        log.info("sync_row", tenant=tenant, sync_id=str(row.sync_id), chat=row.target_chat_id,
                 action=row.action, status=status, error=error)
        if deactivated and self.redis is not None:
            await subscription_cache.invalidate(self.redis, tenant, deactivated)
        if dead and self.redis is not None:
            await self.redis.xadd(dead_letter_key(tenant, DLQ_TOPIC), {
                "sync_log_id": row.id, "sync_id": str(row.sync_id),
                "ban_event_id": row.ban_event_id, "target_chat_id": row.target_chat_id,
                "user_id": row.user_id, "action": row.action, "error": error or ""})

    async def finish_if_done(self, tenant: str, sync_id: uuid.UUID) -> str | None:
        """Close the run once nothing is pending; emit its outcome event. Return the topic."""
        async with self.db.session(APP, tenant) as session:
            finished = await self._close_if_done(session, tenant, sync_id)
        if finished is None:
            return None
        status, counts = finished
        log.info("sync_finished", tenant=tenant, sync_id=str(sync_id), status=status, **counts)
        return f"sync.{status}"

    async def _close_if_done(self, session, tenant: str,  # type: ignore[no-untyped-def]
                             sync_id: uuid.UUID) -> tuple[str, dict[str, int]] | None:
        """In the caller's transaction: close the run if nothing is pending and put its
        outcome event in the outbox. Return (status, counts), or None if not closed."""
        counts = await store.run_counts(session, sync_id)
        if counts["pending"]:
            return None
        ok = counts["success"] + counts["skipped"]
        status = ("completed" if counts["failed"] == 0
                  else "failed" if ok == 0 else "partial")
        run = await store.close_run(session, sync_id, status)
        if run is None:
            return None
        rows = await store.finished_rows(session, sync_id, limit=FINISH_EVENT_MAX_ROWS + 1)
        truncated = len(rows) > FINISH_EVENT_MAX_ROWS
        rows = rows[:FINISH_EVENT_MAX_ROWS]
        mean_ms = await store.success_mean_ms(session, sync_id)
        finished = events_pb2.SyncFinished(
            ban_event_id=run.ban_event_id, sync_id=str(sync_id), user_id=run.user_id,
            source_chat_id=run.source_chat_id, total_chats=run.total_chats,
            successful=counts["success"], failed=counts["failed"], skipped=counts["skipped"],
            sync_logs_ids=[r.id for r in rows],
            errors={r.target_chat_id: r.error_message or "" for r in rows
                    if r.status == "failed"},
            chat_admins={r.target_chat_id: r.admin_user_id for r in rows if r.admin_user_id},
            mean_sync_ms=int(mean_ms) if mean_ms is not None else 0,
            username=run.username,
            synced_chat_ids=[r.target_chat_id for r in rows if r.status == "success"],
            event_type=run.event_type, rows_truncated=truncated)
        await enqueue(session, new_event(f"sync.{status}", tenant, finished))
        return status, counts

    # -- enforcement on join ---------------------------------------------------------------
    async def _standing_ban(self, session, chat_id: int, user_id: int, *,  # type: ignore[no-untyped-def]
                            covered_by_subscription: bool,
                            now: float) -> tuple[Any, int] | JoinEnforcement:
        """The newest propagated ban of ``user_id`` that still stands and covers ``chat_id``,
        with the until_date to apply; else why not (a JoinEnforcement "not_banned").

        Walks the user's recent runs newest first: an unban run lifts the bans of its
        source chat, and so does an unban registered in that chat after the ban (even one
        no rule propagates); a ban from another chat still stands. A ban covers the chat
        through a sync_logs row, an active subscription of the chat to the user, or a
        SyncPolicy listing the chat; a temporary one must not have run out.
        """
        runs = (await session.execute(text(
            "SELECT sync_id, ban_event_id, user_id, source_chat_id, event_type, ban_duration,"
            " event_timestamp, created_at FROM sync_runs WHERE user_id = :u "
            " AND event_type IN ('ban', 'unban') ORDER BY created_at DESC LIMIT :n"),
            {"u": user_id, "n": JOIN_LOOKBACK_RUNS})).all()
        rules = await store.load_rules(session) if runs else []
        lifted: set[int] = set()
        why = JoinEnforcement("not_banned")
        for run in runs:
            source = run.source_chat_id
            if run.event_type == "unban":
                lifted.add(source)
                continue
            if source in lifted or source == chat_id:
                continue
            if await store.lifted_at_source(session, user_id, source, run.ban_event_id,
                                            run.event_timestamp):
                lifted.add(source)
                if why.ban_event_id is None:
                    why = JoinEnforcement("not_banned", run.ban_event_id,
                                          error="unbanned in the source chat")
                continue
            logged = (await session.execute(text(
                "SELECT until_date FROM sync_logs WHERE user_id = :u AND target_chat_id = :c "
                " AND ban_event_id = :b AND action = 'ban' ORDER BY id LIMIT 1"),
                {"u": user_id, "c": chat_id, "b": run.ban_event_id})).first()
            event = BanEvent(run.ban_event_id, run.user_id, source, "ban", run.ban_duration,
                             event_timestamp=run.event_timestamp)
            listed = [r for r in rules if r.matches(event) and chat_id in r.target_chat_ids]
            if logged is None and not covered_by_subscription and not listed:
                if why.ban_event_id is None:
                    why = JoinEnforcement("not_banned", run.ban_event_id)
                continue
            settings = store.settings_from_row(
                (await store.chat_settings_of(session, [chat_id])).get(chat_id))
            planned = plan_target(listed[0] if listed else self._default_rule(), event, chat_id,
                                  settings, admin_user_id=None, subscription_id=None)
            if logged is not None and logged.until_date:
                until = int(logged.until_date)
            elif planned.ban_duration:
                started = run.event_timestamp or run.created_at
                until = int(started.timestamp()) + planned.ban_duration
            else:
                until = 0
            if until and until - now < 35:
                if why.ban_event_id is None:
                    why = JoinEnforcement("not_banned", run.ban_event_id, error="ban expired")
                continue
            return run, until
        return why

    async def enforce_on_join(self, tenant: str, chat_id: int, user_id: int, *,
                              join_ref: str | None = None) -> JoinEnforcement:
        """A user joined ``chat_id``: if a synced ban covers them there, ban them on sight
        (see :meth:`_standing_ban` for which ban). ``join_ref`` (e.g. the Telegram
        update_id) makes a repeated call for the same join a no-op.
        """
        now = datetime.now(UTC)
        async with self.db.session(APP, tenant) as session:
            subscribed = (await session.execute(text(
                "SELECT id, admin_user_id FROM subscriptions WHERE admin_chat_id = :c "
                " AND tracked_user_id = :u AND is_active LIMIT 1"),
                {"c": chat_id, "u": user_id})).first()
            found = await self._standing_ban(session, chat_id, user_id, covered_by_subscription=
                                             subscribed is not None, now=now.timestamp())
            if isinstance(found, JoinEnforcement):
                return found
            run, until = found
            key = f"{run.ban_event_id}:{chat_id}:ban:join:{join_ref or uuid.uuid4()}"
            claimed = (await session.execute(text(
                "INSERT INTO sync_logs (ban_event_id, source_chat_id, target_chat_id, user_id, "
                " status, sync_id, idempotency_key, action, until_date, started_at, attempts,"
                " admin_user_id, subscription_id, not_before, lease_until) "
                "VALUES (:b, :src, :c, :u, 'pending', :sid, :key, 'ban', :ud, now(), 1, :adm,"
                " :sub, now(), now() + make_interval(secs => :lease)) "
                "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"),
                {"b": run.ban_event_id, "src": run.source_chat_id, "c": chat_id, "u": user_id,
                 "sid": run.sync_id, "key": key, "ud": until,
                 "adm": subscribed.admin_user_id if subscribed else None,
                 "sub": subscribed.id if subscribed else None,
                 "lease": self.config.lease_seconds})).first()
        if claimed is None:
            return JoinEnforcement("banned", run.ban_event_id, until, "already enforced")
        try:
            client = await self.bots.for_tenant(tenant)
            await client.ban_chat_member(chat_id, user_id, until_date=until)
            result = JoinEnforcement("banned", run.ban_event_id, until)
        except (TelegramError, BotTokenMissing) as exc:
            result = JoinEnforcement("failed", run.ban_event_id, until, str(exc))
        async with self.db.session(APP, tenant) as session:
            await store.finalise(session, claimed.id,
                                 "success" if result.status == "banned" else "failed",
                                 result.error, until)
        SYNC_OUTCOMES.labels(tenant, "success" if result.status == "banned" else "failed").inc()
        return result


def timed_until(duration: int | None, banned_at: float | None, *,
                now: float | None = None) -> int | None:
    """The ``until_date`` of a ban or restriction of ``duration`` seconds that began at
    ``banned_at`` (epoch seconds; now when unknown): 0 when permanent, None when it is
    already over. A delayed, retried or manual sync so ends where the source chat's ban
    ends, rather than ``duration`` after the sync; a remainder shorter than Telegram's
    minimum is stretched to it (:func:`until_date_for`), never turned into forever."""
    if not duration:
        return until_date_for(None)
    now = time.time() if now is None else now
    # Never more than the ban itself: an event stamped ahead of this host's clock must not
    # push a 366-day ban past Telegram's limit, where it would read as forever.
    remaining = min(duration, (banned_at if banned_at is not None else now) + duration - now)
    if remaining <= 0:
        return None
    return until_date_for(max(1, math.ceil(remaining)), now=now)


def _nothing_awaiting(sync_id: uuid.UUID, chats: Sequence[int]) -> str:
    where = f" in the {len(chats)} chat(s) given" if chats else ""
    return f"sync {sync_id} has no chats awaiting confirmation{where}"


def _already_done(action: str, member: ChatMember) -> str | None:
    """Why the action is unnecessary given the member's state (None: do it)."""
    if action == "ban" and member.is_banned:
        return "already banned"
    if action == "kick" and not member.is_present:
        return "not in the chat"
    if action == "restrict":
        if member.is_banned:
            return "already banned"
        if member.status == "restricted":
            return "already restricted"
    if action == "unban" and not member.is_banned:
        return "not banned"
    return None
