"""gRPC adapter of the sync engine: SyncService (REST: /moderation/api/v1/sync/...).

Thin: validate, take the tenant from the verified caller, call the engine, map
records to messages. ``register(rt)`` serves it on a moderation Runtime.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from tenantry.moderation.v1 import sync_pb2 as pb
from tenantry.moderation.v1 import sync_pb2_grpc as pb_grpc

from services.kit import context
from services.kit.errors import Validator
from services.kit.service import Runtime
from services.telegram_api import BotClientFactory

from . import store
from .engine import APP, SyncEngine
from .models import LOG_STATUSES, RunStatus

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_TARGETS = 1000
MAX_JOIN_REF = 100
MAX_REASON = 500
_TOKEN_PREFIX = "s1:"

Ctx = grpc.aio.ServicerContext


def _ts(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def run_pb(run: RunStatus) -> pb.SyncRun:
    """A SyncRun message from the engine's record."""
    c = run.counts
    return pb.SyncRun(
        sync_id=str(run.sync_id), ban_event_id=run.ban_event_id, user_id=run.user_id,
        source_chat_id=run.source_chat_id, event_type=run.event_type, status=run.status,
        trigger=run.trigger, total_chats=run.total_chats, successful=c.get("success", 0),
        failed=c.get("failed", 0), skipped=c.get("skipped", 0), pending=c.get("pending", 0),
        awaiting_confirmation=c.get("awaiting", 0), policy=run.policy or "",
        created_at=_ts(run.created_at), finished_at=_ts(run.finished_at))


def log_pb(r: Any) -> pb.SyncLog:
    """A SyncLog message from a sync_logs row."""
    return pb.SyncLog(
        id=r.id, sync_id=str(r.sync_id), ban_event_id=r.ban_event_id,
        source_chat_id=r.source_chat_id, target_chat_id=r.target_chat_id, user_id=r.user_id,
        action=r.action, status=r.status, error_message=r.error_message or "",
        retry_count=r.retry_count or 0, until_date=r.until_date,
        started_at=_ts(r.started_at), completed_at=_ts(r.completed_at),
        created_at=_ts(r.created_at), awaiting_confirmation=bool(r.awaiting_confirmation))


def _sync_id(value: str, v: Validator) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        v.require(False, "sync_id", "must be a UUID")
        return None


def _target_chats(targets: list[int], v: Validator) -> None:
    v.require(len(targets) <= MAX_TARGETS, "target_chat_ids", f"at most {MAX_TARGETS} chats")
    v.require(all(t != 0 for t in targets), "target_chat_ids", "chat ids must not be 0")


def encode_page_token(last_id: int) -> str:
    """The token continuing a newest-first listing after row ``last_id``."""
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_page_token(token: str) -> int | None:
    """The row id a page token continues after; None when the token is not ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    rest = raw[len(_TOKEN_PREFIX):]
    return int(rest) if raw.startswith(_TOKEN_PREFIX) and rest.isdigit() else None


class SyncServicer(pb_grpc.SyncServiceServicer):
    """SyncService over a :class:`SyncEngine`."""

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine

    async def TriggerSync(self, request: pb.TriggerSyncRequest, _: Ctx) -> pb.TriggerSyncResponse:
        tenant = context.caller_tenant("moderator")
        v = Validator()
        v.require(request.ban_event_id > 0, "ban_event_id", "must be a positive id")
        targets = list(request.target_chat_ids)
        _target_chats(targets, v)
        v.raise_if_any()
        sync_id, total = await self.engine.trigger(tenant, request.ban_event_id, targets)
        return pb.TriggerSyncResponse(sync_id=str(sync_id), total_chats=total)

    async def GetSyncStatus(self, request: pb.GetSyncStatusRequest,
                            _: Ctx) -> pb.GetSyncStatusResponse:
        tenant = context.caller_tenant("member")
        v = Validator()
        sync_id = _sync_id(request.sync_id, v)
        v.raise_if_any()
        assert sync_id is not None
        return pb.GetSyncStatusResponse(sync=run_pb(await self.engine.status(tenant, sync_id)))

    async def ListSyncLogs(self, request: pb.ListSyncLogsRequest,
                           _: Ctx) -> pb.ListSyncLogsResponse:
        tenant = context.caller_tenant("member")
        v = Validator()
        status = request.status if request.HasField("status") else None
        v.require(status is None or status in LOG_STATUSES, "status",
                  "must be one of " + ", ".join(LOG_STATUSES))
        v.require(not request.HasField("target_chat_id") or request.target_chat_id != 0,
                  "target_chat_id", "must not be 0")
        v.require(not request.HasField("ban_event_id") or request.ban_event_id > 0,
                  "ban_event_id", "must be a positive id")
        sync_id = _sync_id(request.sync_id, v) if request.HasField("sync_id") else None
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        v.require(0 < size <= MAX_PAGE_SIZE, "page_size", f"must be 1-{MAX_PAGE_SIZE}")
        before = None
        if request.page.page_token:
            before = decode_page_token(request.page.page_token)
            v.require(before is not None, "page_token", "is not a valid page token")
        v.raise_if_any()
        async with self.engine.db.session(APP, tenant) as session:
            rows = await store.list_logs(
                session, status=status,
                target_chat_id=request.target_chat_id if request.HasField("target_chat_id")
                else None,
                ban_event_id=request.ban_event_id if request.HasField("ban_event_id") else None,
                awaiting_confirmation=request.awaiting_confirmation
                if request.HasField("awaiting_confirmation") else None,
                sync_id=sync_id, before_id=before, limit=size + 1)
        response = pb.ListSyncLogsResponse(logs=[log_pb(r) for r in rows[:size]])
        if len(rows) > size:
            response.page.next_page_token = encode_page_token(rows[size - 1].id)
        return response

    async def EnforceOnJoin(self, request: pb.EnforceOnJoinRequest,
                            _: Ctx) -> pb.EnforceOnJoinResponse:
        tenant = context.caller_tenant("moderator")
        v = Validator()
        v.require(request.chat_id != 0, "chat_id", "must not be 0")
        v.require(request.user_id > 0, "user_id", "must be a positive Telegram user id")
        v.require(len(request.join_ref) <= MAX_JOIN_REF, "join_ref",
                  f"at most {MAX_JOIN_REF} characters")
        v.raise_if_any()
        done = await self.engine.enforce_on_join(tenant, request.chat_id, request.user_id,
                                                 join_ref=request.join_ref or None)
        return pb.EnforceOnJoinResponse(status=done.status, ban_event_id=done.ban_event_id,
                                        until_date=done.until_date, error=done.error or "")

    async def RetrySync(self, request: pb.RetrySyncRequest, _: Ctx) -> pb.RetrySyncResponse:
        tenant = context.caller_tenant("moderator")
        v = Validator()
        sync_id = _sync_id(request.sync_id, v)
        v.raise_if_any()
        assert sync_id is not None
        retried = await self.engine.retry(tenant, sync_id)
        return pb.RetrySyncResponse(sync_id=str(sync_id), retried=retried)

    @staticmethod
    def _selection(request: pb.ConfirmSyncRequest | pb.DeclineSyncRequest, v: Validator
                   ) -> tuple[str, uuid.UUID | None, list[int]]:
        """A moderator's (tenant, sync id, target chats) of a confirm/decline, the fields
        checked into ``v``."""
        tenant = context.caller_tenant("moderator")
        targets = list(request.target_chat_ids)
        sync_id = _sync_id(request.sync_id, v)
        _target_chats(targets, v)
        return tenant, sync_id, targets

    async def ConfirmSync(self, request: pb.ConfirmSyncRequest, _: Ctx) -> pb.ConfirmSyncResponse:
        v = Validator()
        tenant, sync_id, targets = self._selection(request, v)
        v.raise_if_any()
        assert sync_id is not None
        confirmed = await self.engine.confirm(tenant, sync_id, targets)
        return pb.ConfirmSyncResponse(sync_id=str(sync_id), confirmed=confirmed)

    async def DeclineSync(self, request: pb.DeclineSyncRequest, _: Ctx) -> pb.DeclineSyncResponse:
        v = Validator()
        tenant, sync_id, targets = self._selection(request, v)
        v.require(len(request.reason) <= MAX_REASON, "reason",
                  f"at most {MAX_REASON} characters")
        v.raise_if_any()
        assert sync_id is not None
        declined = await self.engine.decline(tenant, sync_id, targets,
                                             reason=request.reason.strip(),
                                             by=context.current().subject or None)
        return pb.DeclineSyncResponse(sync_id=str(sync_id), declined=declined)


def register(rt: Runtime, engine: SyncEngine | None = None) -> SyncEngine:
    """Serve SyncService on ``rt`` (the bot token from ``TELEGRAM_BOT_TOKEN`` for now)."""
    if engine is None:
        # Manual syncs share the bot's rate limit with the sync workers (through Redis).
        engine = SyncEngine(rt.db, BotClientFactory(redis=rt.redis), redis=rt.redis)
    rt.add_servicer(pb_grpc.add_SyncServiceServicer_to_server, SyncServicer(engine),
                    pb.DESCRIPTOR.services_by_name["SyncService"])
    ready = engine

    async def finish_on_stop(stop: asyncio.Event) -> None:
        # Triggered and retried syncs run in the background: let them finish (their rows
        # are leased, so an unfinished one is taken over by a sync worker anyway).
        await stop.wait()
        try:
            await asyncio.wait_for(ready.drain(), timeout=rt.settings.shutdown_grace_seconds)
        except TimeoutError:
            pass
        await ready.bots.aclose()

    rt.background("sync:drain", finish_on_stop)
    return engine
