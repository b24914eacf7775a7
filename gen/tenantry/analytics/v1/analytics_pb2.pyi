from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetOverviewRequest(_message.Message):
    __slots__ = ("period", "to")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    period: str
    to: str
    def __init__(self, period: _Optional[str] = ..., to: _Optional[str] = ..., **kwargs) -> None: ...

class GetOverviewResponse(_message.Message):
    __slots__ = ("to", "active_subscriptions", "new_subscriptions", "deleted_subscriptions", "total_bans", "unique_banned_users", "active_chats", "total_syncs", "successful_syncs", "failed_syncs", "sync_success_rate", "mean_sync_ms")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    NEW_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    DELETED_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BANS_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_BANNED_USERS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CHATS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    FAILED_SYNCS_FIELD_NUMBER: _ClassVar[int]
    SYNC_SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    MEAN_SYNC_MS_FIELD_NUMBER: _ClassVar[int]
    to: str
    active_subscriptions: int
    new_subscriptions: int
    deleted_subscriptions: int
    total_bans: int
    unique_banned_users: int
    active_chats: int
    total_syncs: int
    successful_syncs: int
    failed_syncs: int
    sync_success_rate: float
    mean_sync_ms: float
    def __init__(self, to: _Optional[str] = ..., active_subscriptions: _Optional[int] = ..., new_subscriptions: _Optional[int] = ..., deleted_subscriptions: _Optional[int] = ..., total_bans: _Optional[int] = ..., unique_banned_users: _Optional[int] = ..., active_chats: _Optional[int] = ..., total_syncs: _Optional[int] = ..., successful_syncs: _Optional[int] = ..., failed_syncs: _Optional[int] = ..., sync_success_rate: _Optional[float] = ..., mean_sync_ms: _Optional[float] = ..., **kwargs) -> None: ...

class GetSubscriptionStatsRequest(_message.Message):
    __slots__ = ("period", "to")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    period: str
    to: str
    def __init__(self, period: _Optional[str] = ..., to: _Optional[str] = ..., **kwargs) -> None: ...

class SubscriptionDay(_message.Message):
    __slots__ = ("date", "new_subscriptions", "deleted_subscriptions", "total_subscriptions")
    DATE_FIELD_NUMBER: _ClassVar[int]
    NEW_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    DELETED_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    date: str
    new_subscriptions: int
    deleted_subscriptions: int
    total_subscriptions: int
    def __init__(self, date: _Optional[str] = ..., new_subscriptions: _Optional[int] = ..., deleted_subscriptions: _Optional[int] = ..., total_subscriptions: _Optional[int] = ...) -> None: ...

class GetSubscriptionStatsResponse(_message.Message):
    __slots__ = ("to", "new_subscriptions", "deleted_subscriptions", "net_change", "active_subscriptions", "days")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    NEW_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    DELETED_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    NET_CHANGE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    to: str
    new_subscriptions: int
    deleted_subscriptions: int
    net_change: int
    active_subscriptions: int
    days: _containers.RepeatedCompositeFieldContainer[SubscriptionDay]
    def __init__(self, to: _Optional[str] = ..., new_subscriptions: _Optional[int] = ..., deleted_subscriptions: _Optional[int] = ..., net_change: _Optional[int] = ..., active_subscriptions: _Optional[int] = ..., days: _Optional[_Iterable[_Union[SubscriptionDay, _Mapping]]] = ..., **kwargs) -> None: ...

class GetBanStatsRequest(_message.Message):
    __slots__ = ("period", "to", "chat_id", "user_id")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    period: str
    to: str
    chat_id: int
    user_id: int
    def __init__(self, period: _Optional[str] = ..., to: _Optional[str] = ..., chat_id: _Optional[int] = ..., user_id: _Optional[int] = ..., **kwargs) -> None: ...

class EventTypeCount(_message.Message):
    __slots__ = ("event_type", "count")
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    event_type: str
    count: int
    def __init__(self, event_type: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class BanDay(_message.Message):
    __slots__ = ("date", "total_bans", "unique_banned_users", "active_chats")
    DATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BANS_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_BANNED_USERS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CHATS_FIELD_NUMBER: _ClassVar[int]
    date: str
    total_bans: int
    unique_banned_users: int
    active_chats: int
    def __init__(self, date: _Optional[str] = ..., total_bans: _Optional[int] = ..., unique_banned_users: _Optional[int] = ..., active_chats: _Optional[int] = ...) -> None: ...

class GetBanStatsResponse(_message.Message):
    __slots__ = ("to", "total_bans", "unique_banned_users", "active_chats", "by_type", "days")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BANS_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_BANNED_USERS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CHATS_FIELD_NUMBER: _ClassVar[int]
    BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    to: str
    total_bans: int
    unique_banned_users: int
    active_chats: int
    by_type: _containers.RepeatedCompositeFieldContainer[EventTypeCount]
    days: _containers.RepeatedCompositeFieldContainer[BanDay]
    def __init__(self, to: _Optional[str] = ..., total_bans: _Optional[int] = ..., unique_banned_users: _Optional[int] = ..., active_chats: _Optional[int] = ..., by_type: _Optional[_Iterable[_Union[EventTypeCount, _Mapping]]] = ..., days: _Optional[_Iterable[_Union[BanDay, _Mapping]]] = ..., **kwargs) -> None: ...

class GetSyncStatsRequest(_message.Message):
    __slots__ = ("period", "to")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    period: str
    to: str
    def __init__(self, period: _Optional[str] = ..., to: _Optional[str] = ..., **kwargs) -> None: ...

class GetSyncStatsResponse(_message.Message):
    __slots__ = ("to", "sync_runs", "completed_runs", "partial_runs", "failed_runs", "total_syncs", "successful_syncs", "failed_syncs", "skipped_syncs", "success_rate", "mean_sync_ms")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    SYNC_RUNS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_RUNS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_RUNS_FIELD_NUMBER: _ClassVar[int]
    FAILED_RUNS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    FAILED_SYNCS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_SYNCS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    MEAN_SYNC_MS_FIELD_NUMBER: _ClassVar[int]
    to: str
    sync_runs: int
    completed_runs: int
    partial_runs: int
    failed_runs: int
    total_syncs: int
    successful_syncs: int
    failed_syncs: int
    skipped_syncs: int
    success_rate: float
    mean_sync_ms: float
    def __init__(self, to: _Optional[str] = ..., sync_runs: _Optional[int] = ..., completed_runs: _Optional[int] = ..., partial_runs: _Optional[int] = ..., failed_runs: _Optional[int] = ..., total_syncs: _Optional[int] = ..., successful_syncs: _Optional[int] = ..., failed_syncs: _Optional[int] = ..., skipped_syncs: _Optional[int] = ..., success_rate: _Optional[float] = ..., mean_sync_ms: _Optional[float] = ..., **kwargs) -> None: ...

class GetTopUsersRequest(_message.Message):
    __slots__ = ("period", "to", "limit")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    period: str
    to: str
    limit: int
    def __init__(self, period: _Optional[str] = ..., to: _Optional[str] = ..., limit: _Optional[int] = ..., **kwargs) -> None: ...

class TopUser(_message.Message):
    __slots__ = ("user_id", "ban_count", "sync_count")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BAN_COUNT_FIELD_NUMBER: _ClassVar[int]
    SYNC_COUNT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    ban_count: int
    sync_count: int
    def __init__(self, user_id: _Optional[int] = ..., ban_count: _Optional[int] = ..., sync_count: _Optional[int] = ...) -> None: ...

class GetTopUsersResponse(_message.Message):
    __slots__ = ("to", "users")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    to: str
    users: _containers.RepeatedCompositeFieldContainer[TopUser]
    def __init__(self, to: _Optional[str] = ..., users: _Optional[_Iterable[_Union[TopUser, _Mapping]]] = ..., **kwargs) -> None: ...

class GetTopChatsRequest(_message.Message):
    __slots__ = ("period", "to", "limit")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    period: str
    to: str
    limit: int
    def __init__(self, period: _Optional[str] = ..., to: _Optional[str] = ..., limit: _Optional[int] = ..., **kwargs) -> None: ...

class TopChat(_message.Message):
    __slots__ = ("chat_id", "ban_count", "sync_received_count")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    BAN_COUNT_FIELD_NUMBER: _ClassVar[int]
    SYNC_RECEIVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    ban_count: int
    sync_received_count: int
    def __init__(self, chat_id: _Optional[int] = ..., ban_count: _Optional[int] = ..., sync_received_count: _Optional[int] = ...) -> None: ...

class GetTopChatsResponse(_message.Message):
    __slots__ = ("to", "chats")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CHATS_FIELD_NUMBER: _ClassVar[int]
    to: str
    chats: _containers.RepeatedCompositeFieldContainer[TopChat]
    def __init__(self, to: _Optional[str] = ..., chats: _Optional[_Iterable[_Union[TopChat, _Mapping]]] = ..., **kwargs) -> None: ...

class GetTimelineRequest(_message.Message):
    __slots__ = ("period", "to", "granularity")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    period: str
    to: str
    granularity: str
    def __init__(self, period: _Optional[str] = ..., to: _Optional[str] = ..., granularity: _Optional[str] = ..., **kwargs) -> None: ...

class TimelinePoint(_message.Message):
    __slots__ = ("start", "new_subscriptions", "deleted_subscriptions", "total_bans", "unique_banned_users", "total_syncs", "successful_syncs", "failed_syncs")
    START_FIELD_NUMBER: _ClassVar[int]
    NEW_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    DELETED_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BANS_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_BANNED_USERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_SYNCS_FIELD_NUMBER: _ClassVar[int]
    FAILED_SYNCS_FIELD_NUMBER: _ClassVar[int]
    start: str
    new_subscriptions: int
    deleted_subscriptions: int
    total_bans: int
    unique_banned_users: int
    total_syncs: int
    successful_syncs: int
    failed_syncs: int
    def __init__(self, start: _Optional[str] = ..., new_subscriptions: _Optional[int] = ..., deleted_subscriptions: _Optional[int] = ..., total_bans: _Optional[int] = ..., unique_banned_users: _Optional[int] = ..., total_syncs: _Optional[int] = ..., successful_syncs: _Optional[int] = ..., failed_syncs: _Optional[int] = ...) -> None: ...

class GetTimelineResponse(_message.Message):
    __slots__ = ("to", "granularity", "points")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    to: str
    granularity: str
    points: _containers.RepeatedCompositeFieldContainer[TimelinePoint]
    def __init__(self, to: _Optional[str] = ..., granularity: _Optional[str] = ..., points: _Optional[_Iterable[_Union[TimelinePoint, _Mapping]]] = ..., **kwargs) -> None: ...
