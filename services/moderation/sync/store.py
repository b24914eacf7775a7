"""SQL on the sync tables, in the session's tenant schema (plain text SQL)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import BanEvent, ChatSettings, LogRow, PlannedTarget, RunStatus
from .rules import Rule, rule_from_spec

_LOG_COLUMNS = ("id, sync_id, ban_event_id, source_chat_id, target_chat_id, user_id, action, "
                "ban_duration, attempts, retry_count, admin_user_id, policy, "
                "(SELECT extract(epoch FROM coalesce(r.event_timestamp, r.created_at)) "
                " FROM sync_runs r WHERE r.sync_id = sync_logs.sync_id) AS banned_at")


def _log_row(r: Any) -> LogRow:
    return LogRow(id=r.id, sync_id=r.sync_id, ban_event_id=r.ban_event_id,
                  source_chat_id=r.source_chat_id, target_chat_id=r.target_chat_id,
                  user_id=r.user_id, action=r.action, ban_duration=r.ban_duration,
                  attempts=r.attempts, retry_count=r.retry_count or 0,
                  admin_user_id=r.admin_user_id, policy=r.policy,
                  banned_at=float(r.banned_at) if r.banned_at is not None else None)


async def load_rules(session: AsyncSession) -> list[Rule]:
    """Every SyncPolicy row of the tenant as a Rule (unparseable specs are skipped)."""
    rows = (await session.execute(text(
        "SELECT name, spec, suspended FROM sync_policies ORDER BY name"))).all()
    rules = []
    for row in rows:
        spec = row.spec if isinstance(row.spec, dict) else json.loads(row.spec)
        try:
            rules.append(rule_from_spec(row.name, spec, suspended=row.suspended))
        except (ValueError, TypeError, AttributeError):
            continue  # the operator validates specs; a bad row must not stop every sync
    return rules


async def insert_run(session: AsyncSession, run_key: str, event: BanEvent, *, trigger: str,
                     policy: str | None) -> uuid.UUID | None:
    """Create the run for ``run_key``; None when it already exists (a redelivery)."""
    sync_id = uuid.uuid4()
    row = (await session.execute(text(
        "INSERT INTO sync_runs (sync_id, run_key, ban_event_id, event_id, user_id, "
        " source_chat_id, event_type, ban_duration, reason, username, event_timestamp, policy, "
        " trigger) VALUES (:sid, :key, :be, :eid, :u, :c, :t, :d, :r, :un, :ts, :p, :tr) "
        "ON CONFLICT (run_key) DO NOTHING RETURNING sync_id"),
        {"sid": sync_id, "key": run_key, "be": event.ban_event_id, "eid": event.event_id,
         "u": event.user_id, "c": event.chat_id, "t": event.event_type, "d": event.ban_duration,
         "r": event.reason, "un": event.username, "ts": event.event_timestamp, "p": policy,
         "tr": trigger})).first()
    return row.sync_id if row else None


async def run_id_of(session: AsyncSession, run_key: str) -> uuid.UUID | None:
    """The sync_id of an existing run."""
    return (await session.execute(text("SELECT sync_id FROM sync_runs WHERE run_key = :k"),
                                  {"k": run_key})).scalar_one_or_none()


async def subscriber_pages(session: AsyncSession, user_id: int, page_size: int
                           ) -> AsyncIterator[list[Any]]:
    """Active subscriptions to ``user_id`` with their chat's settings and whether the
    subscribing admin may ban there (``admin_can_ban``: true unless their admin record says
    otherwise), keyset pages by id."""
    after = 0
    while True:
        rows = (await session.execute(text(
            "SELECT s.id, s.admin_user_id, s.admin_chat_id, cs.sync_ban_type, "
            " cs.sync_delay_seconds, cs.auto_sync_enabled, cs.require_confirmation, "
            " cs.temporary_ban_seconds, coalesce(a.can_ban, true) AS admin_can_ban "
            "FROM subscriptions s LEFT JOIN chat_settings cs ON cs.chat_id = s.admin_chat_id "
            "LEFT JOIN admins a ON a.user_id = s.admin_user_id AND a.chat_id = s.admin_chat_id "
            "WHERE s.tracked_user_id = :u AND s.is_active AND s.id > :after "
            "ORDER BY s.id LIMIT :n"), {"u": user_id, "after": after, "n": page_size})).all()
        if not rows:
            return
        yield list(rows)
        after = rows[-1].id
        if len(rows) < page_size:
            return


async def chat_admins_of(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, int]:
    """The admin to tell about each of ``chat_ids`` (chats without an admin record are
    absent): its owner, else an admin, else a moderator; one who may ban first."""
    rows = (await session.execute(text(
        "SELECT DISTINCT ON (chat_id) chat_id, user_id FROM admins "
        "WHERE chat_id = ANY(CAST(:ids AS bigint[])) AND user_id IS NOT NULL "
        "ORDER BY chat_id, CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, "
        " can_ban DESC, user_id"), {"ids": list(chat_ids)})).all()
    return {int(r.chat_id): int(r.user_id) for r in rows}


async def chat_settings_of(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, Any]:
    """chat_settings rows of ``chat_ids`` (missing chats are absent from the result)."""
    rows = (await session.execute(text(
        "SELECT chat_id, sync_ban_type, sync_delay_seconds, auto_sync_enabled, "
        " require_confirmation, temporary_ban_seconds FROM chat_settings "
        "WHERE chat_id = ANY(CAST(:ids AS bigint[]))"), {"ids": list(chat_ids)})).all()
    return {r.chat_id: r for r in rows}


def settings_from_row(row: Any | None) -> ChatSettings:
    """ChatSettings from a (possibly absent or partly NULL) row: the seed's defaults."""
    if row is None:
        return ChatSettings()
    return ChatSettings(
        sync_ban_type=row.sync_ban_type or "same",
        sync_delay_seconds=int(row.sync_delay_seconds or 0),
        auto_sync_enabled=row.auto_sync_enabled is not False,
        require_confirmation=bool(row.require_confirmation),
        temporary_ban_seconds=row.temporary_ban_seconds)


async def insert_targets(session: AsyncSession, sync_id: uuid.UUID, event: BanEvent,
                         targets: Sequence[PlannedTarget]) -> int:
    """Write planned rows; rows whose idempotency key exists are left alone. Return inserted."""
    if not targets:
        return 0
    result = await session.execute(text(
        "INSERT INTO sync_logs (ban_event_id, source_chat_id, target_chat_id, user_id, status, "
        " error_message, sync_id, idempotency_key, action, ban_duration, not_before, "
        " awaiting_confirmation, admin_user_id, subscription_id, policy, completed_at) "
        "SELECT :be, :src, t.chat, :u, CASE WHEN t.skip IS NULL THEN 'pending' ELSE 'skipped' END,"
        " t.skip, :sid, t.key, t.action, t.duration, now() + make_interval(secs => t.delay),"
        " t.confirm, t.admin, t.sub, t.policy, CASE WHEN t.skip IS NULL THEN NULL ELSE now() END "
        "FROM unnest(CAST(:chats AS bigint[]), CAST(:skips AS text[]), CAST(:keys AS text[]),"
        " CAST(:actions AS text[]), CAST(:durations AS bigint[]), CAST(:delays AS int[]),"
        " CAST(:confirms AS boolean[]), CAST(:admins AS bigint[]), CAST(:subs AS bigint[]),"
        " CAST(:policies AS text[])) AS t(chat, skip, key, action, duration, delay, confirm, admin, sub,"
        " policy) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"),
        {"be": event.ban_event_id, "src": event.chat_id, "u": event.user_id, "sid": sync_id,
         "chats": [t.target_chat_id for t in targets], "skips": [t.skip_reason for t in targets],
         "keys": [t.idempotency_key(event.ban_event_id) for t in targets],
         "actions": [t.action for t in targets], "durations": [t.ban_duration for t in targets],
         "delays": [t.delay_seconds for t in targets],
         "confirms": [t.awaiting_confirmation for t in targets],
         "admins": [t.admin_user_id for t in targets],
         "subs": [t.subscription_id for t in targets], "policies": [t.policy for t in targets]})
    return len(result.all())


async def set_total(session: AsyncSession, sync_id: uuid.UUID, total: int) -> None:
    """Record how many target chats the run planned."""
    await session.execute(text("UPDATE sync_runs SET total_chats = :n WHERE sync_id = :s"),
                          {"n": total, "s": sync_id})


async def claim_due(session: AsyncSession, *, sync_id: uuid.UUID | None, limit: int,
                    lease_seconds: float) -> list[LogRow]:
    """Lease up to ``limit`` due pending rows (of one run, or of any): nobody else takes
    them until the lease ends. ``attempts`` counts leases: above 1 means an earlier
    holder may have called Telegram already."""
    where = "sync_id = :sid AND " if sync_id is not None else ""
    rows = (await session.execute(text(
        "UPDATE sync_logs SET lease_until = now() + make_interval(secs => :lease), "
        " attempts = attempts + 1, started_at = coalesce(started_at, now()) "
        "WHERE id IN (SELECT id FROM sync_logs WHERE " + where +
        " status = 'pending' AND NOT awaiting_confirmation AND not_before <= now() "
        " AND (lease_until IS NULL OR lease_until < now()) "
        " ORDER BY not_before, id LIMIT :n FOR UPDATE SKIP LOCKED) "
        "RETURNING " + _LOG_COLUMNS),
        {"sid": sync_id, "n": limit, "lease": lease_seconds})).all()
    return sorted((_log_row(r) for r in rows), key=lambda r: r.id)


async def extend_leases(session: AsyncSession, row_ids: list[int], lease_seconds: float) -> int:
    """Renew the leases of rows still being worked on (a worker's heartbeat); rows that were
    finished or deferred meanwhile (lease cleared) are left alone. Returns how many."""
    result = await session.execute(text(
        "UPDATE sync_logs SET lease_until = now() + make_interval(secs => :lease) "
        "WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'pending' AND lease_until IS NOT NULL"),
        {"ids": row_ids, "lease": lease_seconds})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def next_due_in(session: AsyncSession, sync_id: uuid.UUID) -> float | None:
    """Seconds until the run's next pending row may be taken (None: nothing pending)."""
    value = (await session.execute(text(
        "SELECT extract(epoch FROM min(greatest(not_before, coalesce(lease_until, not_before)))"
        " - now()) FROM sync_logs "
        "WHERE sync_id = :s AND status = 'pending' AND NOT awaiting_confirmation"),
        {"s": sync_id})).scalar_one_or_none()
    return None if value is None else max(0.0, float(value))


async def finalise(session: AsyncSession, row_id: int, status: str, error: str | None,
                   until_date: int | None) -> bool:
    """Record a terminal outcome; False when the row was no longer pending."""
    done = (await session.execute(text(
        "UPDATE sync_logs SET status = :st, error_message = :e, until_date = :ud, "
        " completed_at = now(), lease_until = NULL WHERE id = :id AND status = 'pending' "
        "RETURNING id"), {"st": status, "e": error, "ud": until_date, "id": row_id})).first()
    return done is not None


async def defer(session: AsyncSession, row_id: int, seconds: float, *, error: str | None,
                count_retry: bool, uncount_attempt: bool) -> None:
    """Put a row back to pending, due in ``seconds`` (a retry, a 429, an open circuit)."""
    await session.execute(text(
        "UPDATE sync_logs SET lease_until = NULL, error_message = :e, "
        " not_before = now() + make_interval(secs => :d), "
        " retry_count = coalesce(retry_count, 0) + :r, attempts = attempts - :a "
        "WHERE id = :id AND status = 'pending'"),
        {"e": error, "d": seconds, "r": 1 if count_retry else 0, "a": 1 if uncount_attempt else 0,
         "id": row_id})


async def count_retry(session: AsyncSession, row_id: int) -> None:
    """A transient failure that ends the row: count it in retry_count too."""
    await session.execute(text(
        "UPDATE sync_logs SET retry_count = coalesce(retry_count, 0) + 1 WHERE id = :id"),
        {"id": row_id})


async def run_counts(session: AsyncSession, sync_id: uuid.UUID) -> dict[str, int]:
    """Rows of a run by status ("awaiting" for rows waiting for a confirmation)."""
    rows = (await session.execute(text(
        "SELECT CASE WHEN status = 'pending' AND awaiting_confirmation THEN 'awaiting' "
        " ELSE status END AS s, count(*) AS n FROM sync_logs WHERE sync_id = :s GROUP BY 1"),
        {"s": sync_id})).all()
    counts = {s: 0 for s in ("pending", "success", "failed", "skipped", "awaiting")}
    counts.update({r.s: int(r.n) for r in rows})
    return counts


async def close_run(session: AsyncSession, sync_id: uuid.UUID, status: str) -> Any | None:
    """Mark a run finished (once); return the run row, or None if already finished."""
    return (await session.execute(text(
        "UPDATE sync_runs SET status = :st, finished_at = now() "
        "WHERE sync_id = :s AND finished_at IS NULL RETURNING *"),
        {"st": status, "s": sync_id})).first()


async def success_mean_ms(session: AsyncSession, sync_id: uuid.UUID) -> float | None:
    """Mean milliseconds from the ban event to a successful apply, over the whole run."""
    value = (await session.execute(text(
        "SELECT avg(extract(epoch FROM l.completed_at - r.event_timestamp) * 1000) "
        "FROM sync_logs l JOIN sync_runs r USING (sync_id) "
        "WHERE l.sync_id = :s AND l.status = 'success'"), {"s": sync_id})).scalar()
    return float(value) if value is not None else None


async def finished_rows(session: AsyncSession, sync_id: uuid.UUID, limit: int = 1000
                        ) -> list[Any]:
    """The run's terminal rows (at most ``limit``) for the finish event."""
    return list((await session.execute(text(
        "SELECT id, target_chat_id, status, error_message, admin_user_id FROM sync_logs "
        "WHERE sync_id = :s AND status <> 'pending' ORDER BY id LIMIT :n"),
        {"s": sync_id, "n": limit})).all())


async def get_run(session: AsyncSession, sync_id: uuid.UUID) -> RunStatus | None:
    """A run and its counts."""
    r = (await session.execute(text("SELECT * FROM sync_runs WHERE sync_id = :s"),
                               {"s": sync_id})).first()
    if r is None:
        return None
    return RunStatus(sync_id=r.sync_id, ban_event_id=r.ban_event_id, user_id=r.user_id,
                     source_chat_id=r.source_chat_id, event_type=r.event_type,
                     trigger=r.trigger, status=r.status, total_chats=r.total_chats,
                     created_at=r.created_at, finished_at=r.finished_at,
                     counts=await run_counts(session, sync_id), policy=r.policy)


async def latest_event_of(session: AsyncSession, ban_event_id: int) -> BanEvent | None:
    """The ban event behind ``ban_event_id``: from an earlier run, else from ban_events."""
    r = (await session.execute(text(
        "SELECT ban_event_id, user_id, source_chat_id AS chat_id, event_type, ban_duration, "
        " reason, event_id, username, event_timestamp FROM sync_runs "
        "WHERE ban_event_id = :b ORDER BY created_at LIMIT 1"), {"b": ban_event_id})).first()
    if r is None:
        exists = (await session.execute(text("SELECT to_regclass('ban_events') IS NOT NULL"))
                  ).scalar_one()
        if not exists:
            return None
        r = (await session.execute(text(
            "SELECT id AS ban_event_id, user_id, chat_id, event_type, ban_duration, "
            " coalesce(reason, '') AS reason, event_id, '' AS username, event_timestamp "
            "FROM ban_events WHERE id = :b"), {"b": ban_event_id})).first()
        if r is None:
            return None
    return BanEvent(ban_event_id=r.ban_event_id, user_id=r.user_id, chat_id=r.chat_id,
                    event_type=r.event_type, ban_duration=r.ban_duration, reason=r.reason or "",
                    event_id=r.event_id or "", username=r.username or "",
                    event_timestamp=r.event_timestamp)


async def reopen_failed(session: AsyncSession, sync_id: uuid.UUID) -> int:
    """Put a run's failed rows back to pending, due now, with their retries renewed
    (``attempts`` keeps counting); reopen the run. Return how many."""
    n = len((await session.execute(text(
        "UPDATE sync_logs SET status = 'pending', not_before = now(), lease_until = NULL, "
        " completed_at = NULL, retry_count = 0 "
        "WHERE sync_id = :s AND status = 'failed' RETURNING id"),
        {"s": sync_id})).all())
    if n:
        await reopen_run(session, sync_id)
    return n


async def reopen_run(session: AsyncSession, sync_id: uuid.UUID) -> None:
    """Mark a run running again, so its next finish closes it and emits its outcome."""
    await session.execute(text(
        "UPDATE sync_runs SET status = 'running', finished_at = NULL WHERE sync_id = :s"),
        {"s": sync_id})


async def run_exists(session: AsyncSession, sync_id: uuid.UUID) -> bool:
    """Is there a run ``sync_id`` (without counting its rows, unlike :func:`get_run`)?"""
    return bool((await session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM sync_runs WHERE sync_id = :s)"), {"s": sync_id})
    ).scalar_one())


def _awaiting_where(target_chat_ids: Sequence[int]) -> str:
    where = "sync_id = :s AND status = 'pending' AND awaiting_confirmation"
    if target_chat_ids:
        where += " AND target_chat_id = ANY(CAST(:chats AS bigint[]))"
    return where


async def confirm_awaiting(session: AsyncSession, sync_id: uuid.UUID,
                           target_chat_ids: Sequence[int] = ()) -> int:
    """Make a run's rows waiting for a confirmation (those of ``target_chat_ids``, or all)
    due now. Return how many."""
    return len((await session.execute(text(
        "UPDATE sync_logs SET awaiting_confirmation = false, not_before = now() "
        "WHERE " + _awaiting_where(target_chat_ids) + " RETURNING id"),
        {"s": sync_id, "chats": list(target_chat_ids)})).all())


async def decline_awaiting(session: AsyncSession, sync_id: uuid.UUID,
                           target_chat_ids: Sequence[int], error: str) -> int:
    """Skip a run's rows waiting for a confirmation (those of ``target_chat_ids``, or all)
    for good, with ``error`` as the reason. Return how many."""
    # awaiting_confirmation is cleared too: the admin answered, nothing waits any more.
    return len((await session.execute(text(
        "UPDATE sync_logs SET status = 'skipped', awaiting_confirmation = false, "
        " error_message = :e, completed_at = now(), lease_until = NULL "
        "WHERE " + _awaiting_where(target_chat_ids) + " RETURNING id"),
        {"s": sync_id, "chats": list(target_chat_ids), "e": error})).all())


async def list_logs(session: AsyncSession, *, status: str | None, target_chat_id: int | None,
                    ban_event_id: int | None, before_id: int | None, limit: int,
                    awaiting_confirmation: bool | None = None,
                    sync_id: uuid.UUID | None = None) -> list[Any]:
    """sync_logs newest first, filtered, keyset by id."""
    clauses, params = [], {"n": limit}
    for column, value in (("status", status), ("target_chat_id", target_chat_id),
                          ("ban_event_id", ban_event_id), ("sync_id", sync_id),
                          ("awaiting_confirmation", awaiting_confirmation)):
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    if before_id is not None:
        clauses.append("id < :before")
        params["before"] = before_id
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return list((await session.execute(text(
        f"SELECT * FROM sync_logs {where} ORDER BY id DESC LIMIT :n"), params)).all())


async def synced_ban_exists(session: AsyncSession, user_id: int, chat_id: int) -> bool:
    """Did the sync ban ``user_id`` in ``chat_id`` (so an unban may lift it)?"""
    return bool((await session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM sync_logs WHERE user_id = :u AND target_chat_id = :c "
        " AND action = 'ban' AND status = 'success')"), {"u": user_id, "c": chat_id})
    ).scalar_one())


async def lifted_at_source(session: AsyncSession, user_id: int, source_chat_id: int,
                           ban_event_id: int, banned_at: datetime | None) -> bool:
    """Was the ban ``ban_event_id`` lifted where it began (an unban of ``user_id`` in
    ``source_chat_id`` registered after it)? Without a policy unbans plan no run, so
    sync_runs alone cannot tell."""
    if not (await session.execute(text("SELECT to_regclass('ban_events') IS NOT NULL"))
            ).scalar_one():
        return False
    # Ordered by when they happened (a historical import may register an old unban late),
    # then by registration: Telegram's dates have whole seconds, and a ban undone at once
    # (or another bot's ban-and-unban kick) puts both in the same second.
    after, params = "id > :b", {"u": user_id, "c": source_chat_id, "b": ban_event_id}
    if banned_at is not None:
        after = "(event_timestamp > :at OR (event_timestamp = :at AND id > :b))"
        params["at"] = banned_at
    return bool((await session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM ban_events WHERE user_id = :u AND chat_id = :c "
        f" AND event_type = 'unban' AND id <> :b AND {after})"), params)).scalar_one())


async def open_runs_without_pending(session: AsyncSession, limit: int = 100) -> list[uuid.UUID]:
    """Unfinished runs with nothing left to do (a worker died before closing them)."""
    return list((await session.execute(text(
        "SELECT r.sync_id FROM sync_runs r WHERE r.finished_at IS NULL AND NOT EXISTS ("
        " SELECT 1 FROM sync_logs l WHERE l.sync_id = r.sync_id AND l.status = 'pending'"
        " AND NOT l.awaiting_confirmation) ORDER BY r.created_at LIMIT :n"), {"n": limit})
    ).scalars().all())
