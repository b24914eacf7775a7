"""Domain errors, independent of transport.

Domain code raises these; the gRPC interceptor maps them to status codes
(with ``google.rpc.BadRequest`` field violations), and the gateway maps the
status codes to HTTP. No stack trace ever reaches a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request."""

    field: str
    description: str


class ServiceError(Exception):
    """Base of every error a client may see. ``code`` is a stable machine-readable reason."""

    grpc_code_name = "INTERNAL"
    default_code = "internal"

    def __init__(self, message: str, *, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.retry_after = retry_after


class InvalidArgument(ServiceError):
    """Bad input; carries the offending fields."""

    grpc_code_name = "INVALID_ARGUMENT"
    default_code = "invalid_argument"

    def __init__(self, message: str = "request is invalid", *,
                 violations: list[FieldViolation] | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.violations = list(violations or [])

    @classmethod
    def field(cls, name: str, description: str) -> InvalidArgument:
        """Shorthand for a single bad field."""
        return cls(f"{name}: {description}", violations=[FieldViolation(name, description)])


class NotFound(ServiceError):
    grpc_code_name = "NOT_FOUND"
    default_code = "not_found"


class AlreadyExists(ServiceError):
    grpc_code_name = "ALREADY_EXISTS"
    default_code = "already_exists"


class Unauthenticated(ServiceError):
    grpc_code_name = "UNAUTHENTICATED"
    default_code = "unauthenticated"


class PermissionDenied(ServiceError):
    grpc_code_name = "PERMISSION_DENIED"
    default_code = "permission_denied"


class ResourceExhausted(ServiceError):
    grpc_code_name = "RESOURCE_EXHAUSTED"
    default_code = "resource_exhausted"


class FailedPrecondition(ServiceError):
    grpc_code_name = "FAILED_PRECONDITION"
    default_code = "failed_precondition"


class Unavailable(ServiceError):
    grpc_code_name = "UNAVAILABLE"
    default_code = "unavailable"


@dataclass
class Validator:
    """Collects field violations, then raises them all at once.

    >>> v = Validator(); v.require(False, "user_id", "must be positive"); v.raise_if_any()
    Traceback (most recent call last):
    ...
    services.kit.errors.InvalidArgument: user_id: must be positive
    """

    violations: list[FieldViolation] = field(default_factory=list)

    def require(self, ok: bool, name: str, description: str) -> bool:
        """Record a violation of ``name`` unless ``ok``; return ``ok``."""
        if not ok:
            self.violations.append(FieldViolation(name, description))
        return ok

    def raise_if_any(self) -> None:
        """Raise InvalidArgument listing every recorded violation, if any."""
        if self.violations:
            summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
            raise InvalidArgument(summary, violations=self.violations)
