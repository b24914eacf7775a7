from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatMember(_message.Message):
    __slots__ = ("user_id", "username", "first_name", "status", "until_date", "can_restrict_members", "is_bot", "language_code")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_DATE_FIELD_NUMBER: _ClassVar[int]
    CAN_RESTRICT_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    IS_BOT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    first_name: str
    status: str
    until_date: int
    can_restrict_members: bool
    is_bot: bool
    language_code: str
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ..., first_name: _Optional[str] = ..., status: _Optional[str] = ..., until_date: _Optional[int] = ..., can_restrict_members: _Optional[bool] = ..., is_bot: _Optional[bool] = ..., language_code: _Optional[str] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("chat_id", "text", "parse_mode", "disable_notification")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PARSE_MODE_FIELD_NUMBER: _ClassVar[int]
    DISABLE_NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    text: str
    parse_mode: str
    disable_notification: bool
    def __init__(self, chat_id: _Optional[int] = ..., text: _Optional[str] = ..., parse_mode: _Optional[str] = ..., disable_notification: _Optional[bool] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("message_ids",)
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    message_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, message_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class BanUserRequest(_message.Message):
    __slots__ = ("chat_id", "user_id", "until_date", "revoke_messages")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    UNTIL_DATE_FIELD_NUMBER: _ClassVar[int]
    REVOKE_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    user_id: int
    until_date: int
    revoke_messages: bool
    def __init__(self, chat_id: _Optional[int] = ..., user_id: _Optional[int] = ..., until_date: _Optional[int] = ..., revoke_messages: _Optional[bool] = ...) -> None: ...

class BanUserResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UnbanUserRequest(_message.Message):
    __slots__ = ("chat_id", "user_id", "only_if_banned", "remove_member")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ONLY_IF_BANNED_FIELD_NUMBER: _ClassVar[int]
    REMOVE_MEMBER_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    user_id: int
    only_if_banned: bool
    remove_member: bool
    def __init__(self, chat_id: _Optional[int] = ..., user_id: _Optional[int] = ..., only_if_banned: _Optional[bool] = ..., remove_member: _Optional[bool] = ...) -> None: ...

class UnbanUserResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetChatMemberRequest(_message.Message):
    __slots__ = ("chat_id", "user_id")
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    user_id: int
    def __init__(self, chat_id: _Optional[int] = ..., user_id: _Optional[int] = ...) -> None: ...

class GetChatMemberResponse(_message.Message):
    __slots__ = ("member",)
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    member: ChatMember
    def __init__(self, member: _Optional[_Union[ChatMember, _Mapping]] = ...) -> None: ...

class GetChatAdminsRequest(_message.Message):
    __slots__ = ("chat_id",)
    CHAT_ID_FIELD_NUMBER: _ClassVar[int]
    chat_id: int
    def __init__(self, chat_id: _Optional[int] = ...) -> None: ...

class GetChatAdminsResponse(_message.Message):
    __slots__ = ("admins",)
    ADMINS_FIELD_NUMBER: _ClassVar[int]
    admins: _containers.RepeatedCompositeFieldContainer[ChatMember]
    def __init__(self, admins: _Optional[_Iterable[_Union[ChatMember, _Mapping]]] = ...) -> None: ...
