"""The bot through its webhook, against the fake Bot API, with an in-memory moderation app."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.kit.errors import AlreadyExists
from services.telegram.bot import make_bot, make_dispatcher
from services.telegram.moderation import BanReport, Page, SeenUser
from services.telegram.webhook import SECRET_HEADER, TenantBot, WebhookServer
from services.telegram_api import BotApiClient
from tests.fakes.telegram_bot_api import FakeBotApi

GROUP, ADMIN, MEMBER, SPAMMER = -1001, 10, 20, 30
SECRET = "s3cret-token"
_ids = itertools.count(1000)


class FakeWithCallbacks(FakeBotApi):
    """The shared fake plus the two methods inline pagination needs."""

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": int(params.get("message_id") or 0), "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "supergroup"},
                "text": params["text"]}


class MemoryModeration:
    """The ModerationClient protocol in memory (dedups ban events by event_id, as the app does)."""

    def __init__(self) -> None:
        self.subs: dict[tuple[int, int], list[int]] = {}
        self.bans: dict[str, BanReport] = {}
        self.joins: list[tuple[int, int, str]] = []
        self.seen: list[SeenUser] = []
        self.bot_removals: list[tuple[int, str]] = []

    async def subscribe(self, tenant: str, admin: int, chat: int, tracked: int) -> None:
        users = self.subs.setdefault((admin, chat), [])
        if tracked in users:
            raise _grpc_error("ALREADY_EXISTS")
        users.append(tracked)

    async def unsubscribe(self, tenant: str, admin: int, chat: int, tracked: int) -> bool:
        users = self.subs.get((admin, chat), [])
        if tracked in users:
            users.remove(tracked)
            return True
        return False

    async def subscriptions(self, tenant: str, admin: int, chat: int, token: str) -> Page:
        users = self.subs.get((admin, chat), [])
        start = int(token or 0)
        nxt = str(start + 10) if start + 10 < len(users) else ""
        return Page([str(u) for u in users[start:start + 10]], nxt)

    async def history(self, tenant: str, user_id: int, token: str) -> Page:
        return Page([f"{b.event_type} chat {b.chat_id}" for b in self.bans.values()
                     if b.user_id == user_id], "")

    async def stats(self, tenant: str, admin: int) -> dict[str, int]:
        active = sum(len(v) for (a, _), v in self.subs.items() if a == admin)
        return {"active": active, "remaining": 100 - active, "limit": 100, "total": active}

    async def settings(self, tenant: str, user_id: int) -> dict[str, str]:
        return {"notifications": "on", "language": "ru", "timezone": "<UTC>"}

    async def report_ban(self, tenant: str, report: BanReport) -> bool:
        if report.event_id in self.bans:
            return False
        self.bans[report.event_id] = report
        return True

    async def enforce_join(self, tenant: str, chat: int, user: int, *, join_ref: str) -> str:
        self.joins.append((chat, user, join_ref))
        return "not_banned"

    async def users_seen(self, tenant: str, users: list[SeenUser]) -> None:
        self.seen.extend(users)

    async def bot_removed(self, tenant: str, chat: int, status: str) -> int:
        self.bot_removals.append((chat, status))
        return 1


def _grpc_error(code: str) -> Exception:
    """A real grpc.aio.AioRpcError carrying the kit's status details."""
    import grpc

    from services.kit.status import to_rpc_status

    status = to_rpc_status(AlreadyExists("exists"))
    return grpc.aio.AioRpcError(getattr(grpc.StatusCode, code), grpc.aio.Metadata(),
                                grpc.aio.Metadata(*status.trailing_metadata), status.details)


@pytest.fixture
async def env(redis: Any, tenant_name: str) -> AsyncIterator[dict[str, Any]]:
    fake = FakeWithCallbacks()
    await fake.start()
    fake.add_chat(GROUP, title="Cats", members={MEMBER: "member", SPAMMER: "member"},
                  admins=[ADMIN])
    moderation = MemoryModeration()
    bot = make_bot("123:abc", fake.base_url, backoff=0.01)
    api = BotApiClient("123:abc", base_url=fake.base_url, backoff_base=0.01)
    dp = make_dispatcher(tenant_name, redis, moderation, api, commands_per_minute=30)
    server = WebhookServer({tenant_name: TenantBot(tenant_name, bot, dp, SECRET)},
                           host="127.0.0.1", port=0)
    await server.start()
    async with aiohttp.ClientSession() as http:
        yield {"fake": fake, "mod": moderation, "http": http, "tenant": tenant_name,
               "url": f"http://127.0.0.1:{server.port}/telegram/{tenant_name}/webhook"}
    await server.stop()
    await bot.session.close()
    await api.aclose()
    await fake.stop()


def _user(uid: int, lang: str = "en", username: str | None = None) -> dict[str, Any]:
    user = {"id": uid, "is_bot": False, "first_name": f"u{uid}", "language_code": lang}
    if username:
        user["username"] = username
    return user


def message(text: str, *, uid: int = ADMIN, chat: int = GROUP, lang: str = "en",
            reply_to: dict[str, Any] | None = None, username: str | None = None) -> dict[str, Any]:
    """An Update with a message, as the Bot API documents it."""
    chat_obj = {"id": chat, "type": "private" if chat > 0 else "supergroup"}
    if chat < 0:
        chat_obj["title"] = "Cats"
    msg: dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()), "chat": chat_obj,
                           "from": _user(uid, lang, username), "text": text}
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0,
                            "length": len(text.split()[0])}]
    if reply_to:
        msg["reply_to_message"] = reply_to
    return {"update_id": next(_ids), "message": msg}


async def post(env: dict[str, Any], update: dict[str, Any] | str,
               secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    kwargs = {"data": update} if isinstance(update, str) else {"json": update}
    async with env["http"].post(env["url"], headers=headers, **kwargs) as response:
        return response.status


def replies(env: dict[str, Any], chat: int = GROUP) -> list[str]:
    return [c.params["text"] for c in env["fake"].calls_of("sendMessage", chat_id=chat, ok=True)]


async def test_forged_secret_gets_401_and_nothing_happens(env):  # type: ignore[no-untyped-def]
    assert await post(env, message("/start"), secret="forged") == 401
    assert await post(env, message("/start"), secret=None) == 401
    assert replies(env) == []


async def test_malformed_update_gets_400_and_the_bot_keeps_running(env):  # type: ignore[no-untyped-def]
    assert await post(env, "{not json") == 400
    assert await post(env, '{"update_id": "x", "message": 5}') == 400
    assert await post(env, "[1, 2]") == 400
    assert await post(env, message("/start")) == 200
    assert len(replies(env)) == 1


async def test_start_and_help_in_the_users_language(env):  # type: ignore[no-untyped-def]
    await post(env, message("/start", lang="ru"))
    await post(env, message("/help", lang="en"))
    first, second = replies(env)
    assert first.startswith("👋 Я бот") and second.startswith("Commands:")


async def test_subscribe_by_username_id_and_reply(env):  # type: ignore[no-untyped-def]
    # The bot learns @spammer from a message the spammer wrote.
    spam = message("buy now", uid=SPAMMER, username="spammer")
    await post(env, spam)
    await post(env, message("/subscribe @spammer"))
    await post(env, message(f"/subscribe {MEMBER}"))
    await post(env, message("/subscribe", reply_to=spam["message"]))  # already subscribed
    await post(env, message("/subscribe @nobody"))
    await post(env, message("/subscribe bad arg"))
    assert env["mod"].subs[(ADMIN, GROUP)] == [SPAMMER, MEMBER]
    assert replies(env) == ["✅ Subscribed to @spammer", f"✅ Subscribed to {MEMBER}",
                            "You already follow @spammer",
                            "I don't know @nobody yet. Give a numeric id or reply to their message",
                            "Usage: /subscribe &lt;@username | id | reply to a message&gt;"]
    await post(env, message(f"/unsubscribe {MEMBER}", lang="ru"))
    assert replies(env)[-1] == f"Подписка на {MEMBER} удалена"


async def test_non_admin_is_refused_politely_and_admin_list_is_cached(env):  # type: ignore[no-untyped-def]
    await post(env, message(f"/subscribe {SPAMMER}", uid=MEMBER))
    await post(env, message("/list", uid=MEMBER, lang="ru"))
    assert replies(env) == ["Sorry, only the chat's admins can use this command",
                            "Извините, эта команда доступна только администраторам чата"]
    assert env["mod"].subs == {}
    assert len(env["fake"].calls_of("getChatAdministrators")) == 1  # cached


async def test_unknown_command_gets_a_hint(env):  # type: ignore[no-untyped-def]
    await post(env, message("/frobnicate now"))
    await post(env, message("/list", chat=ADMIN))  # a group command in a private chat
    assert replies(env) == ["Unknown command. /help lists the commands"]
    assert replies(env, chat=ADMIN) == ["Use this command in a group where you are an admin"]


async def test_list_paginates_with_inline_buttons(env):  # type: ignore[no-untyped-def]
    env["mod"].subs[(ADMIN, GROUP)] = list(range(100, 125))
    await post(env, message("/list"))
    (call,) = env["fake"].calls_of("sendMessage", ok=True)
    assert call.params["text"].splitlines()[1:] == [str(i) for i in range(100, 110)]
    markup = call.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    button = markup["inline_keyboard"][0][0]
    assert button["text"] == "Next ▶" and button["callback_data"].startswith("pg:")
    query = {"update_id": next(_ids), "callback_query": {
        "id": "cb1", "from": _user(ADMIN), "chat_instance": "ci", "data": button["callback_data"],
        "message": {"message_id": 1, "date": int(time.time()),
                    "chat": {"id": GROUP, "type": "supergroup"}, "text": "x"}}}
    assert await post(env, query) == 200
    (edit,) = env["fake"].calls_of("editMessageText", ok=True)
    assert edit.params["text"].splitlines()[1:] == [str(i) for i in range(110, 120)]
    stranger = dict(query, update_id=next(_ids),
                    callback_query={**query["callback_query"], "from": _user(MEMBER)})
    await post(env, stranger)
    assert len(env["fake"].calls_of("editMessageText")) == 1  # only the admin turns pages


async def test_history_stats_and_settings(env):  # type: ignore[no-untyped-def]
    await post(env, message(f"/history {SPAMMER}"))
    await post(env, message("/stats"))
    await post(env, message("/settings"))
    assert replies(env) == [f"No bans of {SPAMMER} found",
                            "Subscriptions: 0 (100 of 100 left)",
                            "Notifications: on\nLanguage: ru\nTimezone: &lt;UTC&gt;"]


def chat_member(old: str, new: str, *, user: int = SPAMMER, actor: int = ADMIN,
                until: int = 0, update_id: int | None = None, kind: str = "chat_member",
                chat: dict[str, Any] | None = None) -> dict[str, Any]:
    """A chat_member (or, with ``kind``, my_chat_member) Update with old and new
    ChatMember objects (Bot API shapes)."""
    def member(status: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": status, "user": _user(user, username="spammer")}
        if status == "administrator":
            body.update({"can_be_edited": False, "is_anonymous": False,
                         "can_manage_chat": True, "can_delete_messages": True,
                         "can_manage_video_chats": True, "can_restrict_members": True,
                         "can_promote_members": False, "can_change_info": False,
                         "can_invite_users": True, "can_post_stories": False,
                         "can_edit_stories": False, "can_delete_stories": False,
                         "can_send_welcome_messages": False})
        if status == "kicked":
            body["until_date"] = until
        if status == "restricted":
            body.update({"until_date": until, "is_member": True, "can_send_messages": False,
                         "can_send_audios": False, "can_send_documents": False,
                         "can_send_photos": False, "can_send_videos": False,
                         "can_send_video_notes": False, "can_send_voice_notes": False,
                         "can_send_polls": False, "can_send_other_messages": False,
                         "can_add_web_page_previews": False, "can_change_info": False,
                         "can_invite_users": False, "can_pin_messages": False,
                         "can_manage_topics": False, "can_react_to_messages": False,
                     "can_edit_tag": False})
        return body
    return {"update_id": update_id or next(_ids), kind: {
        "chat": chat or {"id": GROUP, "type": "supergroup", "title": "Cats"}, "from": _user(actor),
        "date": int(time.time()), "old_chat_member": member(old),
        "new_chat_member": member(new)}}


async def test_chat_member_events_become_ban_events_once(env):  # type: ignore[no-untyped-def]
    ban = chat_member("member", "kicked")
    assert await post(env, ban) == 200
    assert await post(env, ban) == 200  # Telegram redelivers the same update
    await post(env, chat_member("member", "restricted", until=int(time.time()) + 3600))
    await post(env, chat_member("kicked", "left"))
    await post(env, chat_member("member", "left", actor=ADMIN))  # removed by an admin: kick
    await post(env, chat_member("member", "left", actor=SPAMMER))  # left by itself: ignored
    joined = chat_member("left", "member", actor=SPAMMER)
    await post(env, joined)  # joined: no ban event, but checked against the synced bans
    await post(env, chat_member("left", "restricted", actor=SPAMMER))  # joined, restricted
    # The bot's own bans (a synced one, a kick's ban-and-unban) echo back: not reported.
    await post(env, chat_member("member", "kicked", actor=123))
    await post(env, chat_member("kicked", "left", actor=123))
    events = list(env["mod"].bans.values())
    assert [e.event_type for e in events] == ["ban", "restrict", "unban", "kick"]
    assert [(c, u) for c, u, _ in env["mod"].joins] == [(GROUP, SPAMMER), (GROUP, SPAMMER)]
    assert env["mod"].joins[0][2] == str(joined["update_id"])  # a redelivery acts once
    first = events[0]
    assert (first.user_id, first.chat_id, first.ban_duration, first.initiator_user_id,
            first.username, first.chat_title) == (SPAMMER, GROUP, None, ADMIN, "spammer", "Cats")
    assert 3500 < (events[1].ban_duration or 0) <= 3600
    # The id is a stable hash of (chat, user, update_id): the same update → the same id.
    again = chat_member("member", "kicked", update_id=ban["update_id"])
    from services.telegram.chat_members import stable_event_id
    assert first.event_id == stable_event_id(env["tenant"], GROUP, SPAMMER, again["update_id"])


async def test_bot_removed_from_a_group_ends_its_subscriptions(env):  # type: ignore[no-untyped-def]
    bot = 123  # the token's bot id

    def mine(old: str, new: str, chat: dict[str, Any] | None = None) -> dict[str, Any]:
        return chat_member(old, new, user=bot, kind="my_chat_member", chat=chat)

    assert await post(env, mine("member", "administrator")) == 200  # promoted: nothing to do
    assert await post(env, mine("administrator", "kicked")) == 200
    assert await post(env, mine("member", "left", chat={"id": -1002, "type": "group",
                                                        "title": "Dogs"})) == 200
    # A user blocking the bot is a "kicked" in a private chat: not a group the bot left.
    assert await post(env, mine("member", "kicked", chat={"id": ADMIN, "type": "private",
                                                          "first_name": "u10"})) == 200
    assert await post(env, mine("left", "member")) == 200  # added back: nothing to undo
    assert env["mod"].bot_removals == [(GROUP, "kicked"), (-1002, "left")]
    assert not env["mod"].bans  # the bot's own status is never a ban event


async def test_rate_limit_says_so_once_then_ignores(env):  # type: ignore[no-untyped-def]
    # In a private chat: a group's own 20 messages/min limit would pace the replies.
    for _ in range(33):
        await post(env, message("/help", uid=MEMBER, chat=MEMBER))
    texts = replies(env, chat=MEMBER)
    assert len(texts) == 31
    assert texts[-1] == "Too many commands. Please wait a minute"
    assert sum(t.startswith("Commands:") for t in texts) == 30


async def test_replies_survive_429_and_5xx(env):  # type: ignore[no-untyped-def]
    env["fake"].fail_next(1, code=429, retry_after=1, method="sendMessage")
    env["fake"].fail_next(2, code=502, method="sendMessage")
    started = time.monotonic()
    await post(env, message("/start"))
    assert time.monotonic() - started >= 1.0  # retry_after honoured
    assert [c.status for c in env["fake"].calls_of("sendMessage")] == [429, 502, 502, 200]


async def test_gives_up_after_three_retries(env):  # type: ignore[no-untyped-def]
    env["fake"].fail_next(10, code=500, method="sendMessage")
    assert await post(env, message("/start", chat=ADMIN)) == 200  # logged, not a crash
    assert len(env["fake"].calls_of("sendMessage")) == 4  # the call and 3 retries
    assert await post(env, message("/help", chat=ADMIN)) == 200


async def test_activity_and_username_changes_reach_moderation_throttled(env):  # type: ignore[no-untyped-def]
    async def seen_ids(count: int) -> list[tuple[int, str]]:
        for _ in range(100):  # reports go out in the background: wait for them, bounded
            if len(env["mod"].seen) >= count:
                break
            await asyncio.sleep(0.02)
        return [(u.user_id, u.username) for u in env["mod"].seen]

    await post(env, message("hello", uid=MEMBER, username="kitty"))
    assert await seen_ids(1) == [(MEMBER, "kitty")]
    first = env["mod"].seen[0]
    assert (first.first_name, first.language_code, first.is_bot) == (f"u{MEMBER}", "en", False)
    await post(env, message("again", uid=MEMBER, username="kitty"))  # within 5 min: not again
    await post(env, message("renamed", uid=MEMBER, username="tiger"))  # a new username: at once
    await post(env, message("/start", uid=ADMIN))
    assert sorted(await seen_ids(3)) == sorted([(MEMBER, "kitty"), (MEMBER, "tiger"), (ADMIN, "")])
    await asyncio.sleep(0.1)
    assert len(env["mod"].seen) == 3
