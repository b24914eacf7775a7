"""gRPC adapter of SubscriptionService: messages in, domain calls, messages out."""

from __future__ import annotations

import grpc
from tenantry.moderation.v1 import subscriptions_pb2 as pb
from tenantry.moderation.v1 import subscriptions_pb2_grpc as pb_grpc

from services.kit.service import Runtime

from ..users.grpc import struct, struct_field, timestamp
from .models import Subscription
from .service import ListPage, SubscriptionBook

Ctx = grpc.aio.ServicerContext

def subscription_pb(s: Subscription) -> pb.Subscription:
    """Domain → message."""
    return pb.Subscription(id=s.id, admin_user_id=s.admin_user_id, admin_chat_id=s.admin_chat_id,
                           tracked_user_id=s.tracked_user_id, is_active=s.is_active,
                           settings=struct(s.settings), created_at=timestamp(s.created_at),
                           updated_at=timestamp(s.updated_at))


def _fill(response: pb.ListAdminSubscriptionsResponse | pb.ListUserSubscribersResponse,
          page: ListPage) -> None:
    response.subscriptions.extend(subscription_pb(s) for s in page.items)
    response.page.next_page_token = page.next_page_token


class SubscriptionServicer(pb_grpc.SubscriptionServiceServicer):
    """SubscriptionService over :class:`SubscriptionBook`."""

    def __init__(self, book: SubscriptionBook) -> None:
        self.book = book

    async def CreateSubscription(self, request: pb.CreateSubscriptionRequest, _: Ctx) -> pb.CreateSubscriptionResponse:
        outcome = await self.book.create(request.admin_user_id, request.admin_chat_id,
                                         request.tracked_user_id, struct_field(request, "settings"))
        assert outcome.subscription is not None
        return pb.CreateSubscriptionResponse(subscription=subscription_pb(outcome.subscription),
                                             reactivated=outcome.reactivated)

    async def DeleteSubscription(self, request: pb.DeleteSubscriptionRequest, _: Ctx) -> pb.DeleteSubscriptionResponse:
        return pb.DeleteSubscriptionResponse(
            subscription=subscription_pb(await self.book.delete(request.id)))

    async def ListAdminSubscriptions(
        self, request: pb.ListAdminSubscriptionsRequest,
        _: Ctx,
    ) -> pb.ListAdminSubscriptionsResponse:
        chat = request.admin_chat_id if request.HasField("admin_chat_id") else None
        page = await self.book.list_for_admin(request.admin_id, chat, request.page.page_size,
                                              request.page.page_token)
        response = pb.ListAdminSubscriptionsResponse()
        _fill(response, page)
        return response

    async def ListUserSubscribers(
        self, request: pb.ListUserSubscribersRequest,
        _: Ctx,
    ) -> pb.ListUserSubscribersResponse:
        page = await self.book.list_subscribers(request.user_id, request.page.page_size,
                                                request.page.page_token)
        response = pb.ListUserSubscribersResponse()
        _fill(response, page)
        return response

    async def CheckSubscription(self, request: pb.CheckSubscriptionRequest, _: Ctx) -> pb.CheckSubscriptionResponse:
        sub = await self.book.check(request.admin_user_id, request.admin_chat_id,
                                    request.tracked_user_id)
        if sub is None:
            return pb.CheckSubscriptionResponse(exists=False)
        return pb.CheckSubscriptionResponse(exists=True, subscription=subscription_pb(sub))

    async def GetSubscriptionStats(
        self, request: pb.GetSubscriptionStatsRequest,
        _: Ctx,
    ) -> pb.GetSubscriptionStatsResponse:
        admin = request.admin_user_id if request.HasField("admin_user_id") else None
        result = await self.book.stats(admin)
        s = result.stats
        return pb.GetSubscriptionStatsResponse(
            total_active=s.total_active, total_inactive=s.total_inactive, admins=s.admins,
            chats=s.chats, tracked_users=s.tracked_users, created_last_24h=s.created_last_24h,
            limit_per_admin=result.limit_per_admin,
            top_tracked_users=[pb.TrackedUserCount(tracked_user_id=t.tracked_user_id,
                                                   subscribers=t.subscribers)
                               for t in s.top_tracked_users],
            admin_active=result.admin_active, admin_remaining=result.admin_remaining)


def register(rt: Runtime, book: SubscriptionBook | None = None) -> None:
    """Serve SubscriptionService on the runtime (``book`` overrides the default wiring)."""
    servicer = SubscriptionServicer(book or SubscriptionBook(rt.db, rt.redis))
    rt.add_servicer(pb_grpc.add_SubscriptionServiceServicer_to_server, servicer,
                    pb.DESCRIPTOR.services_by_name["SubscriptionService"])
