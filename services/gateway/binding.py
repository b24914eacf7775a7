"""Building a request message from a REST call: path, query string and JSON body.

Bad input never reaches a service: a wrong type, an unknown field or malformed
JSON is INVALID_ARGUMENT naming the field, which the gateway answers with 422.
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.kit.errors import FieldViolation, InvalidArgument

from .jsonmap import _is_repeated
from .routes import Route, request_class

# json_format.ParseError texts: "Failed to parse <field> field: <detail>", nested once per
# level, or 'Message type "..." has no field named "<field>"'.
_PARSE_FIELD = re.compile(r"Failed to parse (\w+) field: ")
_UNKNOWN_FIELD = re.compile(r'has no field named "([^"]+)"')
_AT_TYPE = re.compile(r" at [\w.]+\.?$")
_AT_FIELD = re.compile(r" at \w+\.([\w.]+?)\.?$")  # "... at Request.field.sub"
_PARSE_REASONS = (
    ("invalid literal for int()", "must be an integer"),
    ("Couldn't parse integer", "must be an integer"),
    ("Couldn't parse float", "must be a number"),
    ("expected string", "must be a string"),
    ("must be in []", "must be a JSON array"),
    ("Invalid enum value", "is not one of the allowed values"),
    ("Failed to parse timestamp", "must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z"),
    ("Struct must be in a dict", "must be a JSON object"),
    ("Expected true or false", "must be true or false"),
)


def _coerce(field: FieldDescriptor, raw: str, name: str) -> Any:
    t = field.type
    try:
        if t == FieldDescriptor.TYPE_BOOL:
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError
            return lowered in ("true", "1")
        if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return float(raw)
        if field.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64,
                              FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64):
            value = int(raw)
            bits = 64 if field.cpp_type in (FieldDescriptor.CPPTYPE_INT64,
                                            FieldDescriptor.CPPTYPE_UINT64) else 32
            if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
                raise ValueError
            return value
        if t == FieldDescriptor.TYPE_ENUM:
            if raw in field.enum_type.values_by_name:
                return field.enum_type.values_by_name[raw].number
            return field.enum_type.values_by_number[int(raw)].number
    except (ValueError, KeyError):
        kind = {FieldDescriptor.TYPE_BOOL: "a boolean", FieldDescriptor.TYPE_ENUM: "one of the enum names"}.get(
            t, "a number in range")
        raise InvalidArgument.field(name, f"must be {kind}") from None
    return raw


def _resolve(descriptor: Descriptor, name: str) -> list[FieldDescriptor] | None:
    """The field path for a parameter name: dotted, direct, or a unique nested leaf."""
    parts = name.replace("__", ".").split(".")
    path: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for part in parts:
        if current is None or part not in current.fields_by_name:
            path = []
            break
        field = current.fields_by_name[part]
        path.append(field)
        current = field.message_type
    if path:
        return path
    if len(parts) == 1:  # alias: page_size → page.page_size
        matches = [
            [outer, inner] for outer in descriptor.fields if outer.message_type is not None
            and not outer.message_type.full_name.startswith("google.")
            for inner in outer.message_type.fields if inner.name == parts[0]
        ]
        if len(matches) == 1:
            return matches[0]
    return None


def _assign(message: Message, path: list[FieldDescriptor], values: list[str], name: str) -> None:
    target = message
    for field in path[:-1]:
        target = getattr(target, field.name)
    leaf = path[-1]
    if leaf.message_type is not None:
        raise InvalidArgument.field(name, "cannot be set from the query string")
    if _is_repeated(leaf):
        getattr(target, leaf.name).extend(_coerce(leaf, v, name) for v in values)
    else:
        if len(values) > 1:
            raise InvalidArgument.field(name, "was given more than once")
        setattr(target, leaf.name, _coerce(leaf, values[0], name))


def _parse_error(err: json_format.ParseError) -> InvalidArgument:
    """json_format's error as a violation of the field it is about (dotted when nested,
    e.g. ``page.page_size``), in words a client can act on."""
    text = str(err)
    nested = list(_PARSE_FIELD.finditer(text))
    path = [m.group(1) for m in nested]
    unknown = _UNKNOWN_FIELD.search(text)
    if unknown is not None:
        path.append(unknown.group(1))
        reason = "is not a field of this request"
    else:
        detail = text[nested[-1].end():] if nested else text
        detail = _AT_TYPE.sub("", detail).rstrip(". ")
        reason = next((words for pattern, words in _PARSE_REASONS if pattern in detail),
                      f"is invalid ({detail[:200]})")
    if not path and (at := _AT_FIELD.search(text)) is not None:
        path = [at.group(1)]
    field = ".".join(path) or "body"
    return InvalidArgument(f"{field} {reason}", violations=[FieldViolation(field, reason)])


def bind(route: Route, path_params: dict[str, str], query: list[tuple[str, str]],
         body: bytes | None) -> Message:
    """The request message for a call to ``route``."""
    message: Message = request_class(route)()
    if route.body:
        payload: Any = {}
        if body:
            try:
                payload = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidArgument.field("body", "is not valid JSON") from exc
        if route.body == "*":
            if not isinstance(payload, dict):
                raise InvalidArgument.field("body", "must be a JSON object")
            try:
                json_format.ParseDict(payload, message, ignore_unknown_fields=False)
            except json_format.ParseError as err:
                raise _parse_error(err) from None
        else:
            try:
                json_format.ParseDict({route.body: payload}, message, ignore_unknown_fields=False)
            except json_format.ParseError as err:
                raise _parse_error(err) from None
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        grouped.setdefault(key, []).append(value)
    for key, values in grouped.items():
        path = _resolve(message.DESCRIPTOR, key)
        if path is None:
            raise InvalidArgument.field(key, "is not a parameter of this endpoint")
        _assign(message, path, values, key)
    for param in route.params:
        raw = path_params[param.replace(".", "__")]
        path = _resolve(message.DESCRIPTOR, param)
        assert path is not None, f"route {route.path} names unknown field {param}"
        _assign(message, path, [raw], param)
    return message
