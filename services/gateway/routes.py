"""REST routes derived from the ``google.api.http`` annotations of the protos.

Every generated ``*_pb2`` module under ``tenantry`` is imported; each service
method with an http rule becomes a route. Platform packages mount at the root,
each app's package under its base (``/moderation``), so the seeds' paths are
kept unchanged below it.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

from google.api import annotations_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor

from services.kit.settings import Settings

#: package → (URL base, settings attribute holding the backend address).
MOUNTS: dict[str, tuple[str, str]] = {
    "tenantry.identity.v1": ("", "identity_addr"),
    "tenantry.notification.v1": ("", "notification_addr"),
    "tenantry.moderation.v1": ("/moderation", "moderation_addr"),
    # Seed 001's analytics endpoints are part of the moderation app's API.
    "tenantry.analytics.v1": ("/moderation", "analytics_addr"),
}

_PARAM = re.compile(r"\{([a-zA-Z0-9_.]+)(=[^}]*)?\}")

#: A creating method's response field that says whether this call created the object.
CREATED_FIELD = "created"


@dataclass(frozen=True)
class Route:
    """One REST route bound to one gRPC method."""

    verb: str
    path: str  # FastAPI syntax, with the mount base
    params: tuple[str, ...]  # path parameters (proto field paths)
    body: str  # "" (none), "*" (whole request) or a field name
    service: ServiceDescriptor
    method: MethodDescriptor
    base: str
    target_setting: str

    @property
    def full_method(self) -> str:
        """The gRPC method path, e.g. ``/tenantry.identity.v1.IdentityService/Login``."""
        return f"/{self.service.full_name}/{self.method.name}"

    @property
    def operation_id(self) -> str:
        """A stable OpenAPI operationId."""
        return f"{self.service.name}.{self.method.name}"


def import_all_protos() -> None:
    """Import every generated module so their descriptors are in the default pool."""
    import tenantry

    # The generated packages are namespace packages (no __init__.py), which
    # pkgutil does not walk; list the files instead.
    for root in map(Path, tenantry.__path__):
        for file in sorted(root.rglob("*_pb2.py")):
            parts = file.relative_to(root).with_suffix("").parts
            importlib.import_module(".".join(("tenantry", *parts)))


def services_in_pool() -> list[ServiceDescriptor]:
    """Every service of the mounted packages whose module is imported."""
    import sys

    found: dict[str, ServiceDescriptor] = {}
    for name, module in list(sys.modules.items()):
        if not (name.startswith("tenantry.") and name.endswith("_pb2")):
            continue
        descriptor = getattr(module, "DESCRIPTOR", None)
        if descriptor is None or descriptor.package not in MOUNTS:
            continue
        for svc in descriptor.services_by_name.values():
            found[svc.full_name] = svc
    return [found[k] for k in sorted(found)]


def build_routes() -> list[Route]:
    """All REST routes, ordered so literal segments win over parameters."""
    import_all_protos()
    routes: list[Route] = []
    for svc in services_in_pool():
        base, target = MOUNTS[svc.file.package]
        for method in svc.methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            rule = options.Extensions[annotations_pb2.http]
            for r in [rule, *rule.additional_bindings]:
                verb = r.WhichOneof("pattern")
                if verb is None or verb == "custom":
                    continue
                template = getattr(r, verb)
                params = tuple(m.group(1) for m in _PARAM.finditer(template))
                path = base + _PARAM.sub(lambda m: "{" + m.group(1).replace(".", "__") + "}", template)
                routes.append(Route(verb.upper(), path, params, r.body, svc, method, base, target))
    # Starlette matches in order: "/x/check" must come before "/x/{id}".
    routes.sort(key=lambda r: [(seg.startswith("{"), seg) for seg in r.path.split("/")])
    return routes


@functools.cache
def _message_class(descriptor: Descriptor) -> type:
    return message_factory.GetMessageClass(descriptor)


def request_class(route: Route) -> type:
    """The generated class of the route's request message (looked up once per type)."""
    return _message_class(route.method.input_type)


def response_class(route: Route) -> type:
    """The generated class of the route's response message (looked up once per type)."""
    return _message_class(route.method.output_type)


def success_status(route: Route) -> tuple[int, str | None]:
    """The HTTP status of a successful call to ``route``, and the reply field that may lower it to 200.

    The one rule for success statuses (the app and the OpenAPI document both ask
    here): a POST of a ``Create*``/``Register*`` method answers 201, everything
    else 200. When such a method's response has a top-level ``bool created``,
    that field decides per call: false means the call returned an object that
    already existed (an idempotent repeat), which is 200, not 201. A convention
    of the contract rather than a status chosen by the service, so no service
    needs to know about HTTP and the OpenAPI document can state both outcomes.
    """
    if route.verb != "POST" or not route.method.name.startswith(("Create", "Register")):
        return 200, None
    field = route.method.output_type.fields_by_name.get(CREATED_FIELD)
    if field is not None and field.type == FieldDescriptor.TYPE_BOOL and not field.is_repeated:
        return 201, field.name
    return 201, None


def target_of(route: Route, settings: Settings) -> str:
    """The backend address for the route's service."""
    return str(getattr(settings, route.target_setting))
