"""gRPC adapter of ban events: protobuf in, domain calls, protobuf out. No rules live here."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf import json_format, timestamp_pb2
from tenantry.common.v1 import errors_pb2, pagination_pb2
from tenantry.moderation.v1 import ban_events_pb2 as pb
from tenantry.moderation.v1 import ban_events_pb2_grpc as pb_grpc

from services.kit import context
from services.kit.service import Runtime

from .model import BanEvent, BanEventInput, Page
from .retention import retention_loop
from .service import BanEvents

Ctx = grpc.aio.ServicerContext
SERVICE = pb.DESCRIPTOR.services_by_name["BanEventService"]


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def to_pb(e: BanEvent) -> pb.BanEvent:
    """The protobuf form of a stored event."""
    out = pb.BanEvent(id=e.id, event_id=e.event_id, user_id=e.user_id, chat_id=e.chat_id,
                      event_type=e.event_type, reason=e.reason, event_timestamp=_ts(e.event_timestamp),
                      created_at=_ts(e.created_at))
    if e.ban_duration is not None:
        out.ban_duration = e.ban_duration
    if e.initiator_user_id is not None:
        out.initiator_user_id = e.initiator_user_id
    if e.metadata:
        out.metadata.update(e.metadata)
    if e.archived_at is not None:
        out.archived_at.CopyFrom(_ts(e.archived_at))
    return out


def from_pb(m: pb.RegisterBanEventRequest | pb.BanEventInput) -> BanEventInput:
    """The domain input of a request or bulk item (presence of optional fields kept)."""
    meta = json_format.MessageToDict(m.metadata) if m.HasField("metadata") else {}
    return BanEventInput(
        event_id=m.event_id, user_id=m.user_id, chat_id=m.chat_id, event_type=m.event_type,
        reason=m.reason,
        ban_duration=m.ban_duration if m.HasField("ban_duration") else None,
        initiator_user_id=m.initiator_user_id if m.HasField("initiator_user_id") else None,
        event_timestamp=m.event_timestamp.ToDatetime(tzinfo=UTC) if m.HasField("event_timestamp")
        else None,
        metadata=meta, username=m.username, chat_title=m.chat_title)


def _page(p: Page) -> tuple[list[pb.BanEvent], pagination_pb2.PageResponse]:
    return [to_pb(e) for e in p.events], pagination_pb2.PageResponse(next_page_token=p.next_token)


class BanEventServicer(pb_grpc.BanEventServiceServicer):
    """Thin adapter over :class:`BanEvents`."""

    def __init__(self, events: BanEvents) -> None:
        self.events = events

    async def RegisterBanEvent(self, request: pb.RegisterBanEventRequest, ctx: Ctx) -> pb.RegisterBanEventResponse:
        done = await self.events.register(context.current(), from_pb(request))
        return pb.RegisterBanEventResponse(event=to_pb(done.event), created=done.created)

    async def GetBanEvent(self, request: pb.GetBanEventRequest, ctx: Ctx) -> pb.GetBanEventResponse:
        return pb.GetBanEventResponse(event=to_pb(await self.events.get(context.current(), request.event_id)))

    async def GetBanEventById(self, request: pb.GetBanEventByIdRequest, ctx: Ctx) -> pb.GetBanEventByIdResponse:
        return pb.GetBanEventByIdResponse(event=to_pb(await self.events.get_by_id(context.current(), request.id)))

    async def ListUserBanEvents(self, request: pb.ListUserBanEventsRequest, ctx: Ctx) -> pb.ListUserBanEventsResponse:
        found = await self.events.user_history(context.current(), request.user_id, request.page.page_size,
                                               request.page.page_token)
        events, page = _page(found)
        return pb.ListUserBanEventsResponse(events=events, page=page)

    async def ListChatBanEvents(self, request: pb.ListChatBanEventsRequest, ctx: Ctx) -> pb.ListChatBanEventsResponse:
        found = await self.events.chat_history(context.current(), request.chat_id, request.page.page_size,
                                               request.page.page_token)
        events, page = _page(found)
        return pb.ListChatBanEventsResponse(events=events, page=page)

    async def SearchBanEvents(self, request: pb.SearchBanEventsRequest, ctx: Ctx) -> pb.SearchBanEventsResponse:
        found = await self.events.search(
            context.current(),
            user_id=request.user_id if request.HasField("user_id") else None,
            chat_id=request.chat_id if request.HasField("chat_id") else None,
            since=getattr(request, "from"), until=request.to, event_type=request.event_type,
            reason=request.reason, size=request.page.page_size, token=request.page.page_token)
        events, page = _page(found)
        return pb.SearchBanEventsResponse(events=events, page=page)

    async def BulkRegisterBanEvents(self, request: pb.BulkRegisterBanEventsRequest,
                                    ctx: Ctx) -> pb.BulkRegisterBanEventsResponse:
        result = await self.events.bulk_register(context.current(), [from_pb(m) for m in request.events],
                                                 historical=request.historical)
        return pb.BulkRegisterBanEventsResponse(
            results=[pb.BulkItemResult(
                index=r.index, event_id=r.event_id, status=r.status, id=r.id,
                violations=[errors_pb2.FieldViolation(field=f, description=d) for f, d in r.violations])
                for r in result.results],
            created=result.count("created"), duplicates=result.count("duplicate"),
            invalid=result.count("invalid"))


def register(rt: Runtime) -> None:
    """Serve the ban event API on the runtime (the moderation process)."""
    rt.add_servicer(pb_grpc.add_BanEventServiceServicer_to_server, BanEventServicer(BanEvents(rt.db)), SERVICE)


def register_background(rt: Runtime, interval_seconds: float = 3600.0) -> None:
    """Run retention archiving (every ``interval_seconds``) in the moderation process."""
    rt.background("ban-events-retention", retention_loop(rt.db.engine, interval_seconds))

