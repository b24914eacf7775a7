"""Who subscribes to a user: asked of the moderation app's SubscriptionService over gRPC."""

from __future__ import annotations

import grpc
from tenantry.common.v1 import pagination_pb2
from tenantry.moderation.v1 import subscriptions_pb2, subscriptions_pb2_grpc

from services.kit.auth import mint_service_token


class ModerationSubscribers:
    """A SubscriberLookup backed by ``ListUserSubscribers`` (all pages)."""

    def __init__(self, channel: grpc.aio.Channel, max_pages: int = 20) -> None:
        self._stub = subscriptions_pb2_grpc.SubscriptionServiceStub(channel)
        self._max_pages = max_pages

    async def __call__(self, tenant: str, user_id: int) -> list[tuple[int, int]]:
        """(admin_user_id, admin_chat_id) of every active subscription to ``user_id``."""
        metadata = (("authorization", f"Bearer {mint_service_token('notification', tenant)}"),)
        found: list[tuple[int, int]] = []
        token = ""
        for _ in range(self._max_pages):
            reply = await self._stub.ListUserSubscribers(
                subscriptions_pb2.ListUserSubscribersRequest(
                    user_id=user_id, page=pagination_pb2.PageRequest(page_size=500,
                                                                     page_token=token)),
                metadata=metadata)
            found += [(s.admin_user_id, s.admin_chat_id) for s in reply.subscriptions
                      if s.is_active]
            token = reply.page.next_page_token
            if not token:
                break
        return found
