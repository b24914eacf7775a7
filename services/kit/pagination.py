"""Keyset pagination: page sizes and opaque page tokens.

A page token is the URL-safe base64 of a small JSON object naming where the
previous page stopped (e.g. ``{"after": 1234}``). It is opaque to clients; a
token that does not decode is INVALID_ARGUMENT on ``page_token``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """The effective page size: ``default`` for 0, INVALID_ARGUMENT outside 0..maximum."""
    if requested < 0 or requested > maximum:
        raise InvalidArgument.field("page_size", f"must be between 0 and {maximum}")
    return requested or default


def encode_page_token(position: dict[str, Any]) -> str:
    """An opaque token for ``position``."""
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> dict[str, Any]:
    """The position in ``token`` ({} for an empty token)."""
    if not token:
        return {}
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidArgument.field("page_token", "is not a token this server issued") from None
    if not isinstance(value, dict):
        raise InvalidArgument.field("page_token", "is not a token this server issued")
    return value
