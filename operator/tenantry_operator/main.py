"""``tenantry operator``: run the kopf operator against the current cluster.

Peering: the operator runs **standalone** by default (no kopf peering). It is
deployed as a single replica with ``strategy: Recreate``; a second instance is
never started on purpose, so peering (which needs its own CRDs and RBAC and
only pauses, it does not elect leaders) buys nothing. ``peering=NAME`` turns on
kopf's cluster-wide peering for installs that run a standby copy. See
docs/decisions/007-operator-peering-and-state.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence

import kopf

from services.kit.metrics import serve_metrics


def run(*, namespace: str | None = None,
        liveness: str | None = "http://0.0.0.0:8080/healthz",
        metrics_port: int = 9464,
        standalone: bool = True,
        peering: str | None = None,
        watch_namespaces: Sequence[str] | None = None,
        stop_flag: asyncio.Event | threading.Event | None = None,
        ready_flag: asyncio.Event | threading.Event | None = None,
        verbose: bool = False) -> None:
    """Run the operator until stopped (SIGTERM/SIGINT, or ``stop_flag``).

    * ``namespace`` -- where tenant-owned objects (ConfigMaps, credential Secrets,
      bot Deployments) live; default ``$TENANTRY_NAMESPACE`` or ``tenantry``.
    * ``liveness`` -- kopf's liveness endpoint URL (``None`` disables).
    * ``metrics_port`` -- Prometheus ``/metrics`` port (0 disables).
    * ``standalone`` / ``peering`` -- see the module docstring.
    * ``watch_namespaces`` -- restrict SyncPolicy watching (default: cluster-wide;
      Tenants are cluster-scoped and always watched).
    """
    if namespace:
        os.environ["TENANTRY_NAMESPACE"] = namespace
    # The handlers read their intervals from the environment when imported.
    from . import handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=verbose)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    serve_metrics(metrics_port)
    use_peering = bool(peering) and not standalone
    kopf.run(
        standalone=not use_peering,
        peering_name=peering if use_peering else None,
        clusterwide=not watch_namespaces,
        namespaces=list(watch_namespaces or ()),
        liveness_endpoint=liveness,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
        memo=kopf.Memo(),
    )
