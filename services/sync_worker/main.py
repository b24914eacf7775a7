"""``tenantry serve sync-worker [--tenant T] [--policy NS/NAME]``: the ban sync worker.

It serves only gRPC health (its work comes from the bus), consumes
``ban.detected`` in group ``sync`` (or the SyncPolicy's ``sync.<ns>.<name>``),
sweeps delayed and orphaned sync rows, and relays the moderation outbox so the
sync events it writes go out even when no other moderation process runs.
The SyncPolicy operator runs one Deployment of these per policy.
"""

from __future__ import annotations

import os

from services.kit.service import Runtime
from services.kit.tenants import tenants_with_app
from services.moderation.sync.engine import SyncConfig, SyncEngine
from services.moderation.sync.worker import SyncWorker
from services.telegram_api import BotClientFactory

DEFAULT_PORT = 50056


def lease_seconds() -> float:
    """``SYNC_LEASE_SECONDS``: how long a leased sync row is this worker's before another
    worker may take it over (default 120). It must exceed the time a leased batch takes."""
    raw = os.environ.get("SYNC_LEASE_SECONDS", "").strip()
    if not raw:
        return SyncConfig.lease_seconds
    value = float(raw)
    if not value > 0:
        raise ValueError(f"SYNC_LEASE_SECONDS must be a positive number of seconds, not {raw!r}")
    return value


def build(rt: Runtime, tenant: str | None = None, policy: str | None = None) -> None:
    """Wire the worker: consumer + sweeper (background), the outbox relay, health."""
    # Every replica (and every other process calling the bot) shares the bot's ~30/s
    # through Redis, however many replicas the SyncPolicy's HPA runs.
    bots = BotClientFactory(redis=rt.redis)
    engine = SyncEngine(rt.db, bots, redis=rt.redis, config=SyncConfig(
        precheck=os.environ.get("SYNC_PRECHECK", "true").lower() != "false",
        lease_seconds=lease_seconds()))
    if tenant is not None:
        tenants: object = [tenant]
    else:
        async def tenants() -> list[str]:  # type: ignore[misc]
            return await tenants_with_app(rt.db.engine, "moderation")
    worker = SyncWorker(engine, rt.redis, tenants=tenants, policy=policy,  # type: ignore[arg-type]
                        max_deliveries=rt.settings.bus_max_deliveries,
                        claim_idle_ms=rt.settings.bus_claim_idle_ms)
    rt.background(f"sync-worker:{worker.group}", worker.run)
    rt.relay("moderation")

    async def close_bots(stop):  # type: ignore[no-untyped-def]
        await stop.wait()
        await bots.aclose()

    rt.background("sync-worker:bots", close_bots)
