"""Consumer groups on the tenants' streams: ack after effect, retry, dead-letter, reclaim.

A :class:`BusConsumer` reads the topics it handles for every tenant it serves,
in one XREADGROUP. For each message:

* the handler runs, retried in process with exponential backoff
  (``retry_base`` × 2ⁿ) up to ``max_attempts`` times;
* it is acknowledged only after the handler returned (after its effect);
* if every attempt failed, or Redis says the message was already delivered
  ``max_deliveries`` times (it kept killing consumers), it is copied to the
  tenant's dead-letter stream with the error, then acknowledged;
* messages pending on a consumer that died are taken over with XAUTOCLAIM once
  idle for ``claim_idle_ms``.

Handlers must be idempotent (see :func:`services.kit.bus.outbox.mark_processed`):
delivery is at-least-once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import structlog
from opentelemetry import trace
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .. import context
from ..metrics import BUS_HANDLED
from ..naming import dead_letter_key, stream_key
from ..tracing import extract_context, tracer
from .events import EventEnvelope
from .streams import ensure_group

log = structlog.get_logger("tenantry.bus")

Handler = Callable[[EventEnvelope], Awaitable[None]]


@dataclass
class _Message:
    stream: str
    tenant: str
    topic: str
    msg_id: str
    fields: dict[bytes, bytes]


def default_consumer_name(group: str) -> str:
    """A name unique to this process: host and pid."""
    return f"{group}-{socket.gethostname()}-{os.getpid()}"


class BusConsumer:
    """Consumes ``handlers``' topics for ``tenants`` in consumer group ``group``."""

    def __init__(self, redis: Redis, group: str, handlers: dict[str, Handler], *,
                 tenants: Callable[[], Awaitable[Iterable[str]]] | Iterable[str],
                 consumer: str | None = None, max_attempts: int = 3, max_deliveries: int = 5,
                 retry_base: float = 0.2, claim_idle_ms: int = 30_000, block_ms: int = 1000,
                 batch: int = 100, concurrency: int = 16) -> None:
        self.redis = redis
        self.group = group
        self.handlers = handlers
        self._tenants = tenants
        self.consumer = consumer or default_consumer_name(group)
        self.max_attempts = max_attempts
        self.max_deliveries = max_deliveries
        self.retry_base = retry_base
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
        self.batch = batch
        self._sem = asyncio.Semaphore(concurrency)
        self._known_groups: set[str] = set()
        self._last_claim = 0.0

    async def tenants(self) -> list[str]:
        """The tenants served right now (re-evaluated every loop: tenants come and go)."""
        source = self._tenants
        if callable(source):
            return sorted(await source())
        return sorted(source)

    async def _streams(self) -> dict[str, tuple[str, str]]:
        streams: dict[str, tuple[str, str]] = {}
        for tenant in await self.tenants():
            for topic in self.handlers:
                key = stream_key(tenant, topic)
                if key not in self._known_groups:
                    await ensure_group(self.redis, key, self.group)
                    self._known_groups.add(key)
                streams[key] = (tenant, topic)
        return streams

    async def poll_once(self) -> int:
        """Reclaim what is due, read one batch, handle it; return how many were handled."""
        streams = await self._streams()
        if not streams:
            await asyncio.sleep(self.block_ms / 1000)
            return 0
        messages: list[_Message] = []
        if time.monotonic() - self._last_claim > self.claim_idle_ms / 2000:
            self._last_claim = time.monotonic()
            messages += await self._reclaim(streams)
        try:
            reply = await self.redis.xreadgroup(
                self.group, self.consumer, dict.fromkeys(streams, ">"), count=self.batch,
                block=self.block_ms if not messages else None)
        except ResponseError as err:
            if "NOGROUP" in str(err):  # the group was dropped (drift): recreate it next loop
                self._known_groups.clear()
                return 0
            raise
        for stream, entries in reply or []:
            key = stream.decode() if isinstance(stream, bytes) else stream
            tenant, topic = streams[key]
            for msg_id, fields in entries:
                mid = msg_id.decode() if isinstance(msg_id, bytes) else msg_id
                messages.append(_Message(key, tenant, topic, mid, fields))
        await asyncio.gather(*(self._guarded(m) for m in messages))
        return len(messages)

    async def _reclaim(self, streams: dict[str, tuple[str, str]]) -> list[_Message]:
        claimed: list[_Message] = []
        for key, (tenant, topic) in streams.items():
            try:
                result = await self.redis.xautoclaim(key, self.group, self.consumer,
                                                     min_idle_time=self.claim_idle_ms,
                                                     start_id="0-0", count=self.batch)
            except ResponseError:
                continue
            for msg_id, fields in result[1]:
                if fields is None:  # deleted while pending (trimmed)
                    continue
                mid = msg_id.decode() if isinstance(msg_id, bytes) else msg_id
                claimed.append(_Message(key, tenant, topic, mid, fields))
        if claimed:
            log.info("bus_reclaimed", group=self.group, count=len(claimed))
        return claimed

    async def _deliveries(self, message: _Message) -> int:
        info = await self.redis.xpending_range(message.stream, self.group, min=message.msg_id,
                                               max=message.msg_id, count=1)
        return int(info[0]["times_delivered"]) if info else 1

    async def _guarded(self, message: _Message) -> None:
        async with self._sem:
            await self._handle(message)

    async def _handle(self, message: _Message) -> None:
        raw = message.fields.get(b"envelope") or message.fields.get("envelope")  # type: ignore[call-overload]
        error: str | None = None
        envelope = EventEnvelope()
        try:
            envelope.ParseFromString(raw or b"")
        except Exception as exc:
            error = f"undecodable envelope: {exc}"
        if error is None and envelope.tenant != message.tenant:
            # A stream belongs to one tenant; an envelope naming another is never trusted.
            error = f"envelope tenant {envelope.tenant!r} does not match the stream's tenant"
        if error is None and await self._deliveries(message) > self.max_deliveries:
            error = f"delivered more than {self.max_deliveries} times"
        if error is None:
            error = await self._attempt(message, envelope)
        if error is not None:
            await self._dead_letter(message, error)
            BUS_HANDLED.labels(self.group, message.topic, "dead_letter").inc()
        else:
            BUS_HANDLED.labels(self.group, message.topic, "ok").inc()
        await self.redis.xack(message.stream, self.group, message.msg_id)

    async def _attempt(self, message: _Message, envelope: EventEnvelope) -> str | None:
        handler = self.handlers[message.topic]
        context.set_request_id(envelope.headers.get("x-request-id"))
        # Continue the producer's trace (the envelope carries its traceparent).
        parent = extract_context(dict(envelope.headers))
        for attempt in range(1, self.max_attempts + 1):
            try:
                with tracer().start_as_current_span(
                        f"consume {message.topic}", context=parent,  # type: ignore[arg-type]
                        kind=trace.SpanKind.CONSUMER,
                        attributes={"messaging.system": "redis", "messaging.destination": message.stream,
                                    "messaging.consumer_group": self.group, "attempt": attempt}):
                    await handler(envelope)
                return None
            except Exception as exc:
                log.warning("bus_handler_failed", group=self.group, topic=message.topic,
                            event_id=envelope.event_id, attempt=attempt, error=repr(exc))
                if attempt == self.max_attempts:
                    return repr(exc)[:1000]
                await asyncio.sleep(self.retry_base * 2 ** (attempt - 1))
        return None  # pragma: no cover

    async def _dead_letter(self, message: _Message, error: str) -> None:
        fields = dict(message.fields)
        fields[b"dlq_error"] = error.encode()
        fields[b"dlq_group"] = self.group.encode()
        fields[b"dlq_source_id"] = message.msg_id.encode()
        await self.redis.xadd(dead_letter_key(message.tenant, message.topic), fields)
        log.error("bus_dead_letter", group=self.group, topic=message.topic, tenant=message.tenant,
                  msg_id=message.msg_id, error=error)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; Redis outages are retried with backoff."""
        backoff = 0.2
        while not stop.is_set():
            try:
                await self.poll_once()
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus_poll_failed", group=self.group)
                self._known_groups.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
