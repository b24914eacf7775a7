"""What the bot needs from the moderation app, behind a small interface.

:class:`ModerationClient` is what the command handlers call; :class:`GrpcModerationClient`
implements it over the moderation app's gRPC services with a service token for
the bot's tenant. Tests can implement the protocol in memory or run the real
servers in-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import grpc
from google.protobuf import timestamp_pb2
from tenantry.common.v1 import pagination_pb2
from tenantry.moderation.v1 import (
    ban_events_pb2,
    ban_events_pb2_grpc,
    subscriptions_pb2,
    subscriptions_pb2_grpc,
    sync_pb2,
    sync_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)

from services.kit.auth import mint_service_token


@dataclass
class BanReport:
    """A chat_member update turned into a ban event."""

    event_id: str
    user_id: int
    chat_id: int
    event_type: str  # ban | kick | restrict | unban
    ban_duration: int | None
    initiator_user_id: int | None
    at: datetime
    username: str = ""
    chat_title: str = ""
    #: Required by the Ban Event Service; Telegram gives none, so one is made from the update.
    reason: str = ""


def default_reason(event_type: str, chat_title: str = "") -> str:
    """The reason stored for a ban event seen in a chat_member update (Telegram gives none)."""
    what = {"ban": "banned", "kick": "removed", "restrict": "restricted",
            "unban": "unbanned"}.get(event_type, event_type)
    where = f" in {chat_title}" if chat_title else ""
    return f"{what}{where} (seen by the bot in Telegram)"[:1000]


@dataclass(frozen=True)
class SeenUser:
    """A Telegram user the bot saw in an update (their current profile)."""

    user_id: int
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    language_code: str = ""
    is_bot: bool = False


@dataclass
class Page:
    """One page of items and the token of the next ("" on the last)."""

    items: list[str]
    next_token: str


class ModerationClient(Protocol):
    """The moderation operations behind the bot's commands."""

    async def subscribe(self, tenant: str, admin: int, chat: int, tracked: int) -> None:
        """Create a subscription (errors: AlreadyExists, ResourceExhausted, InvalidArgument)."""

    async def unsubscribe(self, tenant: str, admin: int, chat: int, tracked: int) -> bool:
        """Delete the subscription; False if there was none."""

    async def subscriptions(self, tenant: str, admin: int, chat: int, token: str) -> Page:
        """The admin's tracked user ids in this chat, one page."""

    async def history(self, tenant: str, user_id: int, token: str) -> Page:
        """The user's ban events, one page, as short lines."""

    async def stats(self, tenant: str, admin: int) -> dict[str, int]:
        """Subscription statistics for the admin."""

    async def settings(self, tenant: str, user_id: int) -> dict[str, str]:
        """The user's settings."""

    async def report_ban(self, tenant: str, report: BanReport) -> bool:
        """Register a ban event; False when its event_id was already registered."""

    async def enforce_join(self, tenant: str, chat: int, user: int, *, join_ref: str) -> str:
        """A user joined ``chat``: ban them if a synced ban covers them there.
        "banned", "failed" or "not_banned"."""

    async def bot_removed(self, tenant: str, chat: int, status: str) -> int:
        """The bot was removed from ``chat`` ("left" or "kicked"): the subscriptions into it
        end. How many did."""

    async def users_seen(self, tenant: str, users: list[SeenUser]) -> None:
        """Record that ``users`` were active now, with their current profiles (seed §3.4:
        usernames follow Telegram, last_seen tracks activity)."""


PAGE_SIZE = 10


class GrpcModerationClient:
    """ModerationClient over the moderation app's gRPC API."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.subs = subscriptions_pb2_grpc.SubscriptionServiceStub(channel)
        self.bans = ban_events_pb2_grpc.BanEventServiceStub(channel)
        self.users = users_pb2_grpc.UserServiceStub(channel)
        self.chats = users_pb2_grpc.ChatServiceStub(channel)
        self.sync = sync_pb2_grpc.SyncServiceStub(channel)

    @staticmethod
    def _meta(tenant: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {mint_service_token('telegram', tenant)}"),)

    async def subscribe(self, tenant: str, admin: int, chat: int, tracked: int) -> None:
        await self.subs.CreateSubscription(subscriptions_pb2.CreateSubscriptionRequest(
            admin_user_id=admin, admin_chat_id=chat, tracked_user_id=tracked),
            metadata=self._meta(tenant))

    async def unsubscribe(self, tenant: str, admin: int, chat: int, tracked: int) -> bool:
        found = await self.subs.CheckSubscription(subscriptions_pb2.CheckSubscriptionRequest(
            admin_user_id=admin, admin_chat_id=chat, tracked_user_id=tracked),
            metadata=self._meta(tenant))
        if not found.exists:
            return False
        await self.subs.DeleteSubscription(subscriptions_pb2.DeleteSubscriptionRequest(
            id=found.subscription.id), metadata=self._meta(tenant))
        return True

    async def subscriptions(self, tenant: str, admin: int, chat: int, token: str) -> Page:
        reply = await self.subs.ListAdminSubscriptions(
            subscriptions_pb2.ListAdminSubscriptionsRequest(
                admin_id=admin, admin_chat_id=chat,
                page=pagination_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token)),
            metadata=self._meta(tenant))
        return Page([str(s.tracked_user_id) for s in reply.subscriptions],
                    reply.page.next_page_token)

    async def history(self, tenant: str, user_id: int, token: str) -> Page:
        reply = await self.bans.ListUserBanEvents(ban_events_pb2.ListUserBanEventsRequest(
            user_id=user_id, page=pagination_pb2.PageRequest(page_size=PAGE_SIZE,
                                                             page_token=token)),
            metadata=self._meta(tenant))
        lines = [f"{e.event_timestamp.ToDatetime():%Y-%m-%d %H:%M} {e.event_type} "
                 f"chat {e.chat_id}" + (f" ({e.reason})" if e.reason else "")
                 for e in reply.events]
        return Page(lines, reply.page.next_page_token)

    async def stats(self, tenant: str, admin: int) -> dict[str, int]:
        reply = await self.subs.GetSubscriptionStats(subscriptions_pb2.GetSubscriptionStatsRequest(
            admin_user_id=admin), metadata=self._meta(tenant))
        return {"active": int(reply.admin_active), "remaining": int(reply.admin_remaining),
                "limit": int(reply.limit_per_admin), "total": int(reply.total_active)}

    async def settings(self, tenant: str, user_id: int) -> dict[str, str]:
        try:
            reply = await self.users.GetUserSettings(users_pb2.GetUserSettingsRequest(
                user_id=user_id), metadata=self._meta(tenant))
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return {}
            raise
        s = reply.settings
        return {"notifications": "on" if s.notifications_enabled else "off",
                "language": s.language, "timezone": s.timezone}

    async def report_ban(self, tenant: str, report: BanReport) -> bool:
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(report.at)
        request = ban_events_pb2.RegisterBanEventRequest(
            event_id=report.event_id, user_id=report.user_id, chat_id=report.chat_id,
            event_type=report.event_type, event_timestamp=ts, username=report.username,
            chat_title=report.chat_title,
            reason=report.reason or default_reason(report.event_type, report.chat_title))
        if report.ban_duration is not None:
            request.ban_duration = report.ban_duration
        if report.initiator_user_id is not None:
            request.initiator_user_id = report.initiator_user_id
        reply = await self.bans.RegisterBanEvent(request, metadata=self._meta(tenant))
        return bool(reply.created)

    async def enforce_join(self, tenant: str, chat: int, user: int, *, join_ref: str) -> str:
        reply = await self.sync.EnforceOnJoin(sync_pb2.EnforceOnJoinRequest(
            chat_id=chat, user_id=user, join_ref=join_ref), metadata=self._meta(tenant))
        return str(reply.status)

    async def bot_removed(self, tenant: str, chat: int, status: str) -> int:
        reply = await self.chats.ReportBotRemoved(users_pb2.ReportBotRemovedRequest(
            chat_id=chat, status=status), metadata=self._meta(tenant))
        return int(reply.subscriptions_deactivated)

    async def users_seen(self, tenant: str, users: list[SeenUser]) -> None:
        await self.users.BatchUpsertUsers(users_pb2.BatchUpsertUsersRequest(seen=True, users=[
            users_pb2.UserProfileInput(user_id=u.user_id, username=u.username,
                                       first_name=u.first_name[:255], last_name=u.last_name[:255],
                                       language_code=u.language_code, is_bot=u.is_bot)
            for u in users]), metadata=self._meta(tenant))
