"""A notification request as the domain sees it, and its validation."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.kit.errors import Validator

from .preferences import CHANNELS, PRIORITIES
from .templates import LANGUAGES, NOTIFICATION_TYPES, PLACEHOLDERS

MAX_PARAM_LENGTH = 4096
MAX_BATCH = 500
#: ``Draft.origin`` of notifications caused by the moderation app's events: the ones
#: a moderation user's "notifications off" silences.
ORIGIN_MODERATION = "moderation"


@dataclass
class Draft:
    """One notification to queue."""

    user_id: int
    notification_type: str
    params: dict[str, str] = field(default_factory=dict)
    template_id: str = ""
    channel: str = ""
    priority: str = "normal"
    language: str = ""
    chat_id: int | None = None
    #: What caused it: :data:`ORIGIN_MODERATION`, or "" for a direct request.
    origin: str = ""

    @property
    def template(self) -> str:
        """The template to render (the type's own unless another was named)."""
        return self.template_id or self.notification_type


def validate_draft(v: Validator, draft: Draft, prefix: str = "") -> None:
    """Record every problem of ``draft`` in ``v`` (field names under ``prefix``)."""
    v.require(draft.user_id > 0, f"{prefix}user_id", "must be a positive user id")
    v.require(draft.notification_type in NOTIFICATION_TYPES, f"{prefix}notification_type",
              f"one of {', '.join(NOTIFICATION_TYPES)}")
    if draft.template_id:
        v.require(draft.template_id in PLACEHOLDERS, f"{prefix}template_id", "unknown template")
    v.require(not draft.channel or draft.channel in CHANNELS, f"{prefix}channel",
              f"one of {', '.join(CHANNELS)} or empty")
    v.require(draft.priority in PRIORITIES, f"{prefix}priority", "normal or urgent")
    v.require(not draft.language or draft.language in LANGUAGES, f"{prefix}language",
              f"one of {', '.join(LANGUAGES)} or empty")
    v.require(draft.chat_id is None or draft.chat_id != 0, f"{prefix}chat_id", "must not be 0")
    for key, value in draft.params.items():
        v.require(len(value) <= MAX_PARAM_LENGTH, f"{prefix}params[{key}]",
                  f"at most {MAX_PARAM_LENGTH} characters")
