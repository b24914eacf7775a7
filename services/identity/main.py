"""``tenantry serve identity``."""

from __future__ import annotations

from services.kit.service import Runtime

from .grpc import PUBLIC_METHODS, register

DEFAULT_PORT = 50051
__all__ = ["DEFAULT_PORT", "PUBLIC_METHODS", "build"]


def build(rt: Runtime) -> None:
    """Wire the identity service."""
    register(rt)
