"""The gateway's one-pass JSON rendering equals json_format + the int64 fix, for every route."""

from __future__ import annotations

import json

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.gateway.jsonmap import _reference_to_json, message_to_json
from services.gateway.routes import build_routes, request_class, response_class

_VALUES = {
    FieldDescriptor.CPPTYPE_INT32: -7, FieldDescriptor.CPPTYPE_INT64: -(2 ** 40) - 3,
    FieldDescriptor.CPPTYPE_UINT32: 7, FieldDescriptor.CPPTYPE_UINT64: 2 ** 63 + 5,
    FieldDescriptor.CPPTYPE_DOUBLE: 2.5, FieldDescriptor.CPPTYPE_FLOAT: 0.1,
    FieldDescriptor.CPPTYPE_BOOL: True,
}


def _fill(message: Message, depth: int = 0) -> None:
    descriptor: Descriptor = message.DESCRIPTOR
    if descriptor.full_name == "google.protobuf.Timestamp":
        message.seconds, message.nanos = 1_700_000_000, 120_000_000
        return
    if descriptor.full_name == "google.protobuf.Struct":
        message.update({"k": "v", "n": 3, "nested": {"a": [1, "x"]}})
        return
    if descriptor.full_name.startswith("google.protobuf.") or depth > 3:
        return
    for field in descriptor.fields:
        if field.containing_oneof is not None and field.containing_oneof.fields[0] is not field:
            continue
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                continue
            if field.is_repeated:
                for _ in range(2):
                    _fill(getattr(message, field.name).add(), depth + 1)
            else:
                _fill(getattr(message, field.name), depth + 1)
                getattr(message, field.name).SetInParent()
            continue
        if field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
            value = field.enum_type.values[-1].number
        elif field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
            value = b"\x00bytes" if field.type == FieldDescriptor.TYPE_BYTES else "text é"
        else:
            value = _VALUES[field.cpp_type]
        if field.is_repeated:
            getattr(message, field.name).extend([value, value])
        else:
            setattr(message, field.name, value)


def test_fast_rendering_matches_the_reference_for_every_message_of_every_route():
    classes = {}
    for route in build_routes():
        for cls in (response_class(route), request_class(route)):
            classes[cls.DESCRIPTOR.full_name] = cls
    assert classes
    for cls in classes.values():
        full = cls()
        _fill(full)
        for message in (cls(), full):
            # Same values and the same key order (the rendered bytes are identical).
            assert json.dumps(message_to_json(message)) == json.dumps(_reference_to_json(message)), \
                cls.DESCRIPTOR.full_name
