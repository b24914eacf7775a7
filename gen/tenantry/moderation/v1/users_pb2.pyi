import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tenantry.common.v1 import pagination_pb2 as _pagination_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class User(_message.Message):
    __slots__ = ("user_id", "username", "first_name", "last_name", "language_code", "is_bot", "is_active", "created_at", "updated_at", "last_seen")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    IS_BOT_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    first_name: str
    last_name: str
    language_code: str
    is_bot: bool
    is_active: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., language_code: _Optional[str] = ..., is_bot: _Optional[bool] = ..., is_active: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UserProfileInput(_message.Message):
    __slots__ = ("user_id", "username", "first_name", "last_name", "language_code", "is_bot")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    IS_BOT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    first_name: str
    last_name: str
    language_code: str
    is_bot: bool
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., language_code: _Optional[str] = ..., is_bot: _Optional[bool] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("user_id", "username", "first_name", "last_name", "language_code", "is_bot")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    IS_BOT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    first_name: str
    last_name: str
    language_code: str
    is_bot: bool
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., language_code: _Optional[str] = ..., is_bot: _Optional[bool] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class BatchUpsertUsersRequest(_message.Message):
    __slots__ = ("users", "seen")
    USERS_FIELD_NUMBER: _ClassVar[int]
    SEEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[UserProfileInput]
    seen: bool
    def __init__(self, users: _Optional[_Iterable[_Union[UserProfileInput, _Mapping]]] = ..., seen: _Optional[bool] = ...) -> None: ...

class BatchUpsertResult(_message.Message):
    __slots__ = ("user_id", "status", "error")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    status: str
    error: str
    def __init__(self, user_id: _Optional[int] = ..., status: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class BatchUpsertUsersResponse(_message.Message):
    __slots__ = ("results", "created", "updated", "invalid")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    INVALID_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchUpsertResult]
    created: int
    updated: int
    invalid: int
    def __init__(self, results: _Optional[_Iterable[_Union[BatchUpsertResult, _Mapping]]] = ..., created: _Optional[int] = ..., updated: _Optional[int] = ..., invalid: _Optional[int] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    def __init__(self, user_id: _Optional[int] = ...) -> None: ...

class GetUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class UpdateUserRequest(_message.Message):
    __slots__ = ("user_id", "username", "first_name", "last_name", "language_code", "is_active")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    first_name: str
    last_name: str
    language_code: str
    is_active: bool
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ..., first_name: _Optional[str] = ..., last_name: _Optional[str] = ..., language_code: _Optional[str] = ..., is_active: _Optional[bool] = ...) -> None: ...

class UpdateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class DeactivateUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    def __init__(self, user_id: _Optional[int] = ...) -> None: ...

class DeactivateUserResponse(_message.Message):
    __slots__ = ("user", "subscriptions_deactivated")
    USER_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_DEACTIVATED_FIELD_NUMBER: _ClassVar[int]
    user: User
    subscriptions_deactivated: int
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., subscriptions_deactivated: _Optional[int] = ...) -> None: ...

class TouchUserRequest(_message.Message):
    __slots__ = ("user_id", "username")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ...) -> None: ...

class TouchUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class UserSettings(_message.Message):
    __slots__ = ("user_id", "notifications_enabled", "language", "timezone", "settings")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    notifications_enabled: bool
    language: str
    timezone: str
    settings: _struct_pb2.Struct
    def __init__(self, user_id: _Optional[int] = ..., notifications_enabled: _Optional[bool] = ..., language: _Optional[str] = ..., timezone: _Optional[str] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetUserSettingsRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    def __init__(self, user_id: _Optional[int] = ...) -> None: ...

class GetUserSettingsResponse(_message.Message):
    __slots__ = ("settings",)
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    settings: UserSettings
    def __init__(self, settings: _Optional[_Union[UserSettings, _Mapping]] = ...) -> None: ...

class UpdateUserSettingsRequest(_message.Message):
    __slots__ = ("user_id", "notifications_enabled", "language", "timezone", "settings")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    notifications_enabled: bool
    language: str
    timezone: str
    settings: _struct_pb2.Struct
    def __init__(self, user_id: _Optional[int] = ..., notifications_enabled: _Optional[bool] = ..., language: _Optional[str] = ..., timezone: _Optional[str] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UpdateUserSettingsResponse(_message.Message):
    __slots__ = ("settings",)
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    settings: UserSettings
    def __init__(self, settings: _Optional[_Union[UserSettings, _Mapping]] = ...) -> None: ...

class ChatSettings(_message.Message):
    __slots__ = ("chat_id", "chat_title", "sync_ban_type", "sync_delay_seconds", "auto_sync_enabled", "require_confirmation", "settings", "temporary_ban_seconds", "created_at", "updated_at")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_TITLE_FIELD_NUMBER: _ClassVar[int]
    SYNC_BAN_TYPE_FIELD_NUMBER: _ClassVar[int]
    SYNC_DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AUTO_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    TEMPORARY_BAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    chat_title: str
    sync_ban_type: str
    sync_delay_seconds: int
    auto_sync_enabled: bool
    require_confirmation: bool
    settings: _struct_pb2.Struct
    temporary_ban_seconds: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, chat_id: _Optional[int] = ..., chat_title: _Optional[str] = ..., sync_ban_type: _Optional[str] = ..., sync_delay_seconds: _Optional[int] = ..., auto_sync_enabled: _Optional[bool] = ..., require_confirmation: _Optional[bool] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., temporary_ban_seconds: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterChatRequest(_message.Message):
    __slots__ = ("chat_id", "chat_title", "sync_ban_type", "sync_delay_seconds", "auto_sync_enabled", "require_confirmation", "settings", "temporary_ban_seconds")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_TITLE_FIELD_NUMBER: _ClassVar[int]
    SYNC_BAN_TYPE_FIELD_NUMBER: _ClassVar[int]
    SYNC_DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AUTO_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    TEMPORARY_BAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    chat_title: str
    sync_ban_type: str
    sync_delay_seconds: int
    auto_sync_enabled: bool
    require_confirmation: bool
    settings: _struct_pb2.Struct
    temporary_ban_seconds: int
    def __init__(self, chat_id: _Optional[int] = ..., chat_title: _Optional[str] = ..., sync_ban_type: _Optional[str] = ..., sync_delay_seconds: _Optional[int] = ..., auto_sync_enabled: _Optional[bool] = ..., require_confirmation: _Optional[bool] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., temporary_ban_seconds: _Optional[int] = ...) -> None: ...

class RegisterChatResponse(_message.Message):
    __slots__ = ("chat",)
    CHAT_FIELD_NUMBER: _ClassVar[int]
    chat: ChatSettings
    def __init__(self, chat: _Optional[_Union[ChatSettings, _Mapping]] = ...) -> None: ...

class RemoveChatRequest(_message.Message):
    __slots__ = ("chat_id",)
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    def __init__(self, chat_id: _Optional[int] = ...) -> None: ...

class RemoveChatResponse(_message.Message):
    __slots__ = ("subscriptions_deactivated", "admins_removed")
    SUBSCRIPTIONS_DEACTIVATED_FIELD_NUMBER: _ClassVar[int]
    ADMINS_REMOVED_FIELD_NUMBER: _ClassVar[int]
    subscriptions_deactivated: int
    admins_removed: int
    def __init__(self, subscriptions_deactivated: _Optional[int] = ..., admins_removed: _Optional[int] = ...) -> None: ...

class ReportBotRemovedRequest(_message.Message):
    __slots__ = ("chat_id", "status")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    status: str
    def __init__(self, chat_id: _Optional[int] = ..., status: _Optional[str] = ...) -> None: ...

class ReportBotRemovedResponse(_message.Message):
    __slots__ = ("subscriptions_deactivated",)
    SUBSCRIPTIONS_DEACTIVATED_FIELD_NUMBER: _ClassVar[int]
    subscriptions_deactivated: int
    def __init__(self, subscriptions_deactivated: _Optional[int] = ...) -> None: ...

class GetChatSettingsRequest(_message.Message):
    __slots__ = ("chat_id",)
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    def __init__(self, chat_id: _Optional[int] = ...) -> None: ...

class GetChatSettingsResponse(_message.Message):
    __slots__ = ("chat",)
    CHAT_FIELD_NUMBER: _ClassVar[int]
    chat: ChatSettings
    def __init__(self, chat: _Optional[_Union[ChatSettings, _Mapping]] = ...) -> None: ...

class UpdateChatSettingsRequest(_message.Message):
    __slots__ = ("chat_id", "chat_title", "sync_ban_type", "sync_delay_seconds", "auto_sync_enabled", "require_confirmation", "settings", "temporary_ban_seconds")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_TITLE_FIELD_NUMBER: _ClassVar[int]
    SYNC_BAN_TYPE_FIELD_NUMBER: _ClassVar[int]
    SYNC_DELAY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AUTO_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    TEMPORARY_BAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    chat_title: str
    sync_ban_type: str
    sync_delay_seconds: int
    auto_sync_enabled: bool
    require_confirmation: bool
    settings: _struct_pb2.Struct
    temporary_ban_seconds: int
    def __init__(self, chat_id: _Optional[int] = ..., chat_title: _Optional[str] = ..., sync_ban_type: _Optional[str] = ..., sync_delay_seconds: _Optional[int] = ..., auto_sync_enabled: _Optional[bool] = ..., require_confirmation: _Optional[bool] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., temporary_ban_seconds: _Optional[int] = ...) -> None: ...

class UpdateChatSettingsResponse(_message.Message):
    __slots__ = ("chat",)
    CHAT_FIELD_NUMBER: _ClassVar[int]
    chat: ChatSettings
    def __init__(self, chat: _Optional[_Union[ChatSettings, _Mapping]] = ...) -> None: ...

class ChatAdmin(_message.Message):
    __slots__ = ("id", "user_id", "chat_id", "role", "can_ban", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CAN_BAN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    user_id: int
    chat_id: int
    role: str
    can_ban: bool
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., user_id: _Optional[int] = ..., chat_id: _Optional[int] = ..., role: _Optional[str] = ..., can_ban: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AddChatAdminRequest(_message.Message):
    __slots__ = ("chat_id", "user_id", "role", "can_ban")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CAN_BAN_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    user_id: int
    role: str
    can_ban: bool
    def __init__(self, chat_id: _Optional[int] = ..., user_id: _Optional[int] = ..., role: _Optional[str] = ..., can_ban: _Optional[bool] = ...) -> None: ...

class AddChatAdminResponse(_message.Message):
    __slots__ = ("admin", "created")
    ADMIN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    admin: ChatAdmin
    created: bool
    def __init__(self, admin: _Optional[_Union[ChatAdmin, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class RemoveChatAdminRequest(_message.Message):
    __slots__ = ("chat_id", "user_id")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    user_id: int
    def __init__(self, chat_id: _Optional[int] = ..., user_id: _Optional[int] = ...) -> None: ...

class RemoveChatAdminResponse(_message.Message):
    __slots__ = ("subscriptions_deactivated",)
    SUBSCRIPTIONS_DEACTIVATED_FIELD_NUMBER: _ClassVar[int]
    subscriptions_deactivated: int
    def __init__(self, subscriptions_deactivated: _Optional[int] = ...) -> None: ...

class ListChatAdminsRequest(_message.Message):
    __slots__ = ("chat_id", "page")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    page: _pagination_pb2.PageRequest
    def __init__(self, chat_id: _Optional[int] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListChatAdminsResponse(_message.Message):
    __slots__ = ("admins", "page")
    ADMINS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    admins: _containers.RepeatedCompositeFieldContainer[ChatAdmin]
    page: _pagination_pb2.PageResponse
    def __init__(self, admins: _Optional[_Iterable[_Union[ChatAdmin, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class VerifyAdminRequest(_message.Message):
    __slots__ = ("user_id", "chat_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    chat_id: int
    def __init__(self, user_id: _Optional[int] = ..., chat_id: _Optional[int] = ...) -> None: ...

class VerifyAdminResponse(_message.Message):
    __slots__ = ("is_admin", "role", "can_ban")
    IS_ADMIN_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CAN_BAN_FIELD_NUMBER: _ClassVar[int]
    is_admin: bool
    role: str
    can_ban: bool
    def __init__(self, is_admin: _Optional[bool] = ..., role: _Optional[str] = ..., can_ban: _Optional[bool] = ...) -> None: ...
