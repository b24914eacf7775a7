"""Names derived from a tenant: schemas, Redis key prefixes, streams, roles.

Everything that names a tenant-owned object goes through here, so the operator,
the services and the tests agree on one spelling.
"""

from __future__ import annotations

import re

#: A tenant name is a DNS label (it is also a Kubernetes object name).
TENANT_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")

#: Names that would collide with platform objects or PostgreSQL internals.
RESERVED_TENANT_NAMES = frozenset(
    {"public", "platform", "identity", "system", "admin", "default", "kube-system", "pg-catalog",
     "information-schema", "tenantry", "all", "none"}
)

#: The apps a Tenant may enable (seeds), and the platform apps every tenant has.
BUSINESS_APPS = ("moderation", "property", "petcare", "detailing", "tutoring")
PLATFORM_TENANT_APPS = ("notification", "analytics")

#: Schema of platform-wide data (users, tenants, memberships).
IDENTITY_SCHEMA = "identity"


class InvalidName(ValueError):
    """A tenant or app name that cannot name database or Redis objects."""


def validate_tenant(tenant: str) -> str:
    """Return ``tenant`` if it is a valid, unreserved tenant name, else raise InvalidName."""
    if not isinstance(tenant, str) or not TENANT_NAME_RE.match(tenant):
        raise InvalidName(
            f"tenant name {tenant!r} must be 3-40 characters of a-z, 0-9 and '-', "
            "starting with a letter and not ending with '-'"
        )
    if tenant in RESERVED_TENANT_NAMES:
        raise InvalidName(f"tenant name {tenant!r} is reserved")
    return tenant


def schema_name(app: str, tenant: str) -> str:
    """The PostgreSQL schema holding ``app``'s data for ``tenant``: ``t_<tenant>__<app>``."""
    validate_tenant(tenant)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", app):
        raise InvalidName(f"app name {app!r} is invalid")
    return f"t_{tenant.replace('-', '_')}__{app}"


def role_name(tenant: str) -> str:
    """The PostgreSQL role that owns exactly the tenant's schemas."""
    validate_tenant(tenant)
    return f"tenant_{tenant.replace('-', '_')}"


def key_prefix(tenant: str) -> str:
    """Every Redis key of a tenant starts with this (the tenant's ACL user is limited to it)."""
    validate_tenant(tenant)
    return f"t:{tenant}:"


def tenant_key(tenant: str, *parts: object) -> str:
    """A Redis key under the tenant's prefix, e.g. ``t:acme:subscription:count:42``."""
    return key_prefix(tenant) + ":".join(str(p) for p in parts)


def stream_key(tenant: str, topic: str) -> str:
    """The Redis stream carrying ``topic`` (e.g. ``ban.detected``) for ``tenant``."""
    return tenant_key(tenant, "stream", topic)


def dead_letter_key(tenant: str, topic: str) -> str:
    """The dead-letter stream where poison messages of ``topic`` are parked."""
    return tenant_key(tenant, "dlq", topic)


def redis_acl_user(tenant: str) -> str:
    """The Redis ACL user limited to the tenant's key prefix."""
    validate_tenant(tenant)
    return f"tenant-{tenant}"
