"""REST → protobuf binding: a badly typed JSON body names the field it is about."""

from __future__ import annotations

import pytest

from services.gateway.binding import bind
from services.gateway.routes import build_routes
from services.kit.errors import InvalidArgument


def _route(path: str, method: str = "POST"):  # type: ignore[no-untyped-def]
    return next(r for r in build_routes() if r.path == path and r.verb.upper() == method)


@pytest.mark.parametrize(("path", "body", "field", "description"), [
    ("/moderation/api/v1/sync/confirm/{sync_id}", b'{"target_chat_ids": "all"}',
     "target_chat_ids", "must be a JSON array"),
    ("/moderation/api/v1/sync/confirm/{sync_id}", b'{"target_chat_ids": ["x"]}',
     "target_chat_ids", "must be an integer"),
    ("/moderation/api/v1/sync/confirm/{sync_id}", b'{"bogus": 1}',
     "bogus", "is not a field of this request"),
    ("/moderation/api/v1/sync/decline/{sync_id}", b'{"reason": 5}', "reason", "must be a string"),
    ("/moderation/api/v1/sync/trigger", b'{"ban_event_id": 1.5}', "ban_event_id", "must be an integer"),
    ("/moderation/api/v1/events/bulk", b'{"events": [{"user_id": "x"}]}',
     "events.user_id", "must be an integer"),
    ("/moderation/api/v1/events/ban", b'{"event_timestamp": "yesterday"}', "event_timestamp",
     "must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z"),
    ("/moderation/api/v1/events/ban", b'{"metadata": 5}', "metadata", "must be a JSON object"),
])
def test_typed_body_errors_name_the_field(path: str, body: bytes, field: str, description: str) -> None:
    route = _route(path)
    params = {p.replace(".", "__"): "00000000-0000-0000-0000-000000000000" for p in route.params}
    with pytest.raises(InvalidArgument) as err:
        bind(route, params, [], body)
    assert [(v.field, v.description) for v in err.value.violations] == [(field, description)]
    assert "Traceback" not in err.value.message and "tenantry." not in err.value.message
