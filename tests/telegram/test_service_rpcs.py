"""TelegramService over real gRPC (the service built as ``tenantry serve telegram`` builds it)
against the fake Bot API on 127.0.0.1: what each RPC asks Telegram, and how Telegram's
errors reach the caller."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from tenantry.telegram.v1 import telegram_pb2 as pb
from tenantry.telegram.v1 import telegram_pb2_grpc as pb_grpc

from services.kit.settings import reset_settings_cache
from services.kit.status import DecodedStatus, decode_error
from services.telegram import main as telegram_main
from services.telegram_api.fake import BOT_ID, FakeBotApi
from tests.support import bearer, channel, running

TOKEN = "123456:rpc-test-token"
GROUP, ADMIN, MEMBER, BANNED = -100500, 10, 42, 43


def _env(monkeypatch: pytest.MonkeyPatch, base_url: str, *, token: str | None = TOKEN) -> None:
    """The service's environment: the fake as Telegram, one bot token for every tenant."""
    for name in ("TELEGRAM_BOT_TOKENS", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET",
                 "TELEGRAM_MODE"):
        monkeypatch.delenv(name, raising=False)
    if token:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    else:
        monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("TELEGRAM_API_BASE", base_url)
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "3")
    reset_settings_cache()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        server.add_chat(GROUP, title="Cats", members={MEMBER: "member", BANNED: "kicked"},
                        admins=[ADMIN])
        yield server


@pytest.fixture
async def svc(fake: FakeBotApi, redis_url: str, tenant_name: str,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    """TelegramService on a free port; ``call(method, request)`` as a service of the tenant."""
    _env(monkeypatch, fake.base_url)
    async with running("telegram", telegram_main.build) as rt:
        ch = channel(rt)
        stub = pb_grpc.TelegramServiceStub(ch)
        meta = bearer("service:moderation", tenant=tenant_name, role="service", typ="service")

        async def call(method: str, request: Any, metadata: Any = meta) -> Any:
            return await getattr(stub, method)(request, metadata=metadata, timeout=15)

        yield {"call": call, "stub": stub, "fake": fake, "tenant": tenant_name}
        await ch.close()


async def _fails(work: Any) -> DecodedStatus:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await work
    return decode_error(err.value)


# -- happy paths ----------------------------------------------------------------------------

async def test_ban_user_bans_at_telegram_forever_or_until_a_time(svc):  # type: ignore[no-untyped-def]
    fake: FakeBotApi = svc["fake"]
    await svc["call"]("BanUser", pb.BanUserRequest(chat_id=GROUP, user_id=MEMBER))
    assert fake.status_of(GROUP, MEMBER) == "kicked"
    until = int(time.time()) + 3600
    await svc["call"]("BanUser", pb.BanUserRequest(chat_id=GROUP, user_id=77, until_date=until,
                                                    revoke_messages=True))
    assert fake.chats[GROUP].members[77] == {"status": "kicked", "until_date": until}
    forever, timed = fake.calls_of("banChatMember", chat_id=GROUP, ok=True)
    assert (forever.params["user_id"], forever.params["until_date"]) == (MEMBER, 0)
    assert "revoke_messages" not in forever.params  # false is not sent at all
    assert (timed.params["user_id"], timed.params["until_date"],
            timed.params["revoke_messages"]) == (77, until, True)


async def test_unban_only_if_banned_never_removes_a_present_member(svc):  # type: ignore[no-untyped-def]
    fake: FakeBotApi = svc["fake"]
    # Propagating an unban: the banned user is let back in, the present member stays put.
    for user in (BANNED, MEMBER):
        await svc["call"]("UnbanUser", pb.UnbanUserRequest(chat_id=GROUP, user_id=user,
                                                            only_if_banned=True))
    assert fake.status_of(GROUP, BANNED) == "left"
    assert fake.status_of(GROUP, MEMBER) == "member"
    calls = fake.calls_of("unbanChatMember", chat_id=GROUP, ok=True)
    assert [(c.params["user_id"], c.params["only_if_banned"]) for c in calls] == [
        (BANNED, True), (MEMBER, True)]
    # A caller that sets nothing gets the safe unban too (proto3's false default must not kick).
    await svc["call"]("UnbanUser", pb.UnbanUserRequest(chat_id=GROUP, user_id=MEMBER))
    assert fake.calls_of("unbanChatMember")[-1].params["only_if_banned"] is True
    assert fake.status_of(GROUP, MEMBER) == "member"
    # Removing a present member takes an explicit remove_member.
    await svc["call"]("UnbanUser", pb.UnbanUserRequest(chat_id=GROUP, user_id=MEMBER,
                                                        remove_member=True))
    assert fake.calls_of("unbanChatMember")[-1].params["only_if_banned"] is False
    assert fake.status_of(GROUP, MEMBER) == "left"
    calls = len(fake.calls_of("unbanChatMember"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc["call"]("UnbanUser", pb.UnbanUserRequest(chat_id=GROUP, user_id=MEMBER,
                                                            remove_member=True, only_if_banned=True))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(fake.calls_of("unbanChatMember")) == calls  # nothing was sent


async def test_get_chat_member_and_admins(svc):  # type: ignore[no-untyped-def]
    member = (await svc["call"]("GetChatMember", pb.GetChatMemberRequest(
        chat_id=GROUP, user_id=MEMBER))).member
    assert (member.user_id, member.status, member.first_name, member.is_bot,
            member.can_restrict_members) == (MEMBER, "member", f"user{MEMBER}", False, False)
    banned = (await svc["call"]("GetChatMember", pb.GetChatMemberRequest(
        chat_id=GROUP, user_id=BANNED))).member
    assert banned.status == "kicked" and banned.until_date == 0
    stranger = (await svc["call"]("GetChatMember", pb.GetChatMemberRequest(
        chat_id=GROUP, user_id=999))).member
    assert stranger.status == "left"

    admins = (await svc["call"]("GetChatAdmins", pb.GetChatAdminsRequest(chat_id=GROUP))).admins
    by_id = {a.user_id: a for a in admins}
    assert set(by_id) == {ADMIN, BOT_ID}
    assert by_id[ADMIN].status == "administrator" and by_id[ADMIN].can_restrict_members
    assert by_id[BOT_ID].is_bot and by_id[BOT_ID].username == svc["fake"].bot_username
    assert [c.params["chat_id"] for c in svc["fake"].calls_of("getChatAdministrators")] == [GROUP]


async def test_send_message_passes_options_and_returns_the_message_id(svc):  # type: ignore[no-untyped-def]
    fake: FakeBotApi = svc["fake"]
    reply = await svc["call"]("SendMessage", pb.SendMessageRequest(
        chat_id=GROUP, text="<b>banned</b> @spammer", parse_mode="HTML",
        disable_notification=True))
    (sent,) = fake.calls_of("sendMessage", chat_id=GROUP, ok=True)
    assert sent.params["text"] == "<b>banned</b> @spammer"
    assert (sent.params["parse_mode"], sent.params["disable_notification"]) == ("HTML", True)
    assert list(reply.message_ids) == [fake.chats[GROUP].messages[-1]["message_id"]]
    # No parse mode given: none is sent (plain text).
    await svc["call"]("SendMessage", pb.SendMessageRequest(chat_id=MEMBER, text="hi"))
    plain = fake.calls_of("sendMessage", chat_id=MEMBER)[-1]
    assert "parse_mode" not in plain.params and "disable_notification" not in plain.params


async def test_oversized_message_is_split_at_4096_characters(svc):  # type: ignore[no-untyped-def]
    fake: FakeBotApi = svc["fake"]
    lines = [f"line {i:05d} " + "x" * 40 for i in range(200)]  # 10 000+ characters
    text = "\n".join(lines)
    reply = await svc["call"]("SendMessage", pb.SendMessageRequest(chat_id=MEMBER, text=text))
    parts = [c.params["text"] for c in fake.calls_of("sendMessage", chat_id=MEMBER, ok=True)]
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # cut at line ends, nothing lost or doubled
    assert list(reply.message_ids) == [m["message_id"] for m in fake.chats[MEMBER].messages]
    assert len(set(reply.message_ids)) == 3

    # Never inside an HTML entity: 4093 characters, then "&amp;" across the limit.
    html = "a" * 4093 + "&amp;" + "b" * 10
    await svc["call"]("SendMessage", pb.SendMessageRequest(chat_id=MEMBER, text=html,
                                                           parse_mode="HTML"))
    first, second = [c.params["text"] for c in fake.calls_of("sendMessage", chat_id=MEMBER)[3:]]
    assert (first, second) == ("a" * 4093, "&amp;" + "b" * 10)


# -- errors ---------------------------------------------------------------------------------

async def test_bot_not_in_chat_is_permission_denied(svc):  # type: ignore[no-untyped-def]
    fake: FakeBotApi = svc["fake"]
    fake.add_chat(-200, members={MEMBER: "member"}, bot_status="kicked")
    fake.add_chat(-201, members={MEMBER: "member"}, bot_status="left")
    for chat in (-200, -201):
        status = await _fails(svc["call"]("BanUser", pb.BanUserRequest(chat_id=chat,
                                                                        user_id=MEMBER)))
        assert (status.code, status.reason) == (grpc.StatusCode.PERMISSION_DENIED,
                                                "telegram_forbidden")
        assert status.message.startswith("Forbidden: bot ")
    fake.blocked_users.add(MEMBER)
    status = await _fails(svc["call"]("SendMessage", pb.SendMessageRequest(chat_id=MEMBER,
                                                                           text="hi")))
    assert (status.code, status.message) == (grpc.StatusCode.PERMISSION_DENIED,
                                             "Forbidden: bot was blocked by the user")
    assert fake.status_of(-200, MEMBER) == fake.status_of(-201, MEMBER) == "member"


async def test_chat_not_found_and_other_400s_are_failed_precondition(svc):  # type: ignore[no-untyped-def]
    fake: FakeBotApi = svc["fake"]
    fake.remove_chat(GROUP)
    for method, request in (
            ("BanUser", pb.BanUserRequest(chat_id=GROUP, user_id=MEMBER)),
            ("UnbanUser", pb.UnbanUserRequest(chat_id=GROUP, user_id=MEMBER, only_if_banned=True)),
            ("GetChatMember", pb.GetChatMemberRequest(chat_id=GROUP, user_id=MEMBER)),
            ("GetChatAdmins", pb.GetChatAdminsRequest(chat_id=GROUP)),
            ("SendMessage", pb.SendMessageRequest(chat_id=GROUP, text="hi"))):
        status = await _fails(svc["call"](method, request))
        assert (status.code, status.reason, status.message) == (
            grpc.StatusCode.FAILED_PRECONDITION, "telegram_bad_request",
            "Bad Request: chat not found"), method
    fake.add_chat(-300, members={MEMBER: "member"}, bot_status="member")  # no ban rights
    status = await _fails(svc["call"]("BanUser", pb.BanUserRequest(chat_id=-300, user_id=MEMBER)))
    assert status.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "not enough rights" in status.message


async def test_429_short_is_waited_out_long_is_resource_exhausted(svc):  # type: ignore[no-untyped-def]
    fake: FakeBotApi = svc["fake"]
    # retry_after within the client's limit (30 s): waited out, the caller sees success.
    fake.fail_next(1, code=429, retry_after=1, method="banChatMember")
    started = time.monotonic()
    await svc["call"]("BanUser", pb.BanUserRequest(chat_id=GROUP, user_id=MEMBER))
    assert time.monotonic() - started >= 0.9
    assert [c.status for c in fake.calls_of("banChatMember")] == [429, 200]
    assert fake.status_of(GROUP, MEMBER) == "kicked"
    # Longer than that: RESOURCE_EXHAUSTED at once, with retry_after for the caller.
    # (Last in this test: the bot now stays paused for those 120 s, as Telegram asks.)
    fake.fail_next(1, code=429, retry_after=120, method="sendMessage")
    started = time.monotonic()
    status = await _fails(svc["call"]("SendMessage", pb.SendMessageRequest(chat_id=GROUP,
                                                                           text="hi")))
    assert time.monotonic() - started < 5
    assert (status.code, status.reason, status.retry_after) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED, "telegram_flood", 120)
    assert len(fake.calls_of("sendMessage")) == 1


async def test_transient_failures_become_unavailable(svc):  # type: ignore[no-untyped-def]
    svc["fake"].fail_next(3, code=502, method="getChatMember", html=True)
    status = await _fails(svc["call"]("GetChatMember", pb.GetChatMemberRequest(chat_id=GROUP,
                                                                               user_id=MEMBER)))
    assert (status.code, status.reason) == (grpc.StatusCode.UNAVAILABLE, "telegram_unavailable")
    assert len(svc["fake"].calls_of("getChatMember")) == 3  # every attempt was made
    assert TOKEN not in status.message


async def test_bad_input_is_invalid_argument_with_every_field(svc):  # type: ignore[no-untyped-def]
    status = await _fails(svc["call"]("SendMessage", pb.SendMessageRequest(
        chat_id=0, text="", parse_mode="Markdown")))
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in status.violations} == {"chat_id", "text", "parse_mode"}
    status = await _fails(svc["call"]("SendMessage", pb.SendMessageRequest(
        chat_id=GROUP, text="x" * 65537)))
    assert [v.field for v in status.violations] == ["text"]
    for method, request in (("BanUser", pb.BanUserRequest(chat_id=0, user_id=-5)),
                            ("UnbanUser", pb.UnbanUserRequest(chat_id=0, user_id=0)),
                            ("GetChatMember", pb.GetChatMemberRequest(chat_id=0, user_id=-1))):
        status = await _fails(svc["call"](method, request))
        assert status.code == grpc.StatusCode.INVALID_ARGUMENT, method
        assert {v.field for v in status.violations} == {"chat_id", "user_id"}, method
    status = await _fails(svc["call"]("GetChatAdmins", pb.GetChatAdminsRequest()))
    assert [v.field for v in status.violations] == ["chat_id"]
    assert svc["fake"].calls == []  # nothing reached Telegram


async def test_callers_without_a_token_or_role_are_refused(svc):  # type: ignore[no-untyped-def]
    request = pb.BanUserRequest(chat_id=GROUP, user_id=MEMBER)
    status = await _fails(svc["call"]("BanUser", request, metadata=()))
    assert (status.code, status.reason) == (grpc.StatusCode.UNAUTHENTICATED, "missing_token")
    status = await _fails(svc["call"]("BanUser", request,
                                      metadata=(("authorization", "Bearer not-a-jwt"),)))
    assert status.code == grpc.StatusCode.UNAUTHENTICATED
    status = await _fails(svc["call"]("BanUser", request, metadata=bearer(role="admin")))
    assert status.code == grpc.StatusCode.UNAUTHENTICATED  # no tenant: no bot to pick
    status = await _fails(svc["call"]("BanUser", request,
                                      metadata=bearer(tenant=svc["tenant"], role="member")))
    assert (status.code, status.reason) == (grpc.StatusCode.PERMISSION_DENIED, "role_required")
    assert svc["fake"].calls == []
    # A tenant admin may.
    await svc["call"]("BanUser", request, metadata=bearer(tenant=svc["tenant"], role="admin"))
    assert svc["fake"].status_of(GROUP, MEMBER) == "kicked"


async def test_no_bot_token_for_the_tenant_is_failed_precondition(  # type: ignore[no-untyped-def]
        fake, redis_url, tenant_name, monkeypatch):
    _env(monkeypatch, fake.base_url, token=None)
    async with running("telegram", telegram_main.build) as rt:
        ch = channel(rt)
        stub = pb_grpc.TelegramServiceStub(ch)
        meta = bearer("service:moderation", tenant=tenant_name, role="service", typ="service")
        status = await _fails(stub.SendMessage(pb.SendMessageRequest(chat_id=GROUP, text="hi"),
                                               metadata=meta, timeout=15))
        await ch.close()
    assert (status.code, status.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                            "bot_token_missing")
    assert tenant_name in status.message
    assert fake.calls == []
