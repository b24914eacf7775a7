"""Queueing and delivering notifications: preferences, quiet hours, digests, limits, retries.

Every notification first becomes a row of ``notification_queue`` (in the same
transaction as whatever caused it), with a status and a due time:

* ``suppressed`` — the user turned this type off (urgent ones still go), or, for
  a notification of moderation origin, turned notifications off altogether in the
  moderation app's settings (urgent ones too: "off" means off);
* ``pending`` — due now (or after a retry back-off / the rate-limit window);
* ``held`` — inside the user's quiet hours; due when they end;
* ``digest`` — digest mode; due when the user's open digest closes.

:meth:`Notifier.deliver_due` (run in a loop by the service) leases due rows,
suppresses the moderation rows of a user who turned notifications off since they
were queued, re-checks quiet hours, applies the per-user rate limit (the excess
waits for the next minute, nothing is dropped), renders, sends, and logs every
attempt in ``notification_logs``. A failed send is retried with exponential back-off up to
``max_attempts`` times; a permanent failure (blocked bot, bad address) stops at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import groupby

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.db import Database
from services.kit.errors import Validator

from . import store
from .channels import Channel, DeliveryError, OutgoingMessage
from .drafts import MAX_BATCH, ORIGIN_MODERATION, Draft, validate_draft
from .preferences import Preferences, in_quiet_hours, quiet_hours_end
from .ratelimit import UserRateLimiter
from .templates import (
    DEFAULT_TEMPLATES,
    DIGEST_HEADER,
    escape_html,
    no_escape,
    pick_language,
    render,
)

log = structlog.get_logger("tenantry.notification")

APP = "notification"
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class Notifier:
    """The notification domain: queue drafts, deliver what is due."""

    def __init__(self, db: Database, redis: Redis, channels: dict[str, Channel], *,
                 clock: Clock = utcnow, limiter: UserRateLimiter | None = None,
                 max_attempts: int = 3, retry_base_seconds: float = 2.0,
                 lease_seconds: float = 120.0) -> None:
        self.db = db
        self.channels = channels
        self.clock = clock
        self.limiter = limiter or UserRateLimiter(redis)
        self.max_attempts = max_attempts
        self.retry_base = retry_base_seconds
        self.lease = timedelta(seconds=lease_seconds)

    # -- queueing ---------------------------------------------------------------------------
    async def submit(self, tenant: str, drafts: list[Draft]) -> list[store.QueuedNotification]:
        """Validate every draft (all or nothing), then queue them in one transaction."""
        v = Validator()
        v.require(1 <= len(drafts) <= MAX_BATCH, "notifications", f"1 to {MAX_BATCH} items")
        for i, draft in enumerate(drafts):
            validate_draft(v, draft, f"notifications[{i}]." if len(drafts) > 1 else "")
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            queued: list[store.QueuedNotification] = []
            for draft in drafts:
                queued += await self.queue(session, draft)
            return queued

    async def queue(self, session: AsyncSession, draft: Draft,
                    source_event_id: str | None = None) -> list[store.QueuedNotification]:
        """Queue ``draft`` (already valid) on each of its channels, on the caller's session."""
        prefs, _ = await store.load_preferences(session, draft.user_id)
        now = self.clock()
        channels = [draft.channel] if draft.channel else (prefs.channels or ["telegram"])
        rows = []
        for channel in channels:
            status, due = await self._placement(session, draft, prefs, channel, now)
            rows.append(await store.enqueue(
                session, user_id=draft.user_id, notification_type=draft.notification_type,
                template_id=draft.template, params=dict(draft.params), channel=channel,
                priority=draft.priority, language=draft.language or None, chat_id=draft.chat_id,
                status=status, deliver_after=due, source_event_id=source_event_id,
                origin=draft.origin or None))
        return rows

    async def _placement(self, session: AsyncSession, draft: Draft, prefs: Preferences,
                         channel: str, now: datetime) -> tuple[str, datetime]:
        if draft.origin == ORIGIN_MODERATION and not prefs.notifications_enabled:
            # Before the urgent bypass: the seed's "notifications on/off" has no
            # exception, and no moderation notice is urgent to someone who opted out.
            return "suppressed", now
        urgent = draft.priority == "urgent"
        if urgent:
            return "pending", now
        if not prefs.wants(draft.notification_type):
            return "suppressed", now
        if prefs.digest_mode:
            due = await store.pending_digest_due(session, draft.user_id, channel)
            return "digest", due or now + timedelta(hours=prefs.digest_interval_hours)
        if in_quiet_hours(prefs, now):
            return "held", quiet_hours_end(prefs, now)
        return "pending", now

    # -- delivery ---------------------------------------------------------------------------
    async def deliver_due(self, tenant: str, limit: int = 100) -> int:
        """Deliver what is due for ``tenant``; return how many messages went out."""
        now = self.clock()
        async with self.db.session(APP, tenant) as session:
            due = await store.claim_due(session, now, now + self.lease, limit)
            overrides = await store.template_overrides(session)
        texts = {key: body for key, (body, _) in overrides.items()}
        sent = 0
        for unit in _units(due):
            sent += await self._deliver_unit(tenant, unit, texts)
        return sent

    async def _deliver_unit(self, tenant: str, unit: list[store.QueuedNotification],
                            texts: dict[tuple[str, str], str]) -> int:
        now = self.clock()
        async with self.db.session(APP, tenant) as session:
            prefs, _ = await store.load_preferences(session, unit[0].user_id)
            if not prefs.notifications_enabled:
                # Queued before the user turned notifications off (held by quiet
                # hours, waiting in a digest, retrying): not sent after all.
                muted = [item.id for item in unit if item.origin == ORIGIN_MODERATION]
                if muted:
                    await store.suppress(session, muted)
                    unit = [item for item in unit if item.origin != ORIGIN_MODERATION]
                    if not unit:
                        return 0
            first = unit[0]
            ids = [item.id for item in unit]
            if first.priority != "urgent" and in_quiet_hours(prefs, now):
                await store.reschedule(session, ids, status="held" if first.status != "digest"
                                       else "digest", deliver_after=quiet_hours_end(prefs, now))
                return 0
            wait = await self.limiter.acquire(tenant, first.user_id, now)
            if wait is not None:
                await store.reschedule(session, ids, status=first.status, deliver_after=wait)
                return 0
            message = self._compose(tenant, unit, prefs, texts)
            channel = self.channels.get(first.channel)
            attempt = max(item.attempts for item in unit) + 1
            error: DeliveryError | None = None
            try:
                if channel is None:
                    raise DeliveryError(f"channel {first.channel!r} is not configured",
                                        permanent=True)
                await channel.deliver(message)
            except DeliveryError as exc:
                error = exc
            payload = {"text": message.text, "items": len(unit),
                       "chat_id": message.chat_id if first.channel == "telegram" else None}
            for item in unit:
                await store.log_attempt(session, item, status="failed" if error else "sent",
                                        attempt=attempt, payload=payload,
                                        error=str(error) if error else None, now=now)
            if error is None:
                await store.finish(session, ids, status="sent", now=now)
                return 1
            log.warning("notification_failed", tenant=tenant, user_id=first.user_id,
                        channel=first.channel, attempt=attempt, error=str(error),
                        permanent=error.permanent)
            if error.permanent or attempt >= self.max_attempts:
                await store.finish(session, ids, status="failed", now=now, error=str(error))
            else:
                backoff = self.retry_base * 2 ** (attempt - 1)
                delay = max(backoff, error.retry_after or 0.0)
                await store.reschedule(session, ids,
                                       status="digest" if first.status == "digest" else "pending",
                                       deliver_after=now + timedelta(seconds=delay),
                                       error=str(error), add_attempt=True)
            return 0

    def _compose(self, tenant: str, unit: list[store.QueuedNotification], prefs: Preferences,
                 texts: dict[tuple[str, str], str]) -> OutgoingMessage:
        first = unit[0]
        language = pick_language(first.language, prefs.language)

        def body(item: store.QueuedNotification, escape: Callable[[str], str]) -> str:
            template = texts.get((item.template_id, language)) or \
                DEFAULT_TEMPLATES[item.template_id][language]
            return render(template, item.params, escape)

        if len(unit) == 1 and first.status != "digest":
            plain, html = body(first, no_escape), body(first, escape_html)
        else:
            header = DIGEST_HEADER[language].format(count=len(unit))
            plain = "\n\n".join([header, *(body(i, no_escape) for i in unit)])
            html = "\n\n".join([escape_html(header), *(body(i, escape_html) for i in unit)])
        return OutgoingMessage(
            tenant=tenant, user_id=first.user_id, notification_type=first.notification_type,
            subject=plain.splitlines()[0][:120] if plain else first.notification_type,
            text=plain, html=html, chat_id=first.chat_id, email=prefs.email,
            webhook_url=prefs.webhook_url, webhook_secret=prefs.webhook_secret,
            data={"items": [{"notification_type": i.notification_type, "params": i.params}
                            for i in unit]},
        )

    async def run(self, stop: asyncio.Event, tenants: Callable[[], Awaitable[Iterable[str]]],
                  interval: float = 1.0) -> None:
        """Deliver due notifications for every tenant until ``stop`` is set."""
        while not stop.is_set():
            busy = False
            try:
                for tenant in await tenants():
                    busy |= await self.deliver_due(tenant) > 0
            except Exception:
                log.exception("notification_delivery_loop_failed")
            if not busy:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except TimeoutError:
                    pass


def _units(due: list[store.QueuedNotification]) -> list[list[store.QueuedNotification]]:
    """Digest rows of one user, channel and chat go out as one message; others alone."""
    units: list[list[store.QueuedNotification]] = []
    digest = sorted((q for q in due if q.status == "digest"),
                    key=lambda q: (q.user_id, q.channel, q.chat_id or 0, q.id))
    for _, group in groupby(digest, key=lambda q: (q.user_id, q.channel, q.chat_id or 0)):
        units.append(list(group))
    units += [[q] for q in due if q.status != "digest"]
    return units


