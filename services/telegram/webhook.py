"""The webhook endpoint: ``POST /telegram/{tenant}/webhook`` (aiohttp).

* a missing or wrong ``X-Telegram-Bot-Api-Secret-Token`` → 401, nothing processed;
* a body that is not an Update → 400, logged, the server keeps running;
* otherwise the update is handled before answering 200 (so Telegram redelivers
  if we die mid-way; redeliveries are dropped by update id);
* on shutdown new requests are refused and in-flight updates finish.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from dataclasses import dataclass

import structlog
from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

log = structlog.get_logger("tenantry.telegram.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20


@dataclass
class TenantBot:
    """One tenant's bot, dispatcher and webhook secret."""

    tenant: str
    bot: Bot
    dispatcher: Dispatcher
    secret: str


class WebhookServer:
    """Serves every tenant's webhook on one port."""

    def __init__(self, bots: dict[str, TenantBot], *, host: str = "0.0.0.0", port: int = 8081,
                 grace_seconds: float = 10.0) -> None:
        self.bots = bots
        self.host = host
        self.port = port
        self.grace = grace_seconds
        self._runner: web.AppRunner | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._closing = False

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/telegram/{tenant}/webhook", self._handle)
        app.router.add_get("/healthz", lambda _r: web.Response(text="ok"))
        return app

    async def start(self) -> None:
        """Listen (port 0 picks a free port, stored in ``self.port``)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("webhook_listening", port=self.port, tenants=sorted(self.bots))

    async def stop(self) -> None:
        """Refuse new updates, let the ones being handled finish, then close."""
        self._closing = True
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=self.grace)
        if self._runner is not None:
            await self._runner.cleanup()

    async def run(self, stop: asyncio.Event) -> None:
        """rt.background entry: serve until ``stop`` is set."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        if self._closing:
            return web.json_response({"error": "shutting down"}, status=503)
        entry = self.bots.get(request.match_info["tenant"])
        if entry is None:
            return web.json_response({"error": "unknown bot"}, status=404)
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), entry.secret.encode()):
            log.warning("webhook_bad_secret", tenant=entry.tenant)
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict):
                raise ValueError("an Update is a JSON object")
            update = Update.model_validate(data, context={"bot": entry.bot})
        except (ValueError, ValidationError) as exc:
            log.warning("webhook_bad_update", tenant=entry.tenant, error=str(exc)[:300])
            return web.json_response({"error": "malformed update"}, status=400)
        task = asyncio.create_task(self._feed(entry, update))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        # shield: a client hanging up must not cancel the update half-way.
        await asyncio.shield(task)
        return web.json_response({"ok": True})

    async def _feed(self, entry: TenantBot, update: Update) -> None:
        try:
            await entry.dispatcher.feed_update(entry.bot, update)
        except Exception:
            log.exception("update_failed", tenant=entry.tenant, update_id=update.update_id)
