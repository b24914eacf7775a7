"""Protobuf messages ↔ the JSON the seeds document, and their JSON Schemas.

``google.protobuf.json_format`` is almost right, but it renders 64-bit integers
as strings; Telegram ids exceed 32 bits and the seeds' clients expect numbers,
so int64 fields are emitted as JSON numbers. Field names are the proto names as
written (snake_case: ``admin_user_id``), as in the seeds' tables.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_INT64 = {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT64,
          FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED64}
_WELL_KNOWN_STRINGS = {"google.protobuf.Timestamp", "google.protobuf.Duration",
                       "google.protobuf.FieldMask"}


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _fix_int64(descriptor: Descriptor, data: dict[str, Any]) -> dict[str, Any]:
    for field in descriptor.fields:
        if field.name not in data:
            continue
        value = data[field.name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            key_field = field.message_type.fields_by_name["key"]
            fixed = {}
            for k, v in value.items():
                if value_field.type in _INT64:
                    v = int(v)
                elif value_field.message_type is not None and isinstance(v, dict):
                    v = _fix_int64(value_field.message_type, v)
                fixed[k if key_field.type not in _INT64 else str(k)] = v
            data[field.name] = fixed
        elif field.type in _INT64:
            data[field.name] = [int(v) for v in value] if _is_repeated(field) else int(value)
        elif field.message_type is not None and field.message_type.full_name not in _WELL_KNOWN_STRINGS:
            if field.message_type.full_name.startswith("google.protobuf."):
                continue
            if _is_repeated(field):
                data[field.name] = [_fix_int64(field.message_type, v) for v in value]
            elif isinstance(value, dict):
                data[field.name] = _fix_int64(field.message_type, value)
    return data


def _reference_to_json(message: Message) -> dict[str, Any]:
    """``json_format.MessageToDict`` plus the int64 fix: the definition of the JSON shape."""
    data = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)
    return _fix_int64(message.DESCRIPTOR, data)


# The same output, computed in one pass: json_format renders int64 as strings that
# _fix_int64 then walks the whole tree to turn back into numbers; on the hot read path
# that double walk was most of the gateway's rendering cost. Messages with map fields
# (anywhere below) keep the reference path, whose key/value rules are subtler.
_PRINTER = json_format._Printer(preserving_proto_field_name=True,
                                always_print_fields_with_no_presence=True)
_CPP_INT64 = {FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64}


def _has_map(descriptor: Descriptor, seen: set[str] | None = None) -> bool:
    seen = set() if seen is None else seen
    if descriptor.full_name in seen:
        return False
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        mt = field.message_type
        if mt is None or mt.full_name.startswith("google.protobuf."):
            continue
        if mt.GetOptions().map_entry or _has_map(mt, seen):
            return True
    return False


_FAST_OK: dict[str, bool] = {}
_DEFAULTS: dict[str, list[tuple[str, Any]]] = {}


def _defaults(descriptor: Descriptor) -> list[tuple[str, Any]]:
    """The no-presence fields and their JSON defaults, in declaration order."""
    out = _DEFAULTS.get(descriptor.full_name)
    if out is None:
        out = []
        for field in descriptor.fields:
            if field.has_presence:
                continue
            if field.is_repeated:
                out.append((field.name, list))
            elif field.cpp_type in _CPP_INT64:
                out.append((field.name, int(field.default_value)))
            else:
                out.append((field.name, _PRINTER._FieldToJsonObject(field, field.default_value)))
        _DEFAULTS[descriptor.full_name] = out
    return out


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        if field.message_type.full_name.startswith("google.protobuf."):
            return _PRINTER._MessageToJsonObject(value)
        return _fast(value)
    if field.cpp_type in _CPP_INT64:
        return int(value)
    return _PRINTER._FieldToJsonObject(field, value)


def _fast(message: Message) -> dict[str, Any]:
    js: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.is_repeated:
            js[field.name] = [_value(field, v) for v in value]
        else:
            js[field.name] = _value(field, value)
    for name, default in _defaults(message.DESCRIPTOR):
        if name not in js:
            js[name] = [] if default is list else default
    return js


def message_to_json(message: Message) -> dict[str, Any]:
    """The JSON object for ``message``: proto field names, int64 as numbers, defaults shown."""
    descriptor = message.DESCRIPTOR
    ok = _FAST_OK.get(descriptor.full_name)
    if ok is None:
        ok = _FAST_OK[descriptor.full_name] = (not descriptor.full_name.startswith("google.protobuf.")
                                               and not _has_map(descriptor))
    return _fast(message) if ok else _reference_to_json(message)


def _scalar_schema(field: FieldDescriptor) -> dict[str, Any]:
    t = field.type
    if t in _INT64 or t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32,
                            FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_FIXED32,
                            FieldDescriptor.TYPE_SFIXED32):
        return {"type": "integer", "format": "int64" if t in _INT64 else "int32"}
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return {"type": "number"}
    if t == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if t == FieldDescriptor.TYPE_BYTES:
        return {"type": "string", "format": "byte"}
    if t == FieldDescriptor.TYPE_ENUM:
        return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    return {"type": "string"}


def field_schema(field: FieldDescriptor, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of one field (registering message schemas in ``components``)."""
    if field.message_type is not None:
        mt = field.message_type
        if mt.GetOptions().map_entry:
            return {"type": "object",
                    "additionalProperties": field_schema(mt.fields_by_name["value"], components)}
        if mt.full_name == "google.protobuf.Timestamp":
            item: dict[str, Any] = {"type": "string", "format": "date-time"}
        elif mt.full_name == "google.protobuf.Struct":
            item = {"type": "object"}
        elif mt.full_name.startswith("google.protobuf."):
            item = {}
        else:
            item = {"$ref": f"#/components/schemas/{message_schema(mt, components)}"}
    else:
        item = _scalar_schema(field)
    return {"type": "array", "items": item} if _is_repeated(field) else item


def message_schema(descriptor: Descriptor, components: dict[str, Any]) -> str:
    """Register the JSON Schema of ``descriptor`` in ``components``; return its name."""
    name = descriptor.full_name
    if name not in components:
        components[name] = {}  # placeholder first: messages may be recursive
        components[name] = {
            "type": "object",
            "properties": {f.name: field_schema(f, components) for f in descriptor.fields},
        }
    return name
