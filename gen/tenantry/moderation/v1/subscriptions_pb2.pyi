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

class Subscription(_message.Message):
    __slots__ = ("id", "admin_user_id", "admin_chat_id", "tracked_user_id", "is_active", "settings", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    admin_user_id: int
    admin_chat_id: int
    tracked_user_id: int
    is_active: bool
    settings: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., admin_user_id: _Optional[int] = ..., admin_chat_id: _Optional[int] = ..., tracked_user_id: _Optional[int] = ..., is_active: _Optional[bool] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ("admin_user_id", "admin_chat_id", "tracked_user_id", "settings")
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    admin_user_id: int
    admin_chat_id: int
    tracked_user_id: int
    settings: _struct_pb2.Struct
    def __init__(self, admin_user_id: _Optional[int] = ..., admin_chat_id: _Optional[int] = ..., tracked_user_id: _Optional[int] = ..., settings: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CreateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription", "reactivated")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REACTIVATED_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    reactivated: bool
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., reactivated: _Optional[bool] = ...) -> None: ...

class DeleteSubscriptionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class DeleteSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class ListAdminSubscriptionsRequest(_message.Message):
    __slots__ = ("admin_id", "admin_chat_id", "page")
    ADMIN_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    admin_id: int
    admin_chat_id: int
    page: _pagination_pb2.PageRequest
    def __init__(self, admin_id: _Optional[int] = ..., admin_chat_id: _Optional[int] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListAdminSubscriptionsResponse(_message.Message):
    __slots__ = ("subscriptions", "page")
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    page: _pagination_pb2.PageResponse
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ListUserSubscribersRequest(_message.Message):
    __slots__ = ("user_id", "page")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    page: _pagination_pb2.PageRequest
    def __init__(self, user_id: _Optional[int] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListUserSubscribersResponse(_message.Message):
    __slots__ = ("subscriptions", "page")
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    page: _pagination_pb2.PageResponse
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class CheckSubscriptionRequest(_message.Message):
    __slots__ = ("admin_user_id", "admin_chat_id", "tracked_user_id")
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ADMIN_CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    admin_user_id: int
    admin_chat_id: int
    tracked_user_id: int
    def __init__(self, admin_user_id: _Optional[int] = ..., admin_chat_id: _Optional[int] = ..., tracked_user_id: _Optional[int] = ...) -> None: ...

class CheckSubscriptionResponse(_message.Message):
    __slots__ = ("exists", "subscription")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    subscription: Subscription
    def __init__(self, exists: _Optional[bool] = ..., subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class GetSubscriptionStatsRequest(_message.Message):
    __slots__ = ("admin_user_id",)
    ADMIN_USER_ID_FIELD_NUMBER: _ClassVar[int]
    admin_user_id: int
    def __init__(self, admin_user_id: _Optional[int] = ...) -> None: ...

class TrackedUserCount(_message.Message):
    __slots__ = ("tracked_user_id", "subscribers")
    TRACKED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBERS_FIELD_NUMBER: _ClassVar[int]
    tracked_user_id: int
    subscribers: int
    def __init__(self, tracked_user_id: _Optional[int] = ..., subscribers: _Optional[int] = ...) -> None: ...

class GetSubscriptionStatsResponse(_message.Message):
    __slots__ = ("total_active", "total_inactive", "admins", "chats", "tracked_users", "created_last_24h", "limit_per_admin", "top_tracked_users", "admin_active", "admin_remaining")
    TOTAL_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    ADMINS_FIELD_NUMBER: _ClassVar[int]
    CHATS_FIELD_NUMBER: _ClassVar[int]
    TRACKED_USERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_LAST_24H_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PER_ADMIN_FIELD_NUMBER: _ClassVar[int]
    TOP_TRACKED_USERS_FIELD_NUMBER: _ClassVar[int]
    ADMIN_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    ADMIN_REMAINING_FIELD_NUMBER: _ClassVar[int]
    total_active: int
    total_inactive: int
    admins: int
    chats: int
    tracked_users: int
    created_last_24h: int
    limit_per_admin: int
    top_tracked_users: _containers.RepeatedCompositeFieldContainer[TrackedUserCount]
    admin_active: int
    admin_remaining: int
    def __init__(self, total_active: _Optional[int] = ..., total_inactive: _Optional[int] = ..., admins: _Optional[int] = ..., chats: _Optional[int] = ..., tracked_users: _Optional[int] = ..., created_last_24h: _Optional[int] = ..., limit_per_admin: _Optional[int] = ..., top_tracked_users: _Optional[_Iterable[_Union[TrackedUserCount, _Mapping]]] = ..., admin_active: _Optional[int] = ..., admin_remaining: _Optional[int] = ...) -> None: ...
