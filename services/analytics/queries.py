"""The read side: KPIs, rankings and timelines from the aggregate tables only.

Results are plain dicts keyed by the API's field names. Every query is one
tenant's (the caller's), reads need role member. With a :class:`ResultCache`,
a result is read through Redis, keyed by the tenant, the query and its resolved
parameters (after validation and the role check, so a cached answer is never
served to a caller who may not see it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.context import Principal
from services.kit.db import Database
from services.kit.errors import InvalidArgument, Validator

from .cache import ResultCache
from .periods import DateRange, bucket_of, buckets, resolve

APP = "analytics"
DEFAULT_TOP = 10
MAX_TOP = 100
_SUMS = ("new_subscriptions", "deleted_subscriptions", "total_bans", "total_syncs", "successful_syncs",
         "failed_syncs", "skipped_syncs", "sync_runs", "completed_runs", "partial_runs", "failed_runs",
         "sync_time_ms_total", "sync_time_samples")
_RANGE = "date BETWEEN :start AND :end"


def _today() -> date:
    return datetime.now(UTC).date()


def _rate(ok: int, total: int) -> float:
    return ok / total if total else 0.0


def _mean(total_ms: int, samples: int) -> float:
    return total_ms / samples if samples else 0.0


def _limit(value: int) -> int:
    if value < 0 or value > MAX_TOP:
        raise InvalidArgument.field("limit", f"must be between 0 and {MAX_TOP}")
    return value or DEFAULT_TOP


class Analytics:
    """Statistics queries over one tenant's aggregates."""

    def __init__(self, db: Database, today: Callable[[], date] = _today, *,
                 cache: ResultCache | None = None) -> None:
        self.db = db
        self.today = today
        self.cache = cache

    async def _cached(self, tenant: str, query: str, rng: DateRange,
                      compute: Callable[[], Awaitable[dict[str, Any]]], **params: object) -> dict[str, Any]:
        """``compute()``, through the cache when there is one (parameters given as ``None`` are left out)."""
        if self.cache is None:
            return await compute()
        key = {"from": rng.start.isoformat(), "to": rng.end.isoformat(),
               **{k: v for k, v in params.items() if v is not None}}
        return await self.cache.get_or_compute(tenant, query, key, compute)

    def _scope(self, caller: Principal, period: str, since: str, until: str,
               v: Validator | None = None) -> tuple[str, DateRange]:
        """The caller's tenant and the range; INVALID_ARGUMENT lists the range's and ``v``'s violations."""
        tenant = caller.tenant_with_role("member")
        try:
            rng = resolve(period, since, until, self.today())
        except InvalidArgument as err:
            if v is None:
                raise
            v.violations.extend(err.violations)
        if v is not None:
            v.raise_if_any()
        return tenant, rng

    @staticmethod
    def _params(rng: DateRange) -> dict[str, Any]:
        return {"start": rng.start, "end": rng.end}

    async def _sums(self, s: AsyncSession, rng: DateRange) -> dict[str, int]:
        cols = ", ".join(f"COALESCE(sum({c}), 0) AS {c}" for c in _SUMS)
        row = (await s.execute(text(f"SELECT {cols} FROM analytics_daily WHERE {_RANGE}"), self._params(rng))).one()
        return {c: int(getattr(row, c)) for c in _SUMS}

    async def _distinct(self, s: AsyncSession, table: str, column: str, rng: DateRange) -> int:
        return int((await s.execute(text(f"SELECT count(DISTINCT {column}) FROM {table} WHERE {_RANGE}"),
                                    self._params(rng))).scalar_one())

    @staticmethod
    async def _active_subscriptions(s: AsyncSession) -> int:
        value = (await s.execute(text(
            "SELECT value FROM analytics_counters WHERE name = 'active_subscriptions'"))).scalar_one_or_none()
        return int(value or 0)

    @staticmethod
    def _span(rng: DateRange) -> dict[str, str]:
        return {"from": rng.start.isoformat(), "to": rng.end.isoformat()}

    async def overview(self, caller: Principal, period: str = "", since: str = "", until: str = "") -> dict[str, Any]:
        """Headline numbers of the period."""
        tenant, rng = self._scope(caller, period, since, until)

        async def compute() -> dict[str, Any]:
            async with self.db.session(APP, tenant) as s:
                sums = await self._sums(s, rng)
                users = await self._distinct(s, "analytics_daily_banned_users", "user_id", rng)
                chats = await self._distinct(s, "analytics_daily_active_chats", "chat_id", rng)
                active = await self._active_subscriptions(s)
            return {**self._span(rng), "active_subscriptions": active,
                    "new_subscriptions": sums["new_subscriptions"],
                    "deleted_subscriptions": sums["deleted_subscriptions"],
                    "total_bans": sums["total_bans"], "unique_banned_users": users, "active_chats": chats,
                    "total_syncs": sums["total_syncs"], "successful_syncs": sums["successful_syncs"],
                    "failed_syncs": sums["failed_syncs"],
                    "sync_success_rate": _rate(sums["successful_syncs"], sums["total_syncs"]),
                    "mean_sync_ms": _mean(sums["sync_time_ms_total"], sums["sync_time_samples"])}
        return await self._cached(tenant, "overview", rng, compute)

    async def subscriptions(self, caller: Principal, period: str = "", since: str = "",
                            until: str = "") -> dict[str, Any]:
        """Subscriptions created and deleted, per day and in total."""
        tenant, rng = self._scope(caller, period, since, until)

        async def compute() -> dict[str, Any]:
            async with self.db.session(APP, tenant) as s:
                sums = await self._sums(s, rng)
                active = await self._active_subscriptions(s)
                rows = (await s.execute(text(
                    "SELECT date, new_subscriptions, deleted_subscriptions, total_subscriptions FROM analytics_daily "
                    f"WHERE {_RANGE} AND (new_subscriptions > 0 OR deleted_subscriptions > 0) ORDER BY date"),
                    self._params(rng))).all()
            new, deleted = sums["new_subscriptions"], sums["deleted_subscriptions"]
            return {**self._span(rng), "new_subscriptions": new, "deleted_subscriptions": deleted,
                    "net_change": new - deleted, "active_subscriptions": active,
                    "days": [{"date": r.date.isoformat(), "new_subscriptions": r.new_subscriptions,
                              "deleted_subscriptions": r.deleted_subscriptions,
                              "total_subscriptions": r.total_subscriptions} for r in rows]}
        return await self._cached(tenant, "subscriptions", rng, compute)

    async def bans(self, caller: Principal, period: str = "", since: str = "", until: str = "", *,
                   chat_id: int | None = None, user_id: int | None = None) -> dict[str, Any]:
        """Bans of the period: totals, per type, per day; of one chat and/or user when given."""
        v = Validator()
        if chat_id is not None:
            v.require(chat_id != 0, "chat_id", "must be a non-zero Telegram chat id")
        if user_id is not None:
            v.require(user_id > 0, "user_id", "must be a positive Telegram user id")
        tenant, rng = self._scope(caller, period, since, until, v)

        async def compute() -> dict[str, Any]:
            async with self.db.session(APP, tenant) as s:
                if chat_id is not None or user_id is not None:
                    return await self._filtered_bans(s, rng, chat_id, user_id)
                sums = await self._sums(s, rng)
                users = await self._distinct(s, "analytics_daily_banned_users", "user_id", rng)
                chats = await self._distinct(s, "analytics_daily_active_chats", "chat_id", rng)
                types = (await s.execute(text(
                    f"SELECT event_type, sum(count) AS n FROM analytics_daily_types WHERE {_RANGE} "
                    "GROUP BY event_type ORDER BY event_type"), self._params(rng))).all()
                days = (await s.execute(text(
                    "SELECT date, total_bans, unique_banned_users, active_chats FROM analytics_daily "
                    f"WHERE {_RANGE} AND total_bans > 0 ORDER BY date"), self._params(rng))).all()
            return {**self._span(rng), "total_bans": sums["total_bans"], "unique_banned_users": users,
                    "active_chats": chats,
                    "by_type": [{"event_type": t.event_type, "count": int(t.n)} for t in types],
                    "days": [{"date": d.date.isoformat(), "total_bans": d.total_bans,
                              "unique_banned_users": d.unique_banned_users, "active_chats": d.active_chats}
                             for d in days]}
        return await self._cached(tenant, "bans", rng, compute, chat=chat_id, user=user_id)

    async def _filtered_bans(self, s: AsyncSession, rng: DateRange, chat_id: int | None,
                             user_id: int | None) -> dict[str, Any]:
        """GetBanStats for one chat and/or user, from ``analytics_ban_counts`` alone."""
        where = _RANGE + "".join(clause for value, clause in (
            (chat_id, " AND chat_id = :chat"), (user_id, " AND user_id = :user")) if value is not None)
        params = {**self._params(rng), "chat": chat_id, "user": user_id}
        bans = f"FROM analytics_ban_counts WHERE {where} AND event_type <> 'unban'"
        total = (await s.execute(text(
            f"SELECT COALESCE(sum(count), 0) AS n, count(DISTINCT user_id) AS users, "
            f"count(DISTINCT chat_id) AS chats {bans}"), params)).one()
        types = (await s.execute(text(
            f"SELECT event_type, sum(count) AS n FROM analytics_ban_counts WHERE {where} "
            "GROUP BY event_type ORDER BY event_type"), params)).all()
        days = (await s.execute(text(
            f"SELECT date, sum(count) AS n, count(DISTINCT user_id) AS users, count(DISTINCT chat_id) AS chats "
            f"{bans} GROUP BY date HAVING sum(count) > 0 ORDER BY date"), params)).all()
        return {**self._span(rng), "total_bans": int(total.n), "unique_banned_users": int(total.users),
                "active_chats": int(total.chats),
                "by_type": [{"event_type": t.event_type, "count": int(t.n)} for t in types],
                "days": [{"date": d.date.isoformat(), "total_bans": int(d.n), "unique_banned_users": int(d.users),
                          "active_chats": int(d.chats)} for d in days]}

    async def sync(self, caller: Principal, period: str = "", since: str = "", until: str = "") -> dict[str, Any]:
        """Sync effectiveness: runs by outcome, per-chat success rate, mean sync time."""
        tenant, rng = self._scope(caller, period, since, until)

        async def compute() -> dict[str, Any]:
            async with self.db.session(APP, tenant) as s:
                sums = await self._sums(s, rng)
            return {**self._span(rng), **{k: sums[k] for k in (
                        "sync_runs", "completed_runs", "partial_runs", "failed_runs", "total_syncs",
                        "successful_syncs", "failed_syncs", "skipped_syncs")},
                    "success_rate": _rate(sums["successful_syncs"], sums["total_syncs"]),
                    "mean_sync_ms": _mean(sums["sync_time_ms_total"], sums["sync_time_samples"])}
        return await self._cached(tenant, "sync", rng, compute)

    async def top_users(self, caller: Principal, period: str = "", since: str = "", until: str = "",
                        limit: int = 0) -> dict[str, Any]:
        """The most banned users of the period."""
        n = _limit(limit)
        tenant, rng = self._scope(caller, period, since, until)

        async def compute() -> dict[str, Any]:
            async with self.db.session(APP, tenant) as s:
                rows = (await s.execute(text(
                    "SELECT user_id, sum(ban_count) AS bans, sum(sync_count) AS syncs FROM analytics_user_stats "
                    f"WHERE {_RANGE} GROUP BY user_id HAVING sum(ban_count) > 0 "
                    "ORDER BY bans DESC, user_id LIMIT :n"), {**self._params(rng), "n": n})).all()
            return {**self._span(rng), "users": [
                {"user_id": r.user_id, "ban_count": int(r.bans), "sync_count": int(r.syncs)} for r in rows]}
        return await self._cached(tenant, "top_users", rng, compute, limit=n)

    async def top_chats(self, caller: Principal, period: str = "", since: str = "", until: str = "",
                        limit: int = 0) -> dict[str, Any]:
        """The most active chats of the period (bans made there plus bans synced into them)."""
        n = _limit(limit)
        tenant, rng = self._scope(caller, period, since, until)

        async def compute() -> dict[str, Any]:
            async with self.db.session(APP, tenant) as s:
                rows = (await s.execute(text(
                    "SELECT chat_id, sum(ban_count) AS bans, sum(sync_received_count) AS received "
                    f"FROM analytics_chat_stats WHERE {_RANGE} GROUP BY chat_id "
                    "ORDER BY sum(ban_count) + sum(sync_received_count) DESC, chat_id LIMIT :n"),
                    {**self._params(rng), "n": n})).all()
            return {**self._span(rng), "chats": [
                {"chat_id": r.chat_id, "ban_count": int(r.bans), "sync_received_count": int(r.received)}
                for r in rows]}
        return await self._cached(tenant, "top_chats", rng, compute, limit=n)

    async def timeline(self, caller: Principal, period: str = "", since: str = "", until: str = "",
                       granularity: str = "") -> dict[str, Any]:
        """Chart data: every bucket of the range, empty ones as zeros."""
        granularity = granularity or "day"
        tenant, rng = self._scope(caller, period, since, until)
        starts = buckets(rng, granularity)

        async def compute() -> dict[str, Any]:
            points = {b: {"start": b.isoformat(), "new_subscriptions": 0, "deleted_subscriptions": 0,
                          "total_bans": 0, "unique_banned_users": 0, "total_syncs": 0, "successful_syncs": 0,
                          "failed_syncs": 0} for b in starts}
            async with self.db.session(APP, tenant) as s:
                days = (await s.execute(text(
                    "SELECT date, new_subscriptions, deleted_subscriptions, total_bans, total_syncs, "
                    f"successful_syncs, failed_syncs FROM analytics_daily WHERE {_RANGE}"), self._params(rng))).all()
                uniques = (await s.execute(text(
                    "SELECT CAST(date_trunc(:g, date) AS date) AS bucket, count(DISTINCT user_id) AS n "
                    f"FROM analytics_daily_banned_users WHERE {_RANGE} GROUP BY bucket"),
                    {**self._params(rng), "g": granularity})).all()
            for d in days:
                point = points[bucket_of(d.date, rng, granularity)]
                for key in ("new_subscriptions", "deleted_subscriptions", "total_bans", "total_syncs",
                            "successful_syncs", "failed_syncs"):
                    point[key] += getattr(d, key)
            for u in uniques:
                # Only the first bucket is clipped, and it holds only days from rng.start on.
                points[max(u.bucket, rng.start)]["unique_banned_users"] = int(u.n)
            return {**self._span(rng), "granularity": granularity, "points": [points[b] for b in starts]}
        return await self._cached(tenant, "timeline", rng, compute, granularity=granularity)
