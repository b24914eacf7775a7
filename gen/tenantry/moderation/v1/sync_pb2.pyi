import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tenantry.common.v1 import pagination_pb2 as _pagination_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SyncRun(_message.Message):
    __slots__ = ("sync_id", "ban_event_id", "user_id", "source_chat_id", "event_type", "status", "trigger", "total_chats", "successful", "failed", "skipped", "pending", "awaiting_confirmation", "policy", "created_at", "finished_at")
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CHATS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    AWAITING_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    ban_event_id: int
    user_id: int
    source_chat_id: int
    event_type: str
    status: str
    trigger: str
    total_chats: int
    successful: int
    failed: int
    skipped: int
    pending: int
    awaiting_confirmation: int
    policy: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, sync_id: _Optional[str] = ..., ban_event_id: _Optional[int] = ..., user_id: _Optional[int] = ..., source_chat_id: _Optional[int] = ..., event_type: _Optional[str] = ..., status: _Optional[str] = ..., trigger: _Optional[str] = ..., total_chats: _Optional[int] = ..., successful: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., pending: _Optional[int] = ..., awaiting_confirmation: _Optional[int] = ..., policy: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SyncLog(_message.Message):
    __slots__ = ("id", "sync_id", "ban_event_id", "source_chat_id", "target_chat_id", "user_id", "action", "status", "error_message", "retry_count", "until_date", "started_at", "completed_at", "created_at", "awaiting_confirmation")
    ID_FIELD_NUMBER: _ClassVar[int]
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_DATE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    AWAITING_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    id: int
    sync_id: str
    ban_event_id: int
    source_chat_id: int
    target_chat_id: int
    user_id: int
    action: str
    status: str
    error_message: str
    retry_count: int
    until_date: int
    started_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    awaiting_confirmation: bool
    def __init__(self, id: _Optional[int] = ..., sync_id: _Optional[str] = ..., ban_event_id: _Optional[int] = ..., source_chat_id: _Optional[int] = ..., target_chat_id: _Optional[int] = ..., user_id: _Optional[int] = ..., action: _Optional[str] = ..., status: _Optional[str] = ..., error_message: _Optional[str] = ..., retry_count: _Optional[int] = ..., until_date: _Optional[int] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., awaiting_confirmation: _Optional[bool] = ...) -> None: ...

class TriggerSyncRequest(_message.Message):
    __slots__ = ("ban_event_id", "target_chat_ids")
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_CHAT_IDS_FIELD_NUMBER: _ClassVar[int]
    ban_event_id: int
    target_chat_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, ban_event_id: _Optional[int] = ..., target_chat_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class TriggerSyncResponse(_message.Message):
    __slots__ = ("sync_id", "total_chats")
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CHATS_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    total_chats: int
    def __init__(self, sync_id: _Optional[str] = ..., total_chats: _Optional[int] = ...) -> None: ...

class GetSyncStatusRequest(_message.Message):
    __slots__ = ("sync_id",)
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    def __init__(self, sync_id: _Optional[str] = ...) -> None: ...

class GetSyncStatusResponse(_message.Message):
    __slots__ = ("sync",)
    SYNC_FIELD_NUMBER: _ClassVar[int]
    sync: SyncRun
    def __init__(self, sync: _Optional[_Union[SyncRun, _Mapping]] = ...) -> None: ...

class ListSyncLogsRequest(_message.Message):
    __slots__ = ("status", "target_chat_id", "ban_event_id", "page", "awaiting_confirmation", "sync_id")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TARGET_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    AWAITING_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    status: str
    target_chat_id: int
    ban_event_id: int
    page: _pagination_pb2.PageRequest
    awaiting_confirmation: bool
    sync_id: str
    def __init__(self, status: _Optional[str] = ..., target_chat_id: _Optional[int] = ..., ban_event_id: _Optional[int] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ..., awaiting_confirmation: _Optional[bool] = ..., sync_id: _Optional[str] = ...) -> None: ...

class ListSyncLogsResponse(_message.Message):
    __slots__ = ("logs", "page")
    LOGS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    logs: _containers.RepeatedCompositeFieldContainer[SyncLog]
    page: _pagination_pb2.PageResponse
    def __init__(self, logs: _Optional[_Iterable[_Union[SyncLog, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class RetrySyncRequest(_message.Message):
    __slots__ = ("sync_id",)
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    def __init__(self, sync_id: _Optional[str] = ...) -> None: ...

class RetrySyncResponse(_message.Message):
    __slots__ = ("sync_id", "retried")
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    RETRIED_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    retried: int
    def __init__(self, sync_id: _Optional[str] = ..., retried: _Optional[int] = ...) -> None: ...

class ConfirmSyncRequest(_message.Message):
    __slots__ = ("sync_id", "target_chat_ids")
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_CHAT_IDS_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    target_chat_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, sync_id: _Optional[str] = ..., target_chat_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ConfirmSyncResponse(_message.Message):
    __slots__ = ("sync_id", "confirmed")
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    confirmed: int
    def __init__(self, sync_id: _Optional[str] = ..., confirmed: _Optional[int] = ...) -> None: ...

class DeclineSyncRequest(_message.Message):
    __slots__ = ("sync_id", "target_chat_ids", "reason")
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_CHAT_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    target_chat_ids: _containers.RepeatedScalarFieldContainer[int]
    reason: str
    def __init__(self, sync_id: _Optional[str] = ..., target_chat_ids: _Optional[_Iterable[int]] = ..., reason: _Optional[str] = ...) -> None: ...

class DeclineSyncResponse(_message.Message):
    __slots__ = ("sync_id", "declined")
    SYNC_ID_FIELD_NUMBER: _ClassVar[int]
    DECLINED_FIELD_NUMBER: _ClassVar[int]
    sync_id: str
    declined: int
    def __init__(self, sync_id: _Optional[str] = ..., declined: _Optional[int] = ...) -> None: ...

class EnforceOnJoinRequest(_message.Message):
    __slots__ = ("chat_id", "user_id", "join_ref")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    JOIN_REF_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    user_id: int
    join_ref: str
    def __init__(self, chat_id: _Optional[int] = ..., user_id: _Optional[int] = ..., join_ref: _Optional[str] = ...) -> None: ...

class EnforceOnJoinResponse(_message.Message):
    __slots__ = ("status", "ban_event_id", "until_date", "error")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    BAN_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    UNTIL_DATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    status: str
    ban_event_id: int
    until_date: int
    error: str
    def __init__(self, status: _Optional[str] = ..., ban_event_id: _Optional[int] = ..., until_date: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...
