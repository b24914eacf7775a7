"""gRPC adapters of UserService and ChatService: messages in, domain calls, messages out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from tenantry.moderation.v1 import users_pb2 as pb
from tenantry.moderation.v1 import users_pb2_grpc as pb_grpc

from services.kit.service import Runtime

from .models import ChatAdmin, ChatSettings, User, UserProfile, UserSettings
from .service import ChatRegistry, UserDirectory

Ctx = grpc.aio.ServicerContext

def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf Timestamp for ``value`` (None stays None)."""
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def struct(value: dict[str, Any] | None) -> struct_pb2.Struct:
    """A protobuf Struct for a JSON object."""
    out = struct_pb2.Struct()
    out.update(value or {})
    return out


def struct_field(request: Message, name: str) -> dict[str, Any] | None:
    """A Struct field of ``request`` as a dict, or None when the field is unset."""
    if not request.HasField(name):
        return None
    return json_format.MessageToDict(getattr(request, name))


def optionals(request: Message, *names: str) -> dict[str, Any]:
    """The proto3 ``optional`` fields of ``request`` that are set, by name."""
    return {n: getattr(request, n) for n in names if request.HasField(n)}


def user_pb(u: User) -> pb.User:
    """Domain → message."""
    return pb.User(user_id=u.user_id, username=u.username or "", first_name=u.first_name or "",
                   last_name=u.last_name or "", language_code=u.language_code or "",
                   is_bot=u.is_bot, is_active=u.is_active, created_at=timestamp(u.created_at),
                   updated_at=timestamp(u.updated_at), last_seen=timestamp(u.last_seen))


def settings_pb(s: UserSettings) -> pb.UserSettings:
    """Domain → message."""
    return pb.UserSettings(user_id=s.user_id, notifications_enabled=s.notifications_enabled,
                           language=s.language, timezone=s.timezone, settings=struct(s.settings))


def chat_pb(c: ChatSettings) -> pb.ChatSettings:
    """Domain → message."""
    return pb.ChatSettings(
        chat_id=c.chat_id, chat_title=c.chat_title or "", sync_ban_type=c.sync_ban_type,
        sync_delay_seconds=c.sync_delay_seconds, auto_sync_enabled=c.auto_sync_enabled,
        require_confirmation=c.require_confirmation, settings=struct(c.settings),
        temporary_ban_seconds=c.temporary_ban_seconds, created_at=timestamp(c.created_at),
        updated_at=timestamp(c.updated_at))


def admin_pb(a: ChatAdmin) -> pb.ChatAdmin:
    """Domain → message."""
    return pb.ChatAdmin(id=a.id, user_id=a.user_id, chat_id=a.chat_id, role=a.role,
                        can_ban=a.can_ban, created_at=timestamp(a.created_at))


def _profile(m: pb.CreateUserRequest | pb.UserProfileInput) -> UserProfile:
    return UserProfile(user_id=m.user_id, username=m.username, first_name=m.first_name,
                       last_name=m.last_name, language_code=m.language_code, is_bot=m.is_bot)


class UserServicer(pb_grpc.UserServiceServicer):
    """UserService over :class:`UserDirectory`."""

    def __init__(self, users: UserDirectory) -> None:
        self.users = users

    async def CreateUser(self, request: pb.CreateUserRequest, _: Ctx) -> pb.CreateUserResponse:
        return pb.CreateUserResponse(user=user_pb(await self.users.create(_profile(request))))

    async def BatchUpsertUsers(self, request: pb.BatchUpsertUsersRequest, _: Ctx) -> pb.BatchUpsertUsersResponse:
        results = await self.users.batch_upsert([_profile(u) for u in request.users],
                                                seen=request.seen)
        return pb.BatchUpsertUsersResponse(
            results=[pb.BatchUpsertResult(user_id=r.user_id, status=r.status, error=r.error)
                     for r in results],
            created=sum(r.status == "created" for r in results),
            updated=sum(r.status == "updated" for r in results),
            invalid=sum(r.status == "invalid" for r in results))

    async def GetUser(self, request: pb.GetUserRequest, _: Ctx) -> pb.GetUserResponse:
        return pb.GetUserResponse(user=user_pb(await self.users.get(request.user_id)))

    async def UpdateUser(self, request: pb.UpdateUserRequest, _: Ctx) -> pb.UpdateUserResponse:
        changes = optionals(request, "username", "first_name", "last_name", "language_code",
                            "is_active")
        return pb.UpdateUserResponse(user=user_pb(await self.users.update(request.user_id, changes)))

    async def DeactivateUser(self, request: pb.DeactivateUserRequest, _: Ctx) -> pb.DeactivateUserResponse:
        user, removed = await self.users.deactivate(request.user_id)
        return pb.DeactivateUserResponse(user=user_pb(user), subscriptions_deactivated=removed)

    async def TouchUser(self, request: pb.TouchUserRequest, _: Ctx) -> pb.TouchUserResponse:
        username = request.username if request.HasField("username") else None
        return pb.TouchUserResponse(user=user_pb(await self.users.touch(request.user_id, username)))

    async def GetUserSettings(self, request: pb.GetUserSettingsRequest, _: Ctx) -> pb.GetUserSettingsResponse:
        return pb.GetUserSettingsResponse(
            settings=settings_pb(await self.users.get_settings(request.user_id)))

    async def UpdateUserSettings(self, request: pb.UpdateUserSettingsRequest, _: Ctx) -> pb.UpdateUserSettingsResponse:
        changes = optionals(request, "notifications_enabled", "language", "timezone")
        if (extra := struct_field(request, "settings")) is not None:
            changes["settings"] = extra
        return pb.UpdateUserSettingsResponse(
            settings=settings_pb(await self.users.update_settings(request.user_id, changes)))


_CHAT_OPTIONALS = ("sync_ban_type", "sync_delay_seconds", "auto_sync_enabled",
                   "require_confirmation", "temporary_ban_seconds")


class ChatServicer(pb_grpc.ChatServiceServicer):
    """ChatService over :class:`ChatRegistry`."""

    def __init__(self, chats: ChatRegistry) -> None:
        self.chats = chats

    @staticmethod
    def _fields(request: pb.RegisterChatRequest | pb.UpdateChatSettingsRequest) -> dict[str, Any]:
        fields = optionals(request, *_CHAT_OPTIONALS)
        if (extra := struct_field(request, "settings")) is not None:
            fields["settings"] = extra
        return fields

    async def RegisterChat(self, request: pb.RegisterChatRequest, _: Ctx) -> pb.RegisterChatResponse:
        fields = self._fields(request)
        if request.chat_title:
            fields["chat_title"] = request.chat_title
        return pb.RegisterChatResponse(chat=chat_pb(await self.chats.register(request.chat_id, fields)))

    async def RemoveChat(self, request: pb.RemoveChatRequest, _: Ctx) -> pb.RemoveChatResponse:
        subs, admins = await self.chats.remove(request.chat_id)
        return pb.RemoveChatResponse(subscriptions_deactivated=subs, admins_removed=admins)

    async def ReportBotRemoved(self, request: pb.ReportBotRemovedRequest,
                               _: Ctx) -> pb.ReportBotRemovedResponse:
        removed = await self.chats.bot_removed(request.chat_id, request.status)
        return pb.ReportBotRemovedResponse(subscriptions_deactivated=removed)

    async def GetChatSettings(self, request: pb.GetChatSettingsRequest, _: Ctx) -> pb.GetChatSettingsResponse:
        return pb.GetChatSettingsResponse(chat=chat_pb(await self.chats.get_settings(request.chat_id)))

    async def UpdateChatSettings(self, request: pb.UpdateChatSettingsRequest, _: Ctx) -> pb.UpdateChatSettingsResponse:
        fields = self._fields(request)
        if request.HasField("chat_title"):
            fields["chat_title"] = request.chat_title
        chat = await self.chats.update_settings(request.chat_id, fields)
        return pb.UpdateChatSettingsResponse(chat=chat_pb(chat))

    async def AddChatAdmin(self, request: pb.AddChatAdminRequest, _: Ctx) -> pb.AddChatAdminResponse:
        can_ban = request.can_ban if request.HasField("can_ban") else None
        admin, created = await self.chats.add_admin(request.chat_id, request.user_id,
                                                    request.role, can_ban)
        return pb.AddChatAdminResponse(admin=admin_pb(admin), created=created)

    async def RemoveChatAdmin(self, request: pb.RemoveChatAdminRequest, _: Ctx) -> pb.RemoveChatAdminResponse:
        removed = await self.chats.remove_admin(request.chat_id, request.user_id)
        return pb.RemoveChatAdminResponse(subscriptions_deactivated=removed)

    async def ListChatAdmins(self, request: pb.ListChatAdminsRequest, _: Ctx) -> pb.ListChatAdminsResponse:
        page = await self.chats.list_admins(request.chat_id, request.page.page_size,
                                            request.page.page_token)
        response = pb.ListChatAdminsResponse(admins=[admin_pb(a) for a in page.items])
        response.page.next_page_token = page.next_page_token
        return response

    async def VerifyAdmin(self, request: pb.VerifyAdminRequest, _: Ctx) -> pb.VerifyAdminResponse:
        verdict = await self.chats.verify_admin(request.user_id, request.chat_id)
        return pb.VerifyAdminResponse(is_admin=verdict.is_admin, role=verdict.role,
                                      can_ban=verdict.can_ban)


def register(rt: Runtime) -> None:
    """Serve UserService and ChatService on the runtime."""
    descriptor = pb.DESCRIPTOR.services_by_name
    rt.add_servicer(pb_grpc.add_UserServiceServicer_to_server,
                    UserServicer(UserDirectory(rt.db, rt.redis)), descriptor["UserService"])
    rt.add_servicer(pb_grpc.add_ChatServiceServicer_to_server,
                    ChatServicer(ChatRegistry(rt.db, rt.redis)), descriptor["ChatService"])
