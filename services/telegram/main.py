"""The Telegram adapter process: ``tenantry serve telegram`` (optionally for one tenant).

It serves TelegramService (gRPC, port 50055) and the tenants' bots: webhooks on
port 8081 at /telegram/{tenant}/webhook, or long polling with
TELEGRAM_MODE=polling for local use. On start, with TELEGRAM_WEBHOOK_URL set,
each bot's webhook is registered with its secret and allowed_updates (which
include chat_member, which Telegram only sends when asked).
"""

from __future__ import annotations

import asyncio

import structlog
from tenantry.moderation.v1 import ban_events_pb2, subscriptions_pb2, sync_pb2, users_pb2
from tenantry.telegram.v1 import telegram_pb2, telegram_pb2_grpc

from services.kit.service import Runtime
from services.telegram_api import BotApiClient, BotClientFactory
from services.telegram_api.limits import shared_limiter

from .bot import make_bot, make_dispatcher
from .config import TelegramSettings
from .handlers import ALLOWED_UPDATES
from .moderation import GrpcModerationClient
from .servicer import TelegramServicer
from .webhook import TenantBot, WebhookServer

log = structlog.get_logger("tenantry.telegram")

DEFAULT_PORT = 50055


def build(rt: Runtime, tenant: str | None = None) -> None:
    """Serve TelegramService and the bots of ``tenant`` (or of every configured tenant)."""
    config = TelegramSettings()
    base_url = rt.settings.telegram_api_base

    async def token_for(name: str) -> str:
        return config.token_for(name)

    factory = BotClientFactory(token_for, base_url=base_url, redis=rt.redis)
    rt.add_servicer(telegram_pb2_grpc.add_TelegramServiceServicer_to_server,
                    TelegramServicer(factory), telegram_pb2.DESCRIPTOR.services_by_name["TelegramService"])
    rt.server.on_stop(factory.aclose)

    tenants = [tenant] if tenant else sorted(config.tokens())
    if not tenants:
        log.info("no_bots_configured")
        return
    channel = rt.channel(rt.settings.moderation_addr,
                         subscriptions_pb2.DESCRIPTOR.services_by_name["SubscriptionService"],
                         ban_events_pb2.DESCRIPTOR.services_by_name["BanEventService"],
                         users_pb2.DESCRIPTOR.services_by_name["UserService"],
                         sync_pb2.DESCRIPTOR.services_by_name["SyncService"])
    moderation = GrpcModerationClient(channel)
    # The bots' own Bot API clients (admin lookups in the command handlers).
    # One set of limits per bot, in Redis: the replies, the admin lookups and the sync
    # workers' calls of a bot all count against the same ~30/s.
    limiters = {name: shared_limiter(rt.redis, name, config.token_for(name)) for name in tenants}
    apis = {name: BotApiClient(config.token_for(name), base_url=base_url, limiter=limiters[name])
            for name in tenants}
    bots = {
        name: TenantBot(name, make_bot(config.token_for(name), base_url, limiter=limiters[name]),
                        make_dispatcher(name, rt.redis, moderation, apis[name],
                                        commands_per_minute=config.telegram_commands_per_minute,
                                        admin_cache_seconds=config.telegram_admin_cache_seconds),
                        config.webhook_secret_for(name))
        for name in tenants
    }

    if config.telegram_mode == "polling":
        for entry in bots.values():
            rt.background(f"telegram:poll:{entry.tenant}", _poller(entry))
    else:
        server = WebhookServer(bots, host=config.telegram_webhook_host,
                               port=config.telegram_webhook_port,
                               grace_seconds=rt.settings.shutdown_grace_seconds)
        rt.background("telegram:webhook", server.run)
        if config.telegram_webhook_url:
            rt.background("telegram:set_webhook", _register(bots, config.telegram_webhook_url))

    async def close_bots() -> None:
        for entry in bots.values():
            # Activity reports still in flight go out before the channel closes.
            await entry.dispatcher["update_guard"].drain()
            await entry.bot.session.close()
        for api in apis.values():
            await api.aclose()

    rt.server.on_stop(close_bots)


def _poller(entry: TenantBot):  # type: ignore[no-untyped-def]
    async def poll(stop: asyncio.Event) -> None:
        await entry.bot.delete_webhook()
        if stop.is_set():
            return  # told to stop while starting: polling never begins
        task = asyncio.create_task(entry.dispatcher.start_polling(
            entry.bot, allowed_updates=ALLOWED_UPDATES, handle_signals=False,
            close_bot_session=False))
        # aiogram hands each update to a task of its own, and stop_polling does not wait
        # for them: the ones under way are waited for here (the runtime cancels us after
        # SHUTDOWN_GRACE_SECONDS), so a reply being sent goes out before the bot's
        # session and Redis are closed.
        handling: set[asyncio.Task[object]] = getattr(entry.dispatcher, "_handle_update_tasks",
                                                      set())
        try:
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if task.done() and not stop.is_set():
                # Polling ended by itself (aiogram's start_polling raises at once when the
                # bot cannot even get its own profile, e.g. a revoked token): say so now, and
                # let the runtime's supervisor start it again with backoff.
                stopping.cancel()
                task.result()
                return
            try:
                await entry.dispatcher.stop_polling()
            except RuntimeError:  # stopped before polling began: nothing was handed out
                task.cancel()
            await asyncio.wait([task])
            if handling:
                await asyncio.wait(set(handling))
        except asyncio.CancelledError:
            for pending in (task, *handling):
                pending.cancel()
            raise
        if not task.cancelled():
            task.result()  # a polling failure surfaces (and is logged) here
    return poll


def _register(bots: dict[str, TenantBot], public_url: str):  # type: ignore[no-untyped-def]
    async def register(stop: asyncio.Event) -> None:
        for entry in bots.values():
            await entry.bot.set_webhook(
                f"{public_url.rstrip('/')}/telegram/{entry.tenant}/webhook",
                secret_token=entry.secret, allowed_updates=ALLOWED_UPDATES)
            log.info("webhook_registered", tenant=entry.tenant)
    return register
