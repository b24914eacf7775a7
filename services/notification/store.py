"""SQL over the tenant's notification schema: preferences, templates, the queue, the log.

Every function takes a session from ``Database.session("notification", tenant)``,
whose search_path is the tenant's schema, so none names a schema or a tenant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .preferences import Preferences


@dataclass
class QueuedNotification:
    """A row of ``notification_queue``."""

    id: int
    user_id: int
    notification_type: str
    template_id: str
    params: dict[str, Any]
    channel: str
    priority: str
    language: str | None
    chat_id: int | None
    status: str
    deliver_after: datetime
    attempts: int
    origin: str | None = None


_QUEUE_COLUMNS = ("id, user_id, notification_type, template_id, params, channel, priority, "
                  "language, chat_id, status, deliver_after, attempts, origin")


def _queued(row: Any) -> QueuedNotification:
    params = row.params if isinstance(row.params, dict) else json.loads(row.params or "{}")
    return QueuedNotification(row.id, row.user_id, row.notification_type, row.template_id,
                              params, row.channel, row.priority, row.language, row.chat_id,
                              row.status, row.deliver_after, row.attempts, row.origin)


# -- preferences ----------------------------------------------------------------------------

async def load_preferences(session: AsyncSession, user_id: int) -> tuple[Preferences, bool]:
    """The user's preferences (defaults when none are stored) and whether they are stored."""
    row = (await session.execute(text(
        "SELECT * FROM notification_preferences WHERE user_id = :u"), {"u": user_id})).first()
    if row is None:
        return Preferences(user_id=user_id), False
    return Preferences(
        user_id=row.user_id, enabled_types=list(row.enabled_types or []),
        quiet_hours_start=row.quiet_hours_start, quiet_hours_end=row.quiet_hours_end,
        digest_mode=row.digest_mode, digest_interval_hours=row.digest_interval_hours,
        timezone=row.timezone, language=row.language, channels=list(row.channels or []),
        email=row.email, webhook_url=row.webhook_url, webhook_secret=row.webhook_secret,
        notifications_enabled=row.notifications_enabled,
    ), True


async def save_preferences(session: AsyncSession, prefs: Preferences) -> None:
    """Insert or replace the user's preferences.

    ``notifications_enabled`` is not written: it is the moderation user's setting,
    changed only by :func:`apply_user_settings`.
    """
    await session.execute(text("""
        INSERT INTO notification_preferences (user_id, enabled_types, quiet_hours_start,
            quiet_hours_end, digest_mode, digest_interval_hours, timezone, language, channels,
            email, webhook_url, webhook_secret, updated_at)
        VALUES (:user_id, CAST(:enabled_types AS jsonb), :qs, :qe, :digest_mode, :dih, :tz,
            :language, CAST(:channels AS jsonb), :email, :webhook_url, :webhook_secret, now())
        ON CONFLICT (user_id) DO UPDATE SET enabled_types = EXCLUDED.enabled_types,
            quiet_hours_start = EXCLUDED.quiet_hours_start,
            quiet_hours_end = EXCLUDED.quiet_hours_end, digest_mode = EXCLUDED.digest_mode,
            digest_interval_hours = EXCLUDED.digest_interval_hours, timezone = EXCLUDED.timezone,
            language = EXCLUDED.language, channels = EXCLUDED.channels, email = EXCLUDED.email,
            webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret,
            updated_at = now()
    """), {"user_id": prefs.user_id, "enabled_types": json.dumps(prefs.enabled_types),
           "qs": prefs.quiet_hours_start, "qe": prefs.quiet_hours_end,
           "digest_mode": prefs.digest_mode, "dih": prefs.digest_interval_hours,
           "tz": prefs.timezone, "language": prefs.language,
           "channels": json.dumps(prefs.channels), "email": prefs.email,
           "webhook_url": prefs.webhook_url, "webhook_secret": prefs.webhook_secret})


async def apply_user_settings(session: AsyncSession, *, user_id: int, notifications_enabled: bool,
                              language: str | None, timezone: str | None,
                              updated_at: datetime) -> bool:
    """Apply a moderation user's settings as of ``updated_at``; False if a newer one was applied.

    ``language`` / ``timezone`` None keep the stored value (or the default): the
    moderation app accepts tags and zones this service cannot use. One statement,
    so two events of one user handled at once still end with the newer one.
    """
    row = (await session.execute(text("""
        INSERT INTO notification_preferences (user_id, notifications_enabled, language, timezone,
            user_settings_at, updated_at)
        VALUES (:u, :on, coalesce(CAST(:lang AS varchar), 'ru'),
            coalesce(CAST(:tz AS varchar), 'UTC'), :at, now())
        ON CONFLICT (user_id) DO UPDATE SET notifications_enabled = EXCLUDED.notifications_enabled,
            language = coalesce(CAST(:lang AS varchar), notification_preferences.language),
            timezone = coalesce(CAST(:tz AS varchar), notification_preferences.timezone),
            user_settings_at = EXCLUDED.user_settings_at, updated_at = now()
        WHERE notification_preferences.user_settings_at IS NULL
            OR notification_preferences.user_settings_at < EXCLUDED.user_settings_at
        RETURNING 1
    """), {"u": user_id, "on": notifications_enabled, "lang": language, "tz": timezone,
           "at": updated_at})).first()
    return row is not None


# -- templates ------------------------------------------------------------------------------

async def template_overrides(session: AsyncSession) -> dict[tuple[str, str], tuple[str, datetime]]:
    """The tenant's changed texts: (template id, language) → (text, updated_at)."""
    rows = (await session.execute(text(
        "SELECT id, language, body, updated_at FROM notification_templates"))).all()
    return {(r.id, r.language): (r.body, r.updated_at) for r in rows}


async def set_template_text(session: AsyncSession, template_id: str, language: str,
                            body: str | None) -> None:
    """Store a changed text, or (``body`` None) go back to the default."""
    if body is None:
        await session.execute(text(
            "DELETE FROM notification_templates WHERE id = :i AND language = :l"),
            {"i": template_id, "l": language})
        return
    await session.execute(text("""
        INSERT INTO notification_templates (id, language, body, updated_at)
        VALUES (:i, :l, :b, now())
        ON CONFLICT (id, language) DO UPDATE SET body = EXCLUDED.body, updated_at = now()
    """), {"i": template_id, "l": language, "b": body})


# -- idempotency ----------------------------------------------------------------------------

async def is_processed(session: AsyncSession, consumer: str, key: str) -> bool:
    """Whether ``processed_events`` already holds ``key`` for ``consumer``."""
    return (await session.execute(text(
        "SELECT 1 FROM processed_events WHERE consumer = :c AND event_id = :e"),
        {"c": consumer, "e": key})).first() is not None


# -- queue ----------------------------------------------------------------------------------

async def enqueue(session: AsyncSession, *, user_id: int, notification_type: str,
                  template_id: str, params: dict[str, Any], channel: str, priority: str,
                  language: str | None, chat_id: int | None, status: str,
                  deliver_after: datetime, source_event_id: str | None = None,
                  origin: str | None = None) -> QueuedNotification:
    """Add a notification to the queue; return the row."""
    row = (await session.execute(text(f"""
        INSERT INTO notification_queue (user_id, notification_type, template_id, params, channel,
            priority, language, chat_id, status, deliver_after, source_event_id, origin)
        VALUES (:user_id, :nt, :tid, CAST(:params AS jsonb), :channel, :priority, :language,
            :chat_id, :status, :deliver_after, :source, :origin)
        RETURNING {_QUEUE_COLUMNS}
    """), {"user_id": user_id, "nt": notification_type, "tid": template_id,
           "params": json.dumps(params, ensure_ascii=False), "channel": channel,
           "priority": priority, "language": language, "chat_id": chat_id, "status": status,
           "deliver_after": deliver_after, "source": source_event_id,
           "origin": origin})).one()
    return _queued(row)


async def pending_digest_due(session: AsyncSession, user_id: int, channel: str) -> datetime | None:
    """When the user's open digest on ``channel`` goes out (None when there is none)."""
    return (await session.execute(text(
        "SELECT min(deliver_after) FROM notification_queue "
        "WHERE user_id = :u AND channel = :c AND status = 'digest'"),
        {"u": user_id, "c": channel})).scalar_one()


async def claim_due(session: AsyncSession, now: datetime, lease_until: datetime,
                    limit: int) -> list[QueuedNotification]:
    """Lock due rows (urgent first) and lease them so no other worker takes them meanwhile."""
    rows = (await session.execute(text(f"""
        WITH due AS (
            SELECT id FROM notification_queue
            WHERE status IN ('pending', 'held', 'digest') AND deliver_after <= :now
            ORDER BY (priority = 'urgent') DESC, id
            LIMIT :limit FOR UPDATE SKIP LOCKED)
        UPDATE notification_queue q SET deliver_after = :lease FROM due WHERE q.id = due.id
        RETURNING {', '.join('q.' + c.strip() for c in _QUEUE_COLUMNS.split(','))}
    """), {"now": now, "lease": lease_until, "limit": limit})).all()
    return sorted((_queued(r) for r in rows), key=lambda q: q.id)


async def reschedule(session: AsyncSession, ids: list[int], *, status: str,
                     deliver_after: datetime, error: str | None = None,
                     add_attempt: bool = False) -> None:
    """Put rows back in the queue for later."""
    await session.execute(text(
        "UPDATE notification_queue SET status = :s, deliver_after = :d, "
        "last_error = coalesce(:e, last_error), attempts = attempts + :a WHERE id = ANY(:ids)"),
        {"s": status, "d": deliver_after, "e": error, "a": 1 if add_attempt else 0, "ids": ids})


async def suppress(session: AsyncSession, ids: list[int]) -> None:
    """Mark rows suppressed for good (the user turned notifications off meanwhile)."""
    await session.execute(text(
        "UPDATE notification_queue SET status = 'suppressed' WHERE id = ANY(:ids)"), {"ids": ids})


async def finish(session: AsyncSession, ids: list[int], *, status: str, now: datetime,
                 error: str | None = None) -> None:
    """Mark rows sent or failed for good."""
    await session.execute(text(
        "UPDATE notification_queue SET status = :s, attempts = attempts + 1, last_error = :e, "
        "sent_at = :sent WHERE id = ANY(:ids)"),
        {"s": status, "e": error, "sent": now if status == "sent" else None, "ids": ids})


# -- log ------------------------------------------------------------------------------------

async def log_attempt(session: AsyncSession, item: QueuedNotification, *, status: str,
                      attempt: int, payload: dict[str, Any], error: str | None,
                      now: datetime) -> None:
    """Record one delivery attempt in ``notification_logs`` (seed §6)."""
    await session.execute(text("""
        INSERT INTO notification_logs (user_id, notification_type, channel, status, template_id,
            payload, error_message, sent_at, created_at, notification_id, attempt)
        VALUES (:u, :nt, :c, :s, :t, CAST(:p AS jsonb), :e, :sent, :now, :nid, :a)
    """), {"u": item.user_id, "nt": item.notification_type, "c": item.channel, "s": status,
           "t": item.template_id, "p": json.dumps(payload, ensure_ascii=False), "e": error,
           "sent": now if status == "sent" else None, "now": now, "nid": item.id, "a": attempt})


async def list_logs(session: AsyncSession, *, user_id: int, status: str, after_id: int | None,
                    limit: int) -> list[Any]:
    """Log rows newest first, keyset-paginated on id."""
    clauses, params = ["TRUE"], {"limit": limit}
    if user_id:
        clauses.append("user_id = :u")
        params["u"] = user_id
    if status:
        clauses.append("status = :s")
        params["s"] = status
    if after_id is not None:
        clauses.append("id < :after")
        params["after"] = after_id
    return list((await session.execute(text(
        f"SELECT * FROM notification_logs WHERE {' AND '.join(clauses)} "
        "ORDER BY id DESC LIMIT :limit"), params)).all())
