"""The sync worker: a ``ban.detected`` consumer plus the sweeper of due rows.

One worker serves the default consumer group ``sync`` (default behaviour and
policies without workers of their own), or, with ``policy="<ns>/<name>"``, the
SyncPolicy's own group ``sync.<ns>.<name>``. Scaling is the consumer group's:
replicas share the stream, and leases on ``sync_logs`` rows keep two replicas
from acting on one chat at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog
from redis.asyncio import Redis

from services.kit.bus.consumer import BusConsumer
from services.kit.bus.events import EventEnvelope
from services.kit.bus.topics import policy_group

from .engine import SyncEngine

log = structlog.get_logger("tenantry.sync.worker")

Tenants = Callable[[], Awaitable[Iterable[str]]] | Iterable[str]


def group_for(policy: str | None) -> str:
    """The consumer group: ``sync``, or the SyncPolicy's ``sync.<ns>.<name>``."""
    if policy is None:
        return "sync"
    namespace, sep, name = policy.partition("/")
    if not sep or not namespace or not name:
        raise ValueError(f"policy must be NAMESPACE/NAME, not {policy!r}")
    return policy_group(namespace, name)


class SyncWorker:
    """Consumes ban.detected for ``tenants`` and sweeps due rows every ``sweep_interval``."""

    def __init__(self, engine: SyncEngine, redis: Redis, *, tenants: Tenants,
                 policy: str | None = None, sweep_interval: float = 1.0,
                 consumer_name: str | None = None, **consumer_options: Any) -> None:
        self.engine = engine
        self.policy = policy
        self.group = group_for(policy)
        self.sweep_interval = sweep_interval
        self._tenants = tenants
        self.consumer = BusConsumer(redis, self.group, {"ban.detected": self.on_ban_detected},
                                    tenants=tenants, consumer=consumer_name, **consumer_options)

    async def on_ban_detected(self, envelope: EventEnvelope) -> None:
        """Handle one ban event (acknowledged by the consumer after this returns)."""
        await self.engine.handle_ban_detected(envelope, group=self.group, policy=self.policy)

    async def sweep_once(self) -> int:
        """One sweep over every served tenant."""
        done = 0
        for tenant in await self.consumer.tenants():
            try:
                done += await self.engine.sweep(tenant)
            except Exception:
                log.exception("sync_sweep_failed", tenant=tenant)
        return done

    async def sweep_loop(self, stop: asyncio.Event) -> None:
        """Sweep until ``stop`` is set."""
        while not stop.is_set():
            if await self.sweep_once() == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.sweep_interval)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume and sweep until ``stop`` is set."""
        await asyncio.gather(self.consumer.run(stop), self.sweep_loop(stop))
