"""The registry of apps: which schema each lives in and where its migrations are.

An app's migrations are an Alembic version directory, ``services/<app>/migrations``.
Apps whose service is not built yet get the kit's base migrations (the bus
tables), so a Tenant may already enable them and the schema is there to grow.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .naming import BUSINESS_APPS, IDENTITY_SCHEMA, PLATFORM_TENANT_APPS, schema_name

_KIT_BASE = Path(__file__).parent / "base_migrations"


@dataclass(frozen=True)
class App:
    """An app: its name, whether it is per tenant, and its migration directory."""

    name: str
    per_tenant: bool
    migrations: Path

    def schema(self, tenant: str | None) -> str:
        """The schema of this app for ``tenant`` (platform apps ignore the tenant)."""
        if not self.per_tenant:
            return IDENTITY_SCHEMA if self.name == "identity" else self.name
        if tenant is None:
            raise ValueError(f"app {self.name!r} is per tenant; a tenant is required")
        return schema_name(self.name, tenant)


def _migrations_of(name: str) -> Path:
    spec = importlib.util.find_spec(f"services.{name}")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "migrations"
        if candidate.is_dir():
            return candidate
    return _KIT_BASE


def get_app(name: str) -> App:
    """Look up an app by name; raise KeyError for an unknown one."""
    if name == "identity":
        return App("identity", False, _migrations_of("identity"))
    if name in BUSINESS_APPS or name in PLATFORM_TENANT_APPS:
        return App(name, True, _migrations_of(name))
    raise KeyError(f"unknown app {name!r}")


def tenant_apps(enabled: list[str] | tuple[str, ...]) -> list[App]:
    """The apps a tenant gets: the platform per-tenant apps plus the enabled business apps."""
    names = list(PLATFORM_TENANT_APPS) + [a for a in enabled if a not in PLATFORM_TENANT_APPS]
    return [get_app(n) for n in names]
