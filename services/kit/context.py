"""Per-request context (contextvars): who is calling, for which tenant, which request.

Set by the gRPC interceptors from verified credentials; read by domain code via
:func:`current` so no function signature has to thread the tenant through.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field

from .errors import PermissionDenied, Unauthenticated

ROLE_ORDER = {"member": 1, "moderator": 2, "admin": 3, "owner": 4, "service": 5}


@dataclass(frozen=True)
class Principal:
    """The verified caller: a user (with a role in ``tenant``) or a service."""

    subject: str
    tenant: str | None
    role: str | None
    kind: str = "user"  # "user" | "service"
    token_id: str | None = None
    claims: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_service(self) -> bool:
        """True for service-to-service tokens."""
        return self.kind == "service"

    def require_tenant(self) -> str:
        """The caller's tenant, or UNAUTHENTICATED when the token carries none."""
        if not self.tenant:
            raise Unauthenticated("this call needs a token scoped to a tenant")
        return self.tenant

    def tenant_with_role(self, minimum: str) -> str:
        """The caller's tenant, once their role is at least ``minimum``: the first line of
        every tenant-scoped call (UNAUTHENTICATED / PERMISSION_DENIED otherwise)."""
        tenant = self.require_tenant()
        self.require_role(minimum)
        return tenant

    def require_role(self, minimum: str) -> None:
        """PERMISSION_DENIED unless the caller's role is at least ``minimum``."""
        have = ROLE_ORDER.get(self.role or "", 0)
        if self.is_service:
            return
        if have < ROLE_ORDER[minimum]:
            raise PermissionDenied(
                f"this call needs role {minimum!r} or higher; you are {self.role or 'no member'!r}",
                code="role_required",
            )


_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "tenantry_principal", default=None
)
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "tenantry_request_id", default=""
)


def current() -> Principal:
    """The verified caller of the current request; UNAUTHENTICATED if there is none."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("missing credentials")
    return principal


def caller_tenant(minimum_role: str) -> str:
    """:meth:`Principal.tenant_with_role` of the current caller."""
    return current().tenant_with_role(minimum_role)


def current_or_none() -> Principal | None:
    """The verified caller, or None on unauthenticated calls."""
    return _principal.get()


def set_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    """Bind the caller for the rest of this context."""
    return _principal.set(principal)


def reset_principal(token: contextvars.Token[Principal | None]) -> None:
    """Undo :func:`set_principal`."""
    _principal.reset(token)


def request_id() -> str:
    """The current request id ('' outside a request)."""
    return _request_id.get()


def set_request_id(value: str | None) -> str:
    """Bind a request id (a new UUID when none was given); return it."""
    rid = value or uuid.uuid4().hex
    _request_id.set(rid)
    return rid
