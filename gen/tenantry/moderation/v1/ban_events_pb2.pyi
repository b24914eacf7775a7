import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tenantry.common.v1 import errors_pb2 as _errors_pb2
from tenantry.common.v1 import pagination_pb2 as _pagination_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BanEvent(_message.Message):
    __slots__ = ("id", "event_id", "user_id", "chat_id", "event_type", "ban_duration", "reason", "initiator_user_id", "event_timestamp", "created_at", "metadata", "archived_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    BAN_DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    ban_duration: int
    reason: str
    initiator_user_id: int
    event_timestamp: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    metadata: _struct_pb2.Struct
    archived_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., event_id: _Optional[str] = ..., user_id: _Optional[int] = ..., chat_id: _Optional[int] = ..., event_type: _Optional[str] = ..., ban_duration: _Optional[int] = ..., reason: _Optional[str] = ..., initiator_user_id: _Optional[int] = ..., event_timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., archived_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BanEventInput(_message.Message):
    __slots__ = ("event_id", "user_id", "chat_id", "event_type", "ban_duration", "reason", "initiator_user_id", "event_timestamp", "metadata", "username", "chat_title")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    BAN_DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CHAT_TITLE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    ban_duration: int
    reason: str
    initiator_user_id: int
    event_timestamp: _timestamp_pb2.Timestamp
    metadata: _struct_pb2.Struct
    username: str
    chat_title: str
    def __init__(self, event_id: _Optional[str] = ..., user_id: _Optional[int] = ..., chat_id: _Optional[int] = ..., event_type: _Optional[str] = ..., ban_duration: _Optional[int] = ..., reason: _Optional[str] = ..., initiator_user_id: _Optional[int] = ..., event_timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., username: _Optional[str] = ..., chat_title: _Optional[str] = ...) -> None: ...

class RegisterBanEventRequest(_message.Message):
    __slots__ = ("event_id", "user_id", "chat_id", "event_type", "ban_duration", "reason", "initiator_user_id", "event_timestamp", "metadata", "username", "chat_title")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    BAN_DURATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INITIATOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CHAT_TITLE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    ban_duration: int
    reason: str
    initiator_user_id: int
    event_timestamp: _timestamp_pb2.Timestamp
    metadata: _struct_pb2.Struct
    username: str
    chat_title: str
    def __init__(self, event_id: _Optional[str] = ..., user_id: _Optional[int] = ..., chat_id: _Optional[int] = ..., event_type: _Optional[str] = ..., ban_duration: _Optional[int] = ..., reason: _Optional[str] = ..., initiator_user_id: _Optional[int] = ..., event_timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., username: _Optional[str] = ..., chat_title: _Optional[str] = ...) -> None: ...

class RegisterBanEventResponse(_message.Message):
    __slots__ = ("event", "created")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    event: BanEvent
    created: bool
    def __init__(self, event: _Optional[_Union[BanEvent, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetBanEventRequest(_message.Message):
    __slots__ = ("event_id",)
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    def __init__(self, event_id: _Optional[str] = ...) -> None: ...

class GetBanEventResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: BanEvent
    def __init__(self, event: _Optional[_Union[BanEvent, _Mapping]] = ...) -> None: ...

class GetBanEventByIdRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class GetBanEventByIdResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: BanEvent
    def __init__(self, event: _Optional[_Union[BanEvent, _Mapping]] = ...) -> None: ...

class ListUserBanEventsRequest(_message.Message):
    __slots__ = ("user_id", "page")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    page: _pagination_pb2.PageRequest
    def __init__(self, user_id: _Optional[int] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListUserBanEventsResponse(_message.Message):
    __slots__ = ("events", "page")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[BanEvent]
    page: _pagination_pb2.PageResponse
    def __init__(self, events: _Optional[_Iterable[_Union[BanEvent, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ListChatBanEventsRequest(_message.Message):
    __slots__ = ("chat_id", "page")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    page: _pagination_pb2.PageRequest
    def __init__(self, chat_id: _Optional[int] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListChatBanEventsResponse(_message.Message):
    __slots__ = ("events", "page")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[BanEvent]
    page: _pagination_pb2.PageResponse
    def __init__(self, events: _Optional[_Iterable[_Union[BanEvent, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class SearchBanEventsRequest(_message.Message):
    __slots__ = ("user_id", "chat_id", "to", "event_type", "reason", "page")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    chat_id: int
    to: str
    event_type: str
    reason: str
    page: _pagination_pb2.PageRequest
    def __init__(self, user_id: _Optional[int] = ..., chat_id: _Optional[int] = ..., to: _Optional[str] = ..., event_type: _Optional[str] = ..., reason: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ..., **kwargs) -> None: ...

class SearchBanEventsResponse(_message.Message):
    __slots__ = ("events", "page")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[BanEvent]
    page: _pagination_pb2.PageResponse
    def __init__(self, events: _Optional[_Iterable[_Union[BanEvent, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class BulkRegisterBanEventsRequest(_message.Message):
    __slots__ = ("events", "historical")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    HISTORICAL_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[BanEventInput]
    historical: bool
    def __init__(self, events: _Optional[_Iterable[_Union[BanEventInput, _Mapping]]] = ..., historical: _Optional[bool] = ...) -> None: ...

class BulkItemResult(_message.Message):
    __slots__ = ("index", "event_id", "status", "id", "violations")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    index: int
    event_id: str
    status: str
    id: int
    violations: _containers.RepeatedCompositeFieldContainer[_errors_pb2.FieldViolation]
    def __init__(self, index: _Optional[int] = ..., event_id: _Optional[str] = ..., status: _Optional[str] = ..., id: _Optional[int] = ..., violations: _Optional[_Iterable[_Union[_errors_pb2.FieldViolation, _Mapping]]] = ...) -> None: ...

class BulkRegisterBanEventsResponse(_message.Message):
    __slots__ = ("results", "created", "duplicates", "invalid")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    INVALID_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BulkItemResult]
    created: int
    duplicates: int
    invalid: int
    def __init__(self, results: _Optional[_Iterable[_Union[BulkItemResult, _Mapping]]] = ..., created: _Optional[int] = ..., duplicates: _Optional[int] = ..., invalid: _Optional[int] = ...) -> None: ...
