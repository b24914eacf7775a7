"""Structured JSON logs (structlog) carrying request id, tenant and trace id.

Secrets never reach logs: any key that looks like a credential is masked by a
processor before rendering, whoever logged it.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from . import context

_SECRET_KEYS = re.compile(r"(pass(word)?|secret|token|authorization|api[_-]?key|dsn)", re.I)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")


def _mask_secrets(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event.items()):
        if key != "event" and _SECRET_KEYS.search(key) and value:
            event[key] = "***"
        elif isinstance(value, str) and "://" in value:
            event[key] = _URL_PASSWORD.sub(r"\1***\3", value)
    return event


def _add_context(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    rid = context.request_id()
    if rid:
        event.setdefault("request_id", rid)
    principal = context.current_or_none()
    if principal is not None and principal.tenant:
        event.setdefault("tenant", principal.tenant)
    try:
        from opentelemetry import trace

        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            event.setdefault("trace_id", format(span.trace_id, "032x"))
    except Exception:  # pragma: no cover - tracing is optional
        pass
    return event


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """Configure structlog and the stdlib root logger for this process."""
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
        _mask_secrets,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(
        colors=False)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(level.upper()) if isinstance(level, str) else level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries log through the stdlib (uvicorn, alembic, kopf, asyncio): render them the
    # same way, masked and with the request context, so every line of a process is JSON.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "uvicorn.access", "kopf.objects", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
