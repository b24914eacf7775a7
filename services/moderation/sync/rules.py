"""What to do where: SyncPolicy specs and chat settings → planned sync_logs rows.

A SyncPolicy row (written by the operator) holds the custom resource's spec
as-is. Its shape is the CRD's (``action.duration: "1h30m"``,
``retry.backoff.initialSeconds``, ``rateLimit.perMinute``); the shorter forms
``action.durationSeconds``, ``retry.backoffSeconds`` and ``rateLimit.perSecond``
are accepted too.

Without any policy matching an event, the default rule applies: ``ban`` and
``kick`` events go to the subscribers' chats, each chat's own settings decide
how (seed §3 ``chat_settings``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .models import EVENT_TYPES, BanEvent, ChatSettings, PlannedTarget

#: Events the default rule (no SyncPolicy) propagates: the seed filters "only ban/kick".
DEFAULT_EVENTS = frozenset({"ban", "kick"})
#: The length of a "temporary" sync ban when neither policy, chat nor event gives one.
DEFAULT_TEMPORARY_SECONDS = 24 * 3600

_DURATION_RE = re.compile(r"(\d+)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> int | None:
    """``"1h30m"`` → 5400; an int is seconds; None/empty → None."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    parts = _DURATION_RE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {value!r}")
    return sum(int(n) * _UNIT[u] for n, u in parts)


@dataclass(frozen=True)
class Rule:
    """One way events propagate: a SyncPolicy, or the default (``name`` None)."""

    name: str | None
    events: frozenset[str]
    sources_all: bool = True
    source_chat_ids: frozenset[int] = frozenset()
    to_subscribers: bool = True
    target_chat_ids: tuple[int, ...] = ()
    mode: str | None = None  # None: each chat's sync_ban_type
    duration_seconds: int | None = None
    delay_seconds: int | None = None  # None: each chat's sync_delay_seconds
    require_confirmation: bool = False
    max_attempts: int = 4  # the first try and 3 retries
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    #: The policy's rateLimit: actions (target chats) per second across all its workers.
    per_second: float | None = None
    burst: int = 1
    replicas: int = 1
    suspended: bool = False

    def matches(self, event: BanEvent) -> bool:
        """Does this rule propagate ``event``?"""
        return (not self.suspended and event.event_type in self.events
                and (self.sources_all or event.chat_id in self.source_chat_ids))

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based), exponential, capped."""
        return min(self.backoff_max, self.backoff_initial * 2 ** (retry - 1))


DEFAULT_RULE = Rule(name=None, events=DEFAULT_EVENTS)


def rule_from_spec(name: str, spec: Mapping[str, Any], *, suspended: bool = False) -> Rule:
    """A Rule from a SyncPolicy spec (CRD shape, defaults as the CRD's)."""
    sources = spec.get("sources") or {"all": True}
    targets = spec.get("targets") or {"subscribers": True}
    action = spec.get("action") or {}
    retry = spec.get("retry") or {}
    backoff = retry.get("backoff") or {}
    rate = spec.get("rateLimit") or {}
    events = frozenset(e for e in (spec.get("events") or EVENT_TYPES) if e in EVENT_TYPES)
    mode = action.get("mode") or "same"
    duration = parse_duration(action.get("durationSeconds", action.get("duration")))
    per_second = rate.get("perSecond")
    if per_second is None and rate.get("perMinute") is not None:
        per_second = float(rate["perMinute"]) / 60.0
    initial = float(retry.get("backoffSeconds", backoff.get("initialSeconds", 1)))
    return Rule(
        name=name, events=events,
        sources_all=bool(sources.get("all")) or not sources.get("chatIds"),
        source_chat_ids=frozenset(int(c) for c in sources.get("chatIds") or ()),
        to_subscribers=bool(targets.get("subscribers")) or not targets.get("chatIds"),
        target_chat_ids=tuple(sorted({int(c) for c in targets.get("chatIds") or ()})),
        mode=mode, duration_seconds=duration,
        delay_seconds=int(spec.get("delaySeconds") or 0),
        require_confirmation=bool(spec.get("requireConfirmation")),
        max_attempts=int(retry.get("maxAttempts") or 4),
        backoff_initial=initial, backoff_max=float(backoff.get("maxSeconds", 60)),
        per_second=float(per_second) if per_second is not None else None,
        burst=max(1, int(rate.get("burst") or 1)),
        replicas=int((spec.get("workers") or {}).get("replicas", 1)),
        suspended=suspended or bool(spec.get("suspend")),
    )


def rules_for(event: BanEvent, policies: Iterable[Rule], *, policy: str | None) -> list[Rule]:
    """The rules this worker applies to ``event``.

    A policy worker (``policy`` set) applies only its own policy. The default
    worker applies the matching policies that have no workers of their own
    (``workers.replicas: 0``); when no policy at all matches, the default rule.
    """
    policies = list(policies)
    if policy is not None:
        return [p for p in policies if p.name == policy and p.matches(event)]
    matching = [p for p in policies if p.matches(event)]
    if not matching:
        return [DEFAULT_RULE] if DEFAULT_RULE.matches(event) else []
    return [p for p in matching if p.replicas == 0]


def plan_target(rule: Rule, event: BanEvent, chat_id: int, settings: ChatSettings, *,
                admin_user_id: int | None, subscription_id: int | None,
                admin_can_ban: bool = True) -> PlannedTarget:
    """How ``event`` lands in ``chat_id`` under ``rule`` and the chat's settings.

    ``admin_can_ban`` false (the subscribing admin's record says they may not ban in
    that chat, seed §3 ``can_ban``) makes it a skipped target.
    """
    action = event.event_type
    mode = rule.mode or settings.sync_ban_type  # a policy's mode wins over the chat's
    duration: int | None = None
    if action in ("ban", "restrict"):
        if mode == "permanent":
            duration = None
        elif mode == "temporary":
            duration = (rule.duration_seconds or settings.temporary_ban_seconds
                        or event.ban_duration or DEFAULT_TEMPORARY_SECONDS)
        else:
            duration = event.ban_duration
    delay = rule.delay_seconds if rule.delay_seconds else settings.sync_delay_seconds
    skip = None if settings.auto_sync_enabled else "auto sync is disabled in this chat"
    if not admin_can_ban:
        skip = "the subscribing admin may not ban in this chat"
    if chat_id == event.chat_id:
        skip = "the source chat itself"
    return PlannedTarget(
        target_chat_id=chat_id, action=action, ban_duration=duration,
        delay_seconds=max(0, int(delay or 0)),
        awaiting_confirmation=skip is None and (rule.require_confirmation
                                                or settings.require_confirmation),
        admin_user_id=admin_user_id, subscription_id=subscription_id, policy=rule.name,
        skip_reason=skip)
