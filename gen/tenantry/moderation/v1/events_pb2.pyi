import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscriptionCreated(_message.Message):
    __slots__ = ("subscription_id", "admin_user_id", "admin_chat_id", "tracked_user_id")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: int
    admin_user_id: int
    admin_chat_id: int
    tracked_user_id: int
    def __init__(self, subscription_id: _Optional[int] = ..., admin_user_id: _Optional[int] = ..., admin_chat_id: _Optional[int] = ..., tracked_user_id: _Optional[int] = ...) -> None: ...

class SubscriptionDeleted(_message.Message):
    __slots__ = ("subscription_id", "admin_user_id", "admin_chat_id", "tracked_user_id", "reason", "cleanup_id")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CLEANUP_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: int
    admin_user_id: int
    admin_chat_id: int
    tracked_user_id: int
    reason: str
    cleanup_id: str
    def __init__(self, subscription_id: _Optional[int] = ..., admin_user_id: _Optional[int] = ..., admin_chat_id: _Optional[int] = ..., tracked_user_id: _Optional[int] = ..., reason: _Optional[str] = ..., cleanup_id: _Optional[str] = ...) -> None: ...

class SubscriptionLimitReached(_message.Message):
    __slots__ = ("admin_user_id", "admin_chat_id", "limit", "tracked_user_id")
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TRACKED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    admin_user_id: int
    admin_chat_id: int
    limit: int
    tracked_user_id: int
    def __init__(self, admin_user_id: _Optional[int] = ..., admin_chat_id: _Optional[int] = ..., limit: _Optional[int] = ..., tracked_user_id: _Optional[int] = ...) -> None: ...

class BanDetected(_message.Message):
    __slots__ = ("ban_event_id", "event_id", "user_id", "chat_id", "event_type", "ban_duration", "reason", "initiator_user_id", "event_timestamp", "username", "chat_title", "ban_type")
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    BAN_DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CHAT_TITLE_FIELD_NUMBER: _ClassVar[int]
    BAN_TYPE_FIELD_NUMBER: _ClassVar[int]
    ban_event_id: int
    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    ban_duration: int
    reason: str
    initiator_user_id: int
    event_timestamp: _timestamp_pb2.Timestamp
    username: str
    chat_title: str
    ban_type: str
    def __init__(self, ban_event_id: _Optional[int] = ..., event_id: _Optional[str] = ..., user_id: _Optional[int] = ..., chat_id: _Optional[int] = ..., event_type: _Optional[str] = ..., ban_duration: _Optional[int] = ..., reason: _Optional[str] = ..., initiator_user_id: _Optional[int] = ..., event_timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., username: _Optional[str] = ..., chat_title: _Optional[str] = ..., ban_type: _Optional[str] = ...) -> None: ...

class BanRegistered(_message.Message):
    __slots__ = ("ban_event_id", "event_id", "user_id", "chat_id", "event_type", "event_timestamp")
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ban_event_id: int
    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    event_timestamp: _timestamp_pb2.Timestamp
    def __init__(self, ban_event_id: _Optional[int] = ..., event_id: _Optional[str] = ..., user_id: _Optional[int] = ..., chat_id: _Optional[int] = ..., event_type: _Optional[str] = ..., event_timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncStarted(_message.Message):
    __slots__ = ("ban_event_id", "sync_id", "user_id", "source_chat_id", "total_chats")
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CHATS_FIELD_NUMBER: _ClassVar[int]
    ban_event_id: int
    sync_id: str
    user_id: int
    source_chat_id: int
    total_chats: int
    def __init__(self, ban_event_id: _Optional[int] = ..., sync_id: _Optional[str] = ..., user_id: _Optional[int] = ..., source_chat_id: _Optional[int] = ..., total_chats: _Optional[int] = ...) -> None: ...

class SyncFinished(_message.Message):
    __slots__ = ("ban_event_id", "sync_id", "user_id", "source_chat_id", "total_chats", "successful", "failed", "skipped", "sync_logs_ids", "errors", "chat_admins", "mean_sync_ms", "username", "synced_chat_ids", "event_type", "rows_truncated")
    class ErrorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: str
        def __init__(self, key: _Optional[int] = ..., value: _Optional[str] = ...) -> None: ...
    class ChatAdminsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: int
        def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CHATS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    SYNC_LOGS_IDS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    CHAT_ADMINS_FIELD_NUMBER: _ClassVar[int]
    MEAN_SYNC_MS_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    SYNCED_CHAT_IDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROWS_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    ban_event_id: int
    sync_id: str
    user_id: int
    source_chat_id: int
    total_chats: int
    successful: int
    failed: int
    skipped: int
    sync_logs_ids: _containers.RepeatedScalarFieldContainer[int]
    errors: _containers.ScalarMap[int, str]
    chat_admins: _containers.ScalarMap[int, int]
    mean_sync_ms: int
    username: str
    synced_chat_ids: _containers.RepeatedScalarFieldContainer[int]
    event_type: str
    rows_truncated: bool
    def __init__(self, ban_event_id: _Optional[int] = ..., sync_id: _Optional[str] = ..., user_id: _Optional[int] = ..., source_chat_id: _Optional[int] = ..., total_chats: _Optional[int] = ..., successful: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., sync_logs_ids: _Optional[_Iterable[int]] = ..., errors: _Optional[_Mapping[int, str]] = ..., chat_admins: _Optional[_Mapping[int, int]] = ..., mean_sync_ms: _Optional[int] = ..., username: _Optional[str] = ..., synced_chat_ids: _Optional[_Iterable[int]] = ..., event_type: _Optional[str] = ..., rows_truncated: _Optional[bool] = ...) -> None: ...

class SyncRightsMissing(_message.Message):
    __slots__ = ("chat_id", "admin_user_id", "user_id", "error", "sync_id")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    admin_user_id: int
    user_id: int
    error: str
    sync_id: str
    def __init__(self, chat_id: _Optional[int] = ..., admin_user_id: _Optional[int] = ..., user_id: _Optional[int] = ..., error: _Optional[str] = ..., sync_id: _Optional[str] = ...) -> None: ...

class UserSettingsUpdated(_message.Message):
    __slots__ = ("user_id", "notifications_enabled", "language", "timezone", "updated_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    notifications_enabled: bool
    language: str
    timezone: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[int] = ..., notifications_enabled: _Optional[bool] = ..., language: _Optional[str] = ..., timezone: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
