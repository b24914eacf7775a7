"""Bus consumers (group "notification"): moderation events become queued notifications.

``user.settings_updated`` is the exception: it queues nothing but mirrors the
moderation user's settings (notifications on/off, language, timezone) into the
user's preferences, the newest change winning (``updated_at``). Every draft made
from a moderation event has origin ``moderation``, which "notifications off" silences.

Each handler records the event id with :func:`mark_processed` in the same
transaction as the queue rows it adds, so a redelivered event adds nothing.
``sync.failed`` carries either a SyncFinished (some chats failed) or a
SyncRightsMissing (the bot lacks rights in one chat); ``payload.Is`` tells which.

A sync run can close more than once (RetrySync, ConfirmSync and DeclineSync reopen
it) and every closing's SyncFinished lists all of the run's finished rows again, so
the event id alone does not make sync notices idempotent. Each (sync, target chat,
outcome) is also recorded in ``processed_events`` (consumer :data:`SYNC_NOTICE`), in
the same transaction as its queue row: an admin hears once that the ban landed in
their chat and once that it failed there. Skipped chats (already banned, user not
found, auto sync off, declined) get nothing: the seed's notification types have no
"skipped" message and nothing happened in those chats.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from tenantry.moderation.v1 import events_pb2
from tenantry.notification.v1 import notification_pb2

from services.kit.bus.events import EventEnvelope, unpack
from services.kit.bus.outbox import mark_processed
from services.kit.errors import InvalidArgument, Validator

from . import store
from .dispatcher import APP, Notifier
from .drafts import ORIGIN_MODERATION as MODERATION
from .drafts import Draft, validate_draft
from .templates import supported_language

log = structlog.get_logger("tenantry.notification.consumers")

GROUP = "notification"
#: ``processed_events.consumer`` of the per-chat sync notices (keys from :func:`sync_notice_key`).
SYNC_NOTICE = "notification.sync_chat"
#: ``processed_events.consumer`` of "your subscriptions of a chat ended": one per
#: (cleanup, admin, chat), however many subscriptions that cleanup ended.
ENDED_NOTICE = "notification.subscriptions_ended"
#: subscription.deleted reasons the admin did not cause, and so is told of.
ENDED_UNASKED = ("chat_not_found", "bot_removed")

#: (tenant, tracked user id) → [(admin_user_id, admin_chat_id)] of the user's subscribers.
SubscriberLookup = Callable[[str, int], Awaitable[list[tuple[int, int]]]]


async def no_subscribers(_tenant: str, _user_id: int) -> list[tuple[int, int]]:
    """A lookup for deployments without the moderation app."""
    return []


def _name(username: str, user_id: int) -> str:
    return f"@{username}" if username else f"id {user_id}"


def _when(envelope: EventEnvelope) -> str:
    return envelope.timestamp.ToDatetime().strftime("%Y-%m-%d %H:%M UTC")


def sync_notice_key(sync_id: str, chat_id: int, outcome: str) -> str:
    """The ``processed_events`` key of one per-chat sync notice (the schema is the tenant's)."""
    return f"{sync_id}:{chat_id}:{outcome}"


def chat_outcomes(p: events_pb2.SyncFinished) -> list[tuple[int, int, str]]:
    """(target chat, admin, "success" | "failed") of every chat whose admin is to be told.

    Only ``synced_chat_ids`` got the ban; a chat that is neither there nor in ``errors``
    was skipped and is left out.
    """
    # "Ban synced to your chat" (seed §6.1) is news for bans and kicks; a propagated
    # unban or restriction succeeding is not told (a failure of any action is).
    synced = set(p.synced_chat_ids) if p.event_type in ("", "ban", "kick") else set()
    outcomes = []
    for chat_id, admin in sorted(p.chat_admins.items()):
        if not admin:
            continue
        if chat_id in synced:
            outcomes.append((chat_id, admin, "success"))
        elif chat_id in p.errors:
            outcomes.append((chat_id, admin, "failed"))
    return outcomes


class EventHandlers:
    """Turns each topic's payload into drafts and queues them idempotently."""

    def __init__(self, notifier: Notifier, subscribers: SubscriberLookup = no_subscribers) -> None:
        self.notifier = notifier
        self.subscribers = subscribers

    def handlers(self) -> dict[str, Callable[[EventEnvelope], Awaitable[None]]]:
        """Topic → handler, for BusConsumer / Runtime.consume."""
        return {
            "subscription.created": self.subscription_created,
            "subscription.limit_reached": self.limit_reached,
            "subscription.deleted": self.subscription_deleted,
            "ban.detected": self.ban_detected,
            "sync.completed": self.sync_finished,
            "sync.failed": self.sync_failed,
            "sync.partial": self.sync_finished,
            "notification.send": self.send_requested,
            "user.settings_updated": self.user_settings_updated,
        }

    async def _queue(self, envelope: EventEnvelope, drafts: list[Draft]) -> None:
        async with self.notifier.db.session(APP, envelope.tenant) as session:
            if not await mark_processed(session, GROUP, envelope.event_id):
                return  # a redelivery: already queued
            for draft in drafts:
                await self.notifier.queue(session, draft, source_event_id=envelope.event_id)

    async def subscription_created(self, envelope: EventEnvelope) -> None:
        """Tell the admin the subscription exists."""
        p = unpack(envelope, events_pb2.SubscriptionCreated)
        await self._queue(envelope, [Draft(
            user_id=p.admin_user_id, notification_type="subscription_created", origin=MODERATION,
            params={"username": _name("", p.tracked_user_id), "user_id": str(p.tracked_user_id),
                    "chat_name": str(p.admin_chat_id), "chat_id": str(p.admin_chat_id),
                    "subscription_id": str(p.subscription_id),
                    "admin_user_id": str(p.admin_user_id), "timestamp": _when(envelope)})])

    async def limit_reached(self, envelope: EventEnvelope) -> None:
        """Tell the admin the subscription limit refused a subscription."""
        p = unpack(envelope, events_pb2.SubscriptionLimitReached)
        await self._queue(envelope, [Draft(
            user_id=p.admin_user_id, notification_type="limit_reached", origin=MODERATION,
            params={"limit": str(p.limit), "username": _name("", p.tracked_user_id),
                    "user_id": str(p.tracked_user_id), "chat_id": str(p.admin_chat_id),
                    "chat_name": str(p.admin_chat_id), "timestamp": _when(envelope)})])

    async def subscription_deleted(self, envelope: EventEnvelope) -> None:
        """Subscriptions ended by a cleanup the admin did not ask for (the bot removed from
        the chat, the chat gone): tell the admin once per chat, however many ended.

        Deletes the admin made (or a chat or admin they removed) are not told; neither
        are events without a ``cleanup_id``, which predate it (a consumer group created
        later reads the stream from its start and must not replay old news).
        """
        p = unpack(envelope, events_pb2.SubscriptionDeleted)
        if p.reason not in ENDED_UNASKED or not p.cleanup_id or not p.admin_user_id:
            return
        draft = Draft(user_id=p.admin_user_id, notification_type="subscriptions_ended",
                      origin=MODERATION,
                      params={"chat_name": str(p.admin_chat_id), "chat_id": str(p.admin_chat_id),
                              "timestamp": _when(envelope)})
        async with self.notifier.db.session(APP, envelope.tenant) as session:
            if not await mark_processed(session, GROUP, envelope.event_id):
                return  # a redelivery: already queued
            if not await mark_processed(session, ENDED_NOTICE, f"{p.cleanup_id}:"
                                        f"{p.admin_user_id}:{p.admin_chat_id}"):
                return  # another subscription of the same cleanup told it
            await self.notifier.queue(session, draft, source_event_id=envelope.event_id)

    async def ban_detected(self, envelope: EventEnvelope) -> None:
        """Tell every admin subscribed to the user that the user was banned somewhere."""
        p = unpack(envelope, events_pb2.BanDetected)
        if p.event_type not in ("ban", "kick"):
            await self._queue(envelope, [])  # only bans and kicks are news to subscribers
            return
        admins = sorted({admin for admin, _chat in await self.subscribers(envelope.tenant,
                                                                          p.user_id)})
        params = {"username": _name(p.username, p.user_id), "user_id": str(p.user_id),
                  "chat_name": p.chat_title or str(p.chat_id), "chat_id": str(p.chat_id),
                  "reason": p.reason, "event_type": p.event_type,
                  "initiator_user_id": str(p.initiator_user_id or ""),
                  "timestamp": p.event_timestamp.ToDatetime().strftime("%Y-%m-%d %H:%M UTC")}
        await self._queue(envelope, [Draft(user_id=a, notification_type="ban_detected",
                                           params=dict(params), origin=MODERATION)
                                     for a in admins])

    async def sync_finished(self, envelope: EventEnvelope) -> None:
        """Per target chat: sync_success to its admin, or sync_failed with the error.

        Skipped chats get nothing, and a (sync, chat, outcome) already told by an
        earlier closing of the run is not told again.
        """
        p = unpack(envelope, events_pb2.SyncFinished)
        # The engine always sets sync_id; without one only redeliveries can be recognised.
        scope = p.sync_id or envelope.event_id
        async with self.notifier.db.session(APP, envelope.tenant) as session:
            if not await mark_processed(session, GROUP, envelope.event_id):
                return  # a redelivery: already queued
            for chat_id, admin, outcome in chat_outcomes(p):
                # sync.partial and sync.completed are separate streams, so a retried
                # chat's success can be read before the closing that reported its
                # failure; that failure is stale news then.
                if outcome == "failed" and await store.is_processed(
                        session, SYNC_NOTICE, sync_notice_key(scope, chat_id, "success")):
                    continue
                if not await mark_processed(session, SYNC_NOTICE,
                                            sync_notice_key(scope, chat_id, outcome)):
                    continue  # told at an earlier closing of this run
                base = {"username": _name(p.username, p.user_id), "user_id": str(p.user_id),
                        "chat_name": str(chat_id), "chat_id": str(chat_id),
                        "timestamp": _when(envelope)}
                if outcome == "failed":
                    draft = Draft(user_id=admin, notification_type="sync_failed",
                                  params={**base, "error": p.errors[chat_id]}, origin=MODERATION)
                else:
                    draft = Draft(user_id=admin, notification_type="sync_success",
                                  params={**base, "source_chat_name": str(p.source_chat_id)},
                                  origin=MODERATION)
                await self.notifier.queue(session, draft, source_event_id=envelope.event_id)

    async def sync_failed(self, envelope: EventEnvelope) -> None:
        """SyncRightsMissing → tell that chat's admin; SyncFinished → as sync_finished."""
        if envelope.payload.Is(events_pb2.SyncRightsMissing.DESCRIPTOR):
            p = unpack(envelope, events_pb2.SyncRightsMissing)
            draft = Draft(
                user_id=p.admin_user_id, notification_type="sync_failed",
                params={"username": _name("", p.user_id), "user_id": str(p.user_id),
                        "chat_name": str(p.chat_id), "chat_id": str(p.chat_id),
                        "error": p.error, "timestamp": _when(envelope)}, origin=MODERATION)
            async with self.notifier.db.session(APP, envelope.tenant) as session:
                if not await mark_processed(session, GROUP, envelope.event_id):
                    return  # a redelivery: already queued
                # This early notice is the failure notice of that chat: the run's closing
                # event, which lists the chat in ``errors`` again, must not repeat it.
                if p.sync_id and not await mark_processed(
                        session, SYNC_NOTICE, sync_notice_key(p.sync_id, p.chat_id, "failed")):
                    return
                if p.admin_user_id:
                    await self.notifier.queue(session, draft, source_event_id=envelope.event_id)
            return
        await self.sync_finished(envelope)

    async def user_settings_updated(self, envelope: EventEnvelope) -> None:
        """Mirror a moderation user's settings into their preferences, newest change only.

        notifications_enabled=false silences every notification of moderation
        origin to that user (urgent ones too); language and timezone become the
        preferences' (templates, quiet hours). An event older than the one applied
        last changes nothing; so does a redelivery.
        """
        p = unpack(envelope, events_pb2.UserSettingsUpdated)
        # The producer always dates its change; the envelope's time is the next best order.
        stamp = p.updated_at if p.HasField("updated_at") else envelope.timestamp
        language = supported_language(p.language)
        timezone = _zone(p.timezone)
        async with self.notifier.db.session(APP, envelope.tenant) as session:
            if not await mark_processed(session, GROUP, envelope.event_id):
                return  # a redelivery: already applied
            if p.user_id <= 0:
                # Retrying cannot fix it (moderation never sends one): handled, said why.
                log.warning("user_settings_invalid", event_id=envelope.event_id, user_id=p.user_id)
                return
            applied = await store.apply_user_settings(
                session, user_id=p.user_id, notifications_enabled=p.notifications_enabled,
                language=language, timezone=timezone, updated_at=stamp.ToDatetime(tzinfo=UTC))
        if not applied:
            log.info("user_settings_stale", event_id=envelope.event_id, user_id=p.user_id)
        elif (p.language and language is None) or (p.timezone and timezone is None):
            # Valid in moderation, unknown here: keep what the preferences had.
            log.info("user_settings_partly_kept", event_id=envelope.event_id, user_id=p.user_id,
                     language=p.language, timezone=p.timezone)

    async def send_requested(self, envelope: EventEnvelope) -> None:
        """A service asked for a notification over the bus (payload SendNotificationRequest)."""
        request = unpack(envelope, notification_pb2.SendNotificationRequest)
        draft = draft_from_proto(request)
        v = Validator()
        validate_draft(v, draft)
        try:
            v.raise_if_any()
        except InvalidArgument as exc:
            # Retrying cannot fix it: record it as handled and say why.
            log.warning("notification_request_invalid", event_id=envelope.event_id,
                        error=exc.message)
            await self._queue(envelope, [])
            return
        await self._queue(envelope, [draft])


def _zone(name: str) -> str | None:
    """``name`` if this service knows the IANA zone, else None."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def draft_from_proto(request: notification_pb2.SendNotificationRequest) -> Draft:
    """The domain Draft of a SendNotificationRequest."""
    return Draft(user_id=request.user_id, notification_type=request.notification_type,
                 params=dict(request.params), template_id=request.template_id,
                 channel=request.channel, priority=request.priority or "normal",
                 language=request.language,
                 chat_id=request.chat_id if request.HasField("chat_id") else None)
