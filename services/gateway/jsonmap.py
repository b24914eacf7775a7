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


def message_to_json(message: Message) -> dict[str, Any]:
    """The JSON object for ``message``: proto field names, int64 as numbers, defaults shown."""
    data = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)
    return _fix_int64(message.DESCRIPTOR, data)


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
