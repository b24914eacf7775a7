"""The topics on the bus and the consumer groups that read each.

Stream per (tenant, topic): ``t:<tenant>:stream:<topic>``. A consumer group is
named after the service that consumes (``sync``, ``notification``,
``analytics``); a SyncPolicy adds its own group on ``ban.detected``
(:func:`policy_group`). The operator and ``tenantry apply`` create every group
listed here when they provision a tenant.
"""

from __future__ import annotations

TOPIC_GROUPS: dict[str, tuple[str, ...]] = {
    "subscription.created": ("notification", "analytics"),
    "subscription.deleted": ("notification", "analytics"),
    "subscription.limit_reached": ("notification", "analytics"),
    "ban.detected": ("sync", "notification", "analytics"),
    "ban.registered": ("analytics",),
    "sync.started": ("analytics",),
    "sync.completed": ("notification", "analytics"),
    "sync.failed": ("notification", "analytics"),
    "sync.partial": ("notification", "analytics"),
    "notification.send": ("notification",),
    "user.settings_updated": ("notification",),
}


def policy_group(namespace: str, name: str) -> str:
    """The consumer group of a SyncPolicy on ``ban.detected``."""
    return f"sync.{namespace}.{name}"
