"""Keyset pagination over bigint ids, on the kit's page sizes and tokens.

Lists are ordered by id, so "the next page" is ``id > after`` — stable under
concurrent inserts and cheap at any depth (no OFFSET). This module only
adapts :mod:`services.kit.pagination` to collect its errors into a Validator,
so a request with several bad fields reports them all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.kit.errors import InvalidArgument, Validator
from services.kit.pagination import DEFAULT_PAGE_SIZE, decode_page_token, encode_page_token, page_size


@dataclass(frozen=True)
class Page:
    """A validated page request: at most ``size`` items with id greater than ``after``."""

    size: int
    after: int


def parse_page(requested_size: int, page_token: str, v: Validator) -> Page:
    """Validate the page request into a Page; violations go to ``v``."""
    size, after = DEFAULT_PAGE_SIZE, 0
    try:
        size = page_size(requested_size)
    except InvalidArgument as err:
        v.violations.extend(err.violations)
    try:
        position = decode_page_token(page_token)
        value = position.get("after", 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidArgument.field("page_token", "is not a token this server issued")
        after = value
    except InvalidArgument as err:
        v.violations.extend(err.violations)
    return Page(size=size, after=after)


def next_token(ids: list[int], size: int, has_more: bool) -> str:
    """The next page's token ('' on the last page)."""
    return encode_page_token({"after": ids[-1]}) if has_more and ids else ""
