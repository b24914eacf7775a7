"""Delivery channels: Telegram (through the Telegram adapter), email (SMTP), signed webhooks.

A channel either delivers or raises :class:`DeliveryError`, which says whether
trying again can help (``permanent``) and when (``retry_after``). Channels do
not retry themselves: the dispatcher owns retries, so every attempt is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import grpc
import httpx
from tenantry.telegram.v1 import telegram_pb2, telegram_pb2_grpc

from services.kit.auth import mint_service_token
from services.kit.status import decode_error

SIGNATURE_HEADER = "X-Tenantry-Signature"
TIMESTAMP_HEADER = "X-Tenantry-Timestamp"
#: A receiver should refuse webhook calls whose timestamp is further off than this.
WEBHOOK_TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """A failed delivery: ``permanent`` means retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass
class OutgoingMessage:
    """A rendered notification, ready for a channel."""

    tenant: str
    user_id: int
    notification_type: str
    subject: str
    text: str
    html: str
    chat_id: int | None = None
    email: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """Delivers one message, or raises DeliveryError."""

    name: str

    async def deliver(self, message: OutgoingMessage) -> None:
        """Deliver ``message``."""


# -- Telegram -------------------------------------------------------------------------------

class TelegramChannel:
    """Sends through the Telegram adapter's gRPC API (which owns the bot and its limits)."""

    name = "telegram"

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = telegram_pb2_grpc.TelegramServiceStub(channel)

    async def deliver(self, message: OutgoingMessage) -> None:
        """Send ``message.html`` to the user's private chat (or ``chat_id``)."""
        token = mint_service_token("notification", message.tenant)
        request = telegram_pb2.SendMessageRequest(
            chat_id=message.chat_id or message.user_id, text=message.html, parse_mode="HTML")
        try:
            await self._stub.SendMessage(
                request, metadata=(("authorization", f"Bearer {token}"),), timeout=30)
        except grpc.aio.AioRpcError as err:
            raise _from_grpc(err) from None


def _from_grpc(err: grpc.aio.AioRpcError) -> DeliveryError:
    decoded = decode_error(err)
    detail = f"telegram: {decoded.code.name}: {decoded.message}"
    if decoded.code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT,
                        grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND,
                        grpc.StatusCode.UNAUTHENTICATED):
        return DeliveryError(detail, permanent=True)
    return DeliveryError(detail, retry_after=decoded.retry_after)


# -- Email ----------------------------------------------------------------------------------

@dataclass
class SmtpConfig:
    """Where and how to send mail."""

    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "tenantry@localhost"
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    timeout: float = 5.0


class EmailChannel:
    """Sends a text/plain + text/html email over SMTP (aiosmtplib)."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def deliver(self, message: OutgoingMessage) -> None:
        """Mail ``message`` to the user's address."""
        if not message.email:
            raise DeliveryError("no email address in the user's preferences", permanent=True)
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = message.email
        mail["Subject"] = message.subject
        mail.set_content(message.text)
        mail.add_alternative(f"<pre>{message.html}</pre>", subtype="html")
        cfg = self.config
        try:
            await aiosmtplib.send(mail, hostname=cfg.host, port=cfg.port, username=cfg.username,
                                  password=cfg.password, start_tls=cfg.start_tls,
                                  timeout=cfg.timeout)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"smtp: recipient refused: {exc}", permanent=True) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from None


# -- Webhook --------------------------------------------------------------------------------

def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``sha256=`` + HMAC-SHA256(secret, "<timestamp>." + body)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(secret: str, timestamp: str, body: bytes, signature: str, *,
                   now: float | None = None,
                   tolerance: int = WEBHOOK_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: check the signature and that the timestamp is fresh (no replay)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign_webhook(secret, ts, body), signature)


class WebhookChannel:
    """POSTs the notification as JSON, signed with the user's secret and a timestamp."""

    name = "webhook"

    def __init__(self, timeout: float = 5.0, clock: Any = time.time) -> None:
        self.timeout = timeout
        self.clock = clock

    async def deliver(self, message: OutgoingMessage) -> None:
        """POST to the user's webhook URL; 2xx is success, 4xx permanent, else retryable."""
        if not message.webhook_url or not message.webhook_secret:
            raise DeliveryError("no webhook URL or secret in the user's preferences",
                                permanent=True)
        body = json.dumps({
            "tenant": message.tenant, "user_id": message.user_id,
            "notification_type": message.notification_type, "text": message.text,
            "data": message.data,
        }, ensure_ascii=False, sort_keys=True).encode()
        ts = int(self.clock())
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(ts),
                   SIGNATURE_HEADER: sign_webhook(message.webhook_secret, ts, body)}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(message.webhook_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}") from None
        if 200 <= response.status_code < 300:
            return
        permanent = 400 <= response.status_code < 500 and response.status_code != 429
        retry_after = None
        if response.status_code == 429:
            try:
                retry_after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                retry_after = None
        raise DeliveryError(f"webhook: HTTP {response.status_code}", permanent=permanent,
                            retry_after=retry_after)
