"""Delivery: channels, escaping, quiet hours, digests, the rate limit, retries and the log."""

from __future__ import annotations

import json
import time
from datetime import time as dtime

import pytest
from sqlalchemy import text

from services.notification import store
from services.notification.channels import (
    DeliveryError,
    EmailChannel,
    SmtpConfig,
    WebhookChannel,
    verify_webhook,
)
from services.notification.dispatcher import APP, Notifier
from services.notification.drafts import Draft
from services.notification.preferences import Preferences
from services.notification.ratelimit import UserRateLimiter

from .sinks import SmtpSink, WebhookReceiver


async def _prefs(notifier: Notifier, tenant: str, prefs: Preferences) -> None:
    async with notifier.db.session(APP, tenant) as session:
        await store.save_preferences(session, prefs)


async def _logs(engine, tenant: str) -> list:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            f'SELECT * FROM "t_{tenant}__notification".notification_logs ORDER BY id'))).all())


BAN = {"username": "@spammer", "user_id": "42", "chat_name": "Cats", "reason": "spam",
       "timestamp": "2026-03-10 12:00 UTC"}


async def test_telegram_delivery_escapes_injection(db, redis, clock, telegram_channel,
                                                   fake_telegram, engine, tenant_name):  # type: ignore[no-untyped-def]
    notifier = Notifier(db, redis, {"telegram": telegram_channel}, clock=clock)
    params = {**BAN, "username": "<b>evil</b> *bold* [x](http://e.vil)", "chat_name": "A&B"}
    await notifier.submit(tenant_name, [Draft(user_id=501, notification_type="ban_detected",
                                              params=params, language="en")])
    assert await notifier.deliver_due(tenant_name) == 1
    (call,) = fake_telegram.calls_of("sendMessage", ok=True)
    assert call.params["chat_id"] == 501 and call.params["parse_mode"] == "HTML"
    assert "&lt;b&gt;evil&lt;/b&gt; *bold*" in call.params["text"]
    assert "in A&amp;B" in call.params["text"] and "<b>" not in call.params["text"]
    (row,) = await _logs(engine, tenant_name)
    assert (row.status, row.channel, row.template_id, row.attempt) == ("sent", "telegram",
                                                                       "ban_detected", 1)


async def test_telegram_blocked_user_fails_once_without_retry(db, redis, clock, telegram_channel,
                                                              fake_telegram, engine, tenant_name):  # type: ignore[no-untyped-def]
    fake_telegram.blocked_users.add(502)
    notifier = Notifier(db, redis, {"telegram": telegram_channel}, clock=clock)
    await notifier.submit(tenant_name, [Draft(user_id=502, notification_type="system")])
    assert await notifier.deliver_due(tenant_name) == 0
    clock.advance(minutes=10)
    assert await notifier.deliver_due(tenant_name) == 0
    (row,) = await _logs(engine, tenant_name)
    assert row.status == "failed" and "blocked" in row.error_message


async def test_transient_failures_retry_three_times_and_log_each(notifier, recorder, clock,
                                                                 engine, tenant_name):  # type: ignore[no-untyped-def]
    recorder.failures = [DeliveryError("telegram: UNAVAILABLE") for _ in range(5)]
    await notifier.submit(tenant_name, [Draft(user_id=503, notification_type="system")])
    assert await notifier.deliver_due(tenant_name) == 0
    assert await notifier.deliver_due(tenant_name) == 0  # back-off: not due yet
    clock.advance(seconds=2)
    await notifier.deliver_due(tenant_name)
    clock.advance(seconds=4)
    await notifier.deliver_due(tenant_name)
    clock.advance(hours=1)
    await notifier.deliver_due(tenant_name)
    logs = await _logs(engine, tenant_name)
    assert [(r.status, r.attempt) for r in logs] == [("failed", 1), ("failed", 2), ("failed", 3)]
    assert recorder.sent == []


async def test_retry_succeeds_after_a_failure(notifier, recorder, clock, engine, tenant_name):  # type: ignore[no-untyped-def]
    recorder.failures = [DeliveryError("webhook: HTTP 503", retry_after=30)]
    await notifier.submit(tenant_name, [Draft(user_id=504, notification_type="system")])
    await notifier.deliver_due(tenant_name)
    clock.advance(seconds=29)
    assert await notifier.deliver_due(tenant_name) == 0  # retry_after is honoured
    clock.advance(seconds=1)
    assert await notifier.deliver_due(tenant_name) == 1
    assert [r.status for r in await _logs(engine, tenant_name)] == ["failed", "sent"]


async def test_quiet_hours_hold_until_they_end_in_user_timezone(notifier, recorder, clock,
                                                                tenant_name):  # type: ignore[no-untyped-def]
    # 12:00 UTC is 15:00 in Moscow; quiet 14:00-16:30 local.
    await _prefs(notifier, tenant_name, Preferences(
        user_id=505, quiet_hours_start=dtime(14, 0), quiet_hours_end=dtime(16, 30),
        timezone="Europe/Moscow"))
    (held,) = await notifier.submit(tenant_name, [Draft(user_id=505, notification_type="system",
                                                        params={"message": "later"})])
    assert held.status == "held"
    assert held.deliver_after.isoformat() == "2026-03-10T13:30:00+00:00"
    (urgent,) = await notifier.submit(tenant_name, [Draft(
        user_id=505, notification_type="system", priority="urgent", params={"message": "now"})])
    assert urgent.status == "pending"
    assert await notifier.deliver_due(tenant_name) == 1
    assert [m.text.split("\n")[1] for m in recorder.sent] == ["now"]
    clock.advance(minutes=89)
    assert await notifier.deliver_due(tenant_name) == 0
    clock.advance(minutes=1)
    assert await notifier.deliver_due(tenant_name) == 1
    assert [m.text.split("\n")[1] for m in recorder.sent] == ["now", "later"]


async def test_overnight_quiet_hours(notifier, recorder, clock, tenant_name):  # type: ignore[no-untyped-def]
    clock.advance(hours=10)  # 22:00 UTC
    await _prefs(notifier, tenant_name, Preferences(
        user_id=506, quiet_hours_start=dtime(21, 0), quiet_hours_end=dtime(7, 0)))
    (row,) = await notifier.submit(tenant_name, [Draft(user_id=506, notification_type="system")])
    assert row.status == "held" and row.deliver_after.isoformat() == "2026-03-11T07:00:00+00:00"


async def test_digest_batches_into_one_message(notifier, recorder, clock, tenant_name):  # type: ignore[no-untyped-def]
    await _prefs(notifier, tenant_name, Preferences(user_id=507, digest_mode=True,
                                                    digest_interval_hours=2, language="en"))
    for user in ("@a", "@b", "@c"):
        await notifier.submit(tenant_name, [Draft(user_id=507, notification_type="ban_detected",
                                                  params={**BAN, "username": user})])
        clock.advance(minutes=10)
    assert await notifier.deliver_due(tenant_name) == 0
    clock.advance(minutes=90)  # two hours after the first
    assert await notifier.deliver_due(tenant_name) == 1
    (digest,) = recorder.sent
    assert digest.text.startswith("📬 Notification digest: 3")
    assert [line for line in digest.text.splitlines() if line.startswith("🚫")] == [
        "🚫 User @a (ID: 42) was banned in Cats", "🚫 User @b (ID: 42) was banned in Cats",
        "🚫 User @c (ID: 42) was banned in Cats"]


async def test_disabled_types_are_suppressed_unless_urgent(notifier, recorder, tenant_name):  # type: ignore[no-untyped-def]
    await _prefs(notifier, tenant_name, Preferences(user_id=508, enabled_types=["ban_detected"]))
    (row,) = await notifier.submit(tenant_name, [Draft(user_id=508, notification_type="system")])
    assert row.status == "suppressed"
    (row,) = await notifier.submit(tenant_name, [Draft(user_id=508, notification_type="system",
                                                       priority="urgent")])
    assert row.status == "pending"
    assert await notifier.deliver_due(tenant_name) == 1


async def test_rate_limit_queues_the_excess(notifier, recorder, clock, tenant_name):  # type: ignore[no-untyped-def]
    drafts = [Draft(user_id=509, notification_type="system", params={"message": str(i)})
              for i in range(25)]
    await notifier.submit(tenant_name, drafts)
    assert await notifier.deliver_due(tenant_name) == 20
    assert await notifier.deliver_due(tenant_name) == 0  # the rest waits for the next minute
    clock.advance(seconds=60)
    assert await notifier.deliver_due(tenant_name) == 5
    assert sorted(int(m.text.split("\n")[1]) for m in recorder.sent) == list(range(25))


async def test_email_reaches_the_smtp_sink(db, redis, clock, engine, tenant_name):  # type: ignore[no-untyped-def]
    sink = SmtpSink()
    await sink.start()
    try:
        notifier = Notifier(db, redis, {"email": EmailChannel(SmtpConfig(port=sink.port))},
                            clock=clock)
        await _prefs(notifier, tenant_name, Preferences(user_id=510, channels=["email"],
                                                        email="admin@example.test"))
        await notifier.submit(tenant_name, [Draft(user_id=510, notification_type="sync_failed",
                                                  params={"username": "<i>x</i>", "chat_name": "C",
                                                          "error": "no rights"})])
        assert await notifier.deliver_due(tenant_name) == 1
        (mail,) = sink.messages
        assert mail["To"] == "admin@example.test"
        assert mail["Subject"] == "❌ Ошибка синхронизации бана"
        plain = mail.get_body(("plain",)).get_content()
        assert "Причина: no rights" in plain and "<i>x</i>" in plain
        assert "&lt;i&gt;x&lt;/i&gt;" in mail.get_body(("html",)).get_content()
        sink.refuse_rcpt.add("gone@example.test")
        await _prefs(notifier, tenant_name, Preferences(user_id=511, channels=["email"],
                                                        email="gone@example.test"))
        await notifier.submit(tenant_name, [Draft(user_id=511, notification_type="system")])
        assert await notifier.deliver_due(tenant_name) == 0
        assert (await _logs(engine, tenant_name))[-1].status == "failed"
    finally:
        await sink.stop()


async def test_webhook_is_signed_with_timestamp(db, redis, clock, engine, tenant_name):  # type: ignore[no-untyped-def]
    receiver = WebhookReceiver(statuses=[500])
    await receiver.start()
    try:
        secret = "k" * 32
        notifier = Notifier(db, redis, {"webhook": WebhookChannel()}, clock=clock)
        await _prefs(notifier, tenant_name, Preferences(
            user_id=512, channels=["webhook"], webhook_url=receiver.url, webhook_secret=secret))
        await notifier.submit(tenant_name, [Draft(user_id=512, notification_type="system",
                                                  params={"title": "T", "message": "M"})])
        assert await notifier.deliver_due(tenant_name) == 0  # 500: retried later
        clock.advance(seconds=2)
        assert await notifier.deliver_due(tenant_name) == 1
        headers, body = receiver.requests[-1]
        ts, signature = headers["X-Tenantry-Timestamp"], headers["X-Tenantry-Signature"]
        assert verify_webhook(secret, ts, body, signature)
        assert not verify_webhook("wrong" * 8, ts, body, signature)
        assert not verify_webhook(secret, ts, body + b" ", signature)
        assert not verify_webhook(secret, ts, body, signature, now=time.time() + 3600)  # replay
        payload = json.loads(body)
        assert payload["notification_type"] == "system" and payload["text"] == "ℹ️ T\nM"
        assert secret not in body.decode()
    finally:
        await receiver.stop()


@pytest.mark.parametrize("title_len", [1, 4000])
async def test_long_telegram_messages_are_split(db, redis, clock, telegram_channel, fake_telegram,
                                                tenant_name, title_len):  # type: ignore[no-untyped-def]
    notifier = Notifier(db, redis, {"telegram": telegram_channel}, clock=clock,
                        limiter=UserRateLimiter(redis))
    title, message = ("title&" * 1000)[:title_len], ("word & " * 2000)[:4093]
    await notifier.submit(tenant_name, [Draft(user_id=513, notification_type="system",
                                              params={"title": title, "message": message})])
    assert await notifier.deliver_due(tenant_name) == 1
    parts = [c.params["text"] for c in fake_telegram.calls_of("sendMessage", ok=True)]
    assert len(parts) >= 2 and all(len(p) <= 4096 for p in parts)
    assert all(not p.rstrip().endswith("&") and "&amp" not in p[-4:] for p in parts[:-1])
