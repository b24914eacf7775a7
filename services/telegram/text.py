"""Text helpers for Telegram: the 4096-character limit and HTML escaping."""

from __future__ import annotations

import html

TELEGRAM_MESSAGE_LIMIT = 4096


def escape(value: object) -> str:
    """Escape a value for parse_mode=HTML (user names may hold <, > and &)."""
    return html.escape(str(value), quote=True)


def split_message(text: str, limit: int = TELEGRAM_MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters.

    Cuts at the last newline (else space) of each window, and never inside an
    HTML entity such as ``&amp;``, so escaped text stays valid in every part.
    """
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        amp = window.rfind("&", 0, cut)
        if amp != -1 and ";" not in window[amp:cut] and cut - amp <= 10:
            cut = amp  # an entity would be cut in two
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n") if rest[cut:cut + 1] == "\n" else rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts
