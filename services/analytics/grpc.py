"""gRPC adapter of the analytics service: protobuf in, domain calls, protobuf out."""

from __future__ import annotations

import grpc
from tenantry.analytics.v1 import analytics_pb2 as pb
from tenantry.analytics.v1 import analytics_pb2_grpc as pb_grpc

from services.kit import context

from .queries import Analytics

Ctx = grpc.aio.ServicerContext
SERVICE = pb.DESCRIPTOR.services_by_name["AnalyticsService"]


def _range(request: object) -> tuple[str, str, str]:
    return getattr(request, "period"), getattr(request, "from"), getattr(request, "to")  # noqa: B009


class AnalyticsServicer(pb_grpc.AnalyticsServiceServicer):
    """Thin adapter over :class:`Analytics`."""

    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics

    async def GetOverview(self, request: pb.GetOverviewRequest, ctx: Ctx) -> pb.GetOverviewResponse:
        return pb.GetOverviewResponse(**await self.analytics.overview(context.current(), *_range(request)))

    async def GetSubscriptionStats(self, request: pb.GetSubscriptionStatsRequest,
                                   ctx: Ctx) -> pb.GetSubscriptionStatsResponse:
        return pb.GetSubscriptionStatsResponse(**await self.analytics.subscriptions(context.current(),
                                                                                   *_range(request)))

    async def GetBanStats(self, request: pb.GetBanStatsRequest, ctx: Ctx) -> pb.GetBanStatsResponse:
        return pb.GetBanStatsResponse(**await self.analytics.bans(
            context.current(), *_range(request),
            chat_id=request.chat_id if request.HasField("chat_id") else None,
            user_id=request.user_id if request.HasField("user_id") else None))

    async def GetSyncStats(self, request: pb.GetSyncStatsRequest, ctx: Ctx) -> pb.GetSyncStatsResponse:
        return pb.GetSyncStatsResponse(**await self.analytics.sync(context.current(), *_range(request)))

    async def GetTopUsers(self, request: pb.GetTopUsersRequest, ctx: Ctx) -> pb.GetTopUsersResponse:
        return pb.GetTopUsersResponse(**await self.analytics.top_users(context.current(), *_range(request),
                                                                      limit=request.limit))

    async def GetTopChats(self, request: pb.GetTopChatsRequest, ctx: Ctx) -> pb.GetTopChatsResponse:
        return pb.GetTopChatsResponse(**await self.analytics.top_chats(context.current(), *_range(request),
                                                                      limit=request.limit))

    async def GetTimeline(self, request: pb.GetTimelineRequest, ctx: Ctx) -> pb.GetTimelineResponse:
        return pb.GetTimelineResponse(**await self.analytics.timeline(context.current(), *_range(request),
                                                                     granularity=request.granularity))
