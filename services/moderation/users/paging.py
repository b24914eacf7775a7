"""Keyset pagination: opaque page tokens that carry the last id of the previous page.

Lists are ordered by their bigint id, so "the next page" is ``id > after`` —
stable under concurrent inserts and cheap at any depth (no OFFSET).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from services.kit.errors import Validator

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_PREFIX = "k1:"


@dataclass(frozen=True)
class Page:
    """A validated page request: at most ``size`` items with id greater than ``after``."""

    size: int
    after: int


def encode_token(last_id: int) -> str:
    """The page token that continues after ``last_id``."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith(_PREFIX) or not raw[len(_PREFIX):].isdigit():
        return None
    return int(raw[len(_PREFIX):])


def parse_page(page_size: int, page_token: str, v: Validator) -> Page:
    """Validate ``page_size`` / ``page_token`` into a Page (violations go to ``v``).

    A size of 0 means the default; sizes above the maximum are lowered to it
    (AIP-158), negative sizes and foreign tokens are bad input.
    """
    v.require(page_size >= 0, "page.page_size", "must not be negative")
    size = DEFAULT_PAGE_SIZE if page_size <= 0 else min(page_size, MAX_PAGE_SIZE)
    after = 0
    if page_token:
        decoded = _decode_token(page_token)
        if v.require(decoded is not None, "page.page_token", "is not a token this list issued"):
            after = decoded or 0
    return Page(size=size, after=after)


def next_token(ids: list[int], size: int, has_more: bool) -> str:
    """The next page's token ('' on the last page)."""
    return encode_token(ids[-1]) if has_more and ids else ""
