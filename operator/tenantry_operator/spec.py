"""Parse Tenant and SyncPolicy specs into typed values, applying the CRD's defaults.

The API server applies the CRD's ``default``s and validations in a cluster, but
``tenantry apply -f`` reads YAML straight from disk (and the test emulator does
no defaulting), so the same defaults and the checks that matter for
reconciliation live here too. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.kit.naming import BUSINESS_APPS, InvalidName, validate_tenant

DELETION_POLICIES = ("Retain", "Delete")
SYNC_EVENTS = ("ban", "kick", "restrict", "unban")
ACTION_MODES = ("same", "permanent", "temporary")
BACKOFF_STRATEGIES = ("exponential", "linear", "constant")
_DURATION_RE = re.compile(r"^(?:[0-9]+[smhd])+$")


class InvalidSpec(ValueError):
    """A custom resource whose spec cannot be reconciled (reported as a condition)."""


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str = "token"


@dataclass(frozen=True)
class TenantSpec:
    name: str
    display_name: str
    apps: tuple[str, ...]
    subscriptions_per_admin: int = 100
    requests_per_minute: int = 600
    notifications_per_minute: int = 60
    retention_days: int = 90
    bot_token: SecretRef | None = None
    deletion_policy: str = "Retain"

    @property
    def limits(self) -> dict[str, int]:
        return {
            "subscriptionsPerAdmin": self.subscriptions_per_admin,
            "requestsPerMinute": self.requests_per_minute,
            "notificationsPerMinute": self.notifications_per_minute,
        }


def _int(value: Any, name: str, lo: int, hi: int, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSpec(f"{name} must be an integer")
    if not lo <= value <= hi:
        raise InvalidSpec(f"{name} must be between {lo} and {hi}")
    return value


def _obj(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidSpec(f"{name} must be an object")
    return value


def parse_tenant(name: str, spec: Mapping[str, Any] | None) -> TenantSpec:
    """A TenantSpec from a Tenant's name and spec; raise InvalidSpec when it is unusable."""
    try:
        validate_tenant(name)
    except InvalidName as exc:
        raise InvalidSpec(str(exc)) from None
    spec = _obj(spec, "spec")
    apps_raw = spec.get("apps") or []
    if not isinstance(apps_raw, list):
        raise InvalidSpec("spec.apps must be a list")
    apps: list[str] = []
    for app in apps_raw:
        if app not in BUSINESS_APPS:
            raise InvalidSpec(f"spec.apps: unknown app {app!r} (one of {', '.join(BUSINESS_APPS)})")
        if app not in apps:
            apps.append(app)
    limits = _obj(spec.get("limits"), "spec.limits")
    retention = _obj(spec.get("retention"), "spec.retention")
    policy = spec.get("deletionPolicy") or "Retain"
    if policy not in DELETION_POLICIES:
        raise InvalidSpec("spec.deletionPolicy must be Retain or Delete")
    bot = None
    telegram = _obj(spec.get("telegram"), "spec.telegram")
    if telegram:
        ref = _obj(telegram.get("botTokenSecretRef"), "spec.telegram.botTokenSecretRef")
        if not ref.get("name"):
            raise InvalidSpec("spec.telegram.botTokenSecretRef.name is required")
        bot = SecretRef(str(ref["name"]), str(ref.get("key") or "token"))
    display = spec.get("displayName") or name
    return TenantSpec(
        name=name,
        display_name=str(display),
        apps=tuple(sorted(apps, key=BUSINESS_APPS.index)),
        subscriptions_per_admin=_int(limits.get("subscriptionsPerAdmin"),
                                     "spec.limits.subscriptionsPerAdmin", 1, 100000, 100),
        requests_per_minute=_int(limits.get("requestsPerMinute"),
                                 "spec.limits.requestsPerMinute", 1, 1000000, 600),
        notifications_per_minute=_int(limits.get("notificationsPerMinute"),
                                      "spec.limits.notificationsPerMinute", 1, 100000, 60),
        retention_days=_int(retention.get("days"), "spec.retention.days", 1, 3650, 90),
        bot_token=bot,
        deletion_policy=policy,
    )


@dataclass(frozen=True)
class SyncPolicySpec:
    namespace: str
    name: str
    tenant: str
    events: tuple[str, ...]
    replicas: int = 1
    suspend: bool = False
    #: The spec with every default filled in: what the sync engine reads.
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        """The row key in ``sync_policies``: ``<namespace>/<name>``."""
        return f"{self.namespace}/{self.name}"

    @property
    def effective_replicas(self) -> int:
        return 0 if self.suspend else self.replicas


def _chat_ids(value: Any, name: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise InvalidSpec(f"{name} must be a list of integer chat ids")
    return sorted(set(value))


def parse_sync_policy(namespace: str, name: str, spec: Mapping[str, Any] | None) -> SyncPolicySpec:
    """A SyncPolicySpec with defaults applied; raise InvalidSpec when it is unusable."""
    spec = _obj(spec, "spec")
    ref = _obj(spec.get("tenantRef"), "spec.tenantRef")
    tenant = ref.get("name")
    if not tenant:
        raise InvalidSpec("spec.tenantRef.name is required")
    try:
        validate_tenant(str(tenant))
    except InvalidName as exc:
        raise InvalidSpec(f"spec.tenantRef.name: {exc}") from None
    events = spec.get("events") or []
    if not isinstance(events, list) or not events or any(e not in SYNC_EVENTS for e in events):
        raise InvalidSpec(f"spec.events must be a non-empty list of {', '.join(SYNC_EVENTS)}")
    events_t = tuple(e for e in SYNC_EVENTS if e in events)

    sources = dict(_obj(spec.get("sources"), "spec.sources") or {"all": True})
    src_ids = _chat_ids(sources.get("chatIds"), "spec.sources.chatIds")
    if bool(sources.get("all")) == bool(src_ids):
        raise InvalidSpec("set exactly one of sources.all: true or a non-empty sources.chatIds")
    targets = dict(_obj(spec.get("targets"), "spec.targets") or {"subscribers": True})
    tgt_ids = _chat_ids(targets.get("chatIds"), "spec.targets.chatIds")
    if bool(targets.get("subscribers")) == bool(tgt_ids):
        raise InvalidSpec(
            "set exactly one of targets.subscribers: true or a non-empty targets.chatIds")

    action = dict(_obj(spec.get("action"), "spec.action"))
    mode = action.get("mode") or "same"
    if mode not in ACTION_MODES:
        raise InvalidSpec("spec.action.mode must be same, permanent or temporary")
    duration = action.get("duration")
    if (mode == "temporary") != (duration is not None):
        raise InvalidSpec("action.duration is required for mode temporary and not allowed otherwise")
    if duration is not None and not _DURATION_RE.match(str(duration)):
        raise InvalidSpec("spec.action.duration must look like 30m, 12h or 7d")

    retry = _obj(spec.get("retry"), "spec.retry")
    backoff = _obj(retry.get("backoff"), "spec.retry.backoff")
    strategy = backoff.get("strategy") or "exponential"
    if strategy not in BACKOFF_STRATEGIES:
        raise InvalidSpec("spec.retry.backoff.strategy must be exponential, linear or constant")
    initial = _int(backoff.get("initialSeconds"), "spec.retry.backoff.initialSeconds", 1, 3600, 1)
    maximum = _int(backoff.get("maxSeconds"), "spec.retry.backoff.maxSeconds", 1, 86400, 60)
    if maximum < initial:
        raise InvalidSpec("retry.backoff.maxSeconds must be >= initialSeconds")
    rate = _obj(spec.get("rateLimit"), "spec.rateLimit")
    workers = _obj(spec.get("workers"), "spec.workers")
    suspend = spec.get("suspend", False)
    if not isinstance(suspend, bool):
        raise InvalidSpec("spec.suspend must be a boolean")
    confirm = spec.get("requireConfirmation", False)
    if not isinstance(confirm, bool):
        raise InvalidSpec("spec.requireConfirmation must be a boolean")
    replicas = _int(workers.get("replicas"), "spec.workers.replicas", 0, 50, 1)

    document: dict[str, Any] = {
        "tenantRef": {"name": tenant},
        "sources": {"all": True} if not src_ids else {"chatIds": src_ids},
        "targets": {"subscribers": True} if not tgt_ids else {"chatIds": tgt_ids},
        "events": list(events_t),
        "action": {"mode": mode, **({"duration": str(duration)} if duration else {})},
        "delaySeconds": _int(spec.get("delaySeconds"), "spec.delaySeconds", 0, 86400, 0),
        "requireConfirmation": confirm,
        "retry": {
            "maxAttempts": _int(retry.get("maxAttempts"), "spec.retry.maxAttempts", 1, 20, 4),
            "backoff": {"strategy": strategy, "initialSeconds": initial, "maxSeconds": maximum},
        },
        "rateLimit": {
            "perMinute": _int(rate.get("perMinute"), "spec.rateLimit.perMinute", 1, 1800, 20),
            "burst": _int(rate.get("burst"), "spec.rateLimit.burst", 1, 100, 5),
        },
        "workers": {"replicas": replicas},
        "suspend": suspend,
    }
    return SyncPolicySpec(
        namespace=namespace, name=name, tenant=str(tenant), events=events_t,
        replicas=replicas, suspend=suspend, document=document,
    )
