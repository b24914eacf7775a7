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

class Notification(_message.Message):
    __slots__ = ("id", "user_id", "notification_type", "channel", "status", "priority", "deliver_after")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DELIVER_AFTER_FIELD_NUMBER: _ClassVar[int]
    id: int
    user_id: int
    notification_type: str
    channel: str
    status: str
    priority: str
    deliver_after: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., user_id: _Optional[int] = ..., notification_type: _Optional[str] = ..., channel: _Optional[str] = ..., status: _Optional[str] = ..., priority: _Optional[str] = ..., deliver_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SendNotificationRequest(_message.Message):
    __slots__ = ("user_id", "notification_type", "template_id", "params", "channel", "priority", "language", "chat_id")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    notification_type: str
    template_id: str
    params: _containers.ScalarMap[str, str]
    channel: str
    priority: str
    language: str
    chat_id: int
    def __init__(self, user_id: _Optional[int] = ..., notification_type: _Optional[str] = ..., template_id: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., channel: _Optional[str] = ..., priority: _Optional[str] = ..., language: _Optional[str] = ..., chat_id: _Optional[int] = ...) -> None: ...

class SendNotificationResponse(_message.Message):
    __slots__ = ("notifications",)
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    notifications: _containers.RepeatedCompositeFieldContainer[Notification]
    def __init__(self, notifications: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ...) -> None: ...

class BatchSendNotificationsRequest(_message.Message):
    __slots__ = ("notifications",)
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    notifications: _containers.RepeatedCompositeFieldContainer[SendNotificationRequest]
    def __init__(self, notifications: _Optional[_Iterable[_Union[SendNotificationRequest, _Mapping]]] = ...) -> None: ...

class BatchSendNotificationsResponse(_message.Message):
    __slots__ = ("notifications",)
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    notifications: _containers.RepeatedCompositeFieldContainer[Notification]
    def __init__(self, notifications: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("id", "texts", "placeholders", "customized", "updated_at")
    class TextsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    PLACEHOLDERS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMIZED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    texts: _containers.ScalarMap[str, str]
    placeholders: _containers.RepeatedScalarFieldContainer[str]
    customized: bool
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., texts: _Optional[_Mapping[str, str]] = ..., placeholders: _Optional[_Iterable[str]] = ..., customized: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ...) -> None: ...

class UpdateTemplateRequest(_message.Message):
    __slots__ = ("id", "texts")
    class TextsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    texts: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., texts: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpdateTemplateResponse(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: Template
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ...) -> None: ...

class Preferences(_message.Message):
    __slots__ = ("user_id", "enabled_types", "quiet_hours_start", "quiet_hours_end", "digest_mode", "digest_interval_hours", "timezone", "language", "channels", "email", "webhook_url", "webhook_secret_set", "moderation_notifications_enabled")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ENABLED_TYPES_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_START_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_END_FIELD_NUMBER: _ClassVar[int]
    DIGEST_MODE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_INTERVAL_HOURS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_SET_FIELD_NUMBER: _ClassVar[int]
    MODERATION_NOTIFICATIONS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    enabled_types: _containers.RepeatedScalarFieldContainer[str]
    quiet_hours_start: str
    quiet_hours_end: str
    digest_mode: bool
    digest_interval_hours: int
    timezone: str
    language: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    email: str
    webhook_url: str
    webhook_secret_set: bool
    moderation_notifications_enabled: bool
    def __init__(self, user_id: _Optional[int] = ..., enabled_types: _Optional[_Iterable[str]] = ..., quiet_hours_start: _Optional[str] = ..., quiet_hours_end: _Optional[str] = ..., digest_mode: _Optional[bool] = ..., digest_interval_hours: _Optional[int] = ..., timezone: _Optional[str] = ..., language: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ..., email: _Optional[str] = ..., webhook_url: _Optional[str] = ..., webhook_secret_set: _Optional[bool] = ..., moderation_notifications_enabled: _Optional[bool] = ...) -> None: ...

class GetPreferencesRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    def __init__(self, user_id: _Optional[int] = ...) -> None: ...

class GetPreferencesResponse(_message.Message):
    __slots__ = ("preferences",)
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    preferences: Preferences
    def __init__(self, preferences: _Optional[_Union[Preferences, _Mapping]] = ...) -> None: ...

class UpdatePreferencesRequest(_message.Message):
    __slots__ = ("user_id", "enabled_types", "quiet_hours_start", "quiet_hours_end", "digest_mode", "digest_interval_hours", "timezone", "language", "channels", "email", "webhook_url", "webhook_secret")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ENABLED_TYPES_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_START_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_END_FIELD_NUMBER: _ClassVar[int]
    DIGEST_MODE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_INTERVAL_HOURS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    enabled_types: _containers.RepeatedScalarFieldContainer[str]
    quiet_hours_start: str
    quiet_hours_end: str
    digest_mode: bool
    digest_interval_hours: int
    timezone: str
    language: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    email: str
    webhook_url: str
    webhook_secret: str
    def __init__(self, user_id: _Optional[int] = ..., enabled_types: _Optional[_Iterable[str]] = ..., quiet_hours_start: _Optional[str] = ..., quiet_hours_end: _Optional[str] = ..., digest_mode: _Optional[bool] = ..., digest_interval_hours: _Optional[int] = ..., timezone: _Optional[str] = ..., language: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ..., email: _Optional[str] = ..., webhook_url: _Optional[str] = ..., webhook_secret: _Optional[str] = ...) -> None: ...

class UpdatePreferencesResponse(_message.Message):
    __slots__ = ("preferences",)
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    preferences: Preferences
    def __init__(self, preferences: _Optional[_Union[Preferences, _Mapping]] = ...) -> None: ...

class NotificationLog(_message.Message):
    __slots__ = ("id", "user_id", "notification_type", "channel", "status", "template_id", "error_message", "sent_at", "created_at", "attempt")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    id: int
    user_id: int
    notification_type: str
    channel: str
    status: str
    template_id: str
    error_message: str
    sent_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    attempt: int
    def __init__(self, id: _Optional[int] = ..., user_id: _Optional[int] = ..., notification_type: _Optional[str] = ..., channel: _Optional[str] = ..., status: _Optional[str] = ..., template_id: _Optional[str] = ..., error_message: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt: _Optional[int] = ...) -> None: ...

class ListNotificationLogsRequest(_message.Message):
    __slots__ = ("user_id", "status", "page")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    status: str
    page: _pagination_pb2.PageRequest
    def __init__(self, user_id: _Optional[int] = ..., status: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListNotificationLogsResponse(_message.Message):
    __slots__ = ("logs", "page")
    LOGS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    logs: _containers.RepeatedCompositeFieldContainer[NotificationLog]
    page: _pagination_pb2.PageResponse
    def __init__(self, logs: _Optional[_Iterable[_Union[NotificationLog, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...
