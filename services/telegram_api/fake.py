"""A fake Telegram Bot API server for tests and ``tenantry dev``: real JSON on a local port.

``FakeBotApi`` is an aiohttp web app on 127.0.0.1 (ephemeral port) answering
``POST|GET /bot<token>/<method>`` the way api.telegram.org does: ``{"ok": true,
"result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...,
"parameters": {"retry_after": N}}``. It keeps chats, members and their statuses,
administrators and the bot's own rights, records every call, and can be
scripted to misbehave:

* ``rate_limit_per_second``: more calls than that in any second → 429 with
  ``retry_after`` (the global bot limit Telegram enforces);
* ``fail_next(n, code=..., description=..., method=..., chat_id=...)``: the
  next matching calls fail (5xx storms, 403, 400, 429 ...);
* ``delay_next(n, seconds, method=...)``: answer late (client timeouts); the
  effect still happens afterwards, as on the real server;
* chats the bot is not in (403), chats that do not exist (400 "chat not
  found"), missing ban rights (400 "not enough rights ..."), unknown users;
* ``getUpdates`` / ``setWebhook`` / ``deleteWebhook`` / ``getWebhookInfo`` and
  ``push_update`` for bot front ends; ``answerCallbackQuery`` and
  ``editMessageText`` for inline keyboards.

A small control API lets another process (``tenantry dev``, the demo script)
script and inspect it over HTTP, under ``/__fake__/``:

* ``POST /__fake__/chats`` ``{"chat_id", "title", "members": {uid: status},
  "admins": [uid], "bot_status", "bot_can_restrict", "type"}`` → the chat;
* ``GET /__fake__/calls?method=&chat_id=&ok=&since=`` → ``{"calls": [...]}``
  (``since`` = index of the first call to return; ``next`` is the next index);
* ``GET /__fake__/status?chat_id=&user_id=`` → ``{"status": ...}``;
* ``GET /__fake__/messages?chat_id=`` → the messages the bot sent there;
* ``GET /__fake__/health`` → ``{"ok": true}``.

Standalone: ``python -m services.telegram_api.fake --port 8099 --token T``
(SIGTERM or Ctrl-C stops it cleanly).

Usage::

    async with FakeBotApi(rate_limit_per_second=30) as fake:
        fake.add_chat(-100123, members={42: "member"})
        client = BotApiClient("123:abc", base_url=fake.base_url)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 777000111


@dataclass
class FakeChat:
    """A chat the fake knows, with its members' statuses and the bot's standing."""

    chat_id: int
    title: str = ""
    type: str = "supergroup"
    #: user id → {"status": ..., "until_date": int}
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: "administrator", "member", "left" (not a member) or "kicked"
    bot_status: str = "administrator"
    bot_can_restrict: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Call:
    """One request the fake received, and how it answered."""

    method: str
    params: dict[str, Any]
    status: int
    ok: bool
    at: float
    description: str = ""

    @property
    def chat_id(self) -> int | None:
        """The call's chat_id as an int, if it had one."""
        value = self.params.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None


@dataclass
class _Rule:
    remaining: int
    method: str | None
    chat_id: int | None
    code: int = 0
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0
    html: bool = False

    def matches(self, method: str, chat_id: int | None) -> bool:
        return (self.remaining > 0 and (self.method is None or self.method == method)
                and (self.chat_id is None or self.chat_id == chat_id))


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


_INT_PARAMS = ("chat_id", "user_id", "until_date", "offset", "limit", "timeout")
_BOOL_PARAMS = ("only_if_banned", "revoke_messages")


class FakeBotApi:
    """The fake server; start with ``async with`` or :meth:`start` / :meth:`stop`."""

    def __init__(self, *, token: str | None = None, rate_limit_per_second: int | None = None,
                 retry_after: int = 1, bot_username: str = "tenantry_test_bot") -> None:
        self.token = token  # None accepts any token
        self.rate_limit_per_second = rate_limit_per_second
        self.retry_after = retry_after
        self.bot_username = bot_username
        self.chats: dict[int, FakeChat] = {}
        self.unknown_users: set[int] = set()
        self.blocked_users: set[int] = set()
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.webhook_url = ""
        self._rules: list[_Rule] = []
        self._window: list[float] = []
        self._next_message_id = 1
        self._next_update_id = 1
        self._update_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, *, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (default: an ephemeral port); return the client's base URL."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_post("/__fake__/chats", self._ctl_add_chat)
        app.router.add_get("/__fake__/calls", self._ctl_calls)
        app.router.add_get("/__fake__/status", self._ctl_status)
        app.router.add_get("/__fake__/messages", self._ctl_messages)
        app.router.add_get("/__fake__/health", self._ctl_health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self.base_url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What to pass as the client's base URL (TELEGRAM_API_BASE)."""
        return f"http://127.0.0.1:{self.port}"

    # -- state -----------------------------------------------------------------------------
    def add_chat(self, chat_id: int, *, title: str = "", members: dict[int, str] | None = None,
                 admins: list[int] | None = None, bot_status: str = "administrator",
                 bot_can_restrict: bool = True, type: str = "supergroup") -> FakeChat:
        """Create (or replace) a chat with members {user_id: status} and admin user ids."""
        chat = FakeChat(chat_id, title or f"chat {chat_id}", type, bot_status=bot_status,
                        bot_can_restrict=bot_can_restrict)
        for uid, status in (members or {}).items():
            chat.members[uid] = {"status": status, "until_date": 0}
        for uid in admins or []:
            chat.members[uid] = {"status": "administrator", "until_date": 0}
        self.chats[chat_id] = chat
        return chat

    def remove_chat(self, chat_id: int) -> None:
        """The chat is gone: calls about it answer 400 "chat not found"."""
        self.chats.pop(chat_id, None)

    def status_of(self, chat_id: int, user_id: int) -> str:
        """A user's status in a chat ("left" when not there)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return "left"
        return str(chat.members.get(user_id, {}).get("status", "left"))

    def calls_of(self, method: str | None = None, *, chat_id: int | None = None,
                 ok: bool | None = None) -> list[Call]:
        """Recorded calls, filtered by method, chat and outcome."""
        return [c for c in self.calls
                if (method is None or c.method == method)
                and (chat_id is None or c.chat_id == chat_id)
                and (ok is None or c.ok == ok)]

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an Update for getUpdates (an update_id is assigned); return its id."""
        update = dict(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = int(update["update_id"]) + 1
        self.updates.append(update)
        self._update_event.set()
        return int(update["update_id"])

    # -- scripting -------------------------------------------------------------------------
    def fail_next(self, count: int, *, code: int = 500, description: str = "",
                  method: str | None = None, chat_id: int | None = None,
                  retry_after: int | None = None, html: bool = False) -> None:
        """The next ``count`` matching calls fail with ``code`` (5xx, 4xx or 429)."""
        description = description or {
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            429: f"Too Many Requests: retry after {retry_after or self.retry_after}",
            403: "Forbidden: bot is not a member of the supergroup chat",
            400: "Bad Request: chat not found",
        }.get(code, f"Error {code}")
        if code == 429 and retry_after is None:
            retry_after = self.retry_after
        self._rules.append(_Rule(count, method, chat_id, code, description, retry_after,
                                 html=html))

    def delay_next(self, count: int, seconds: float, *, method: str | None = None,
                   chat_id: int | None = None) -> None:
        """The next ``count`` matching calls are answered after ``seconds``."""
        self._rules.append(_Rule(count, method, chat_id, delay=seconds))

    def clear_scripts(self) -> None:
        """Forget every scripted failure and delay."""
        self._rules.clear()

    # -- the HTTP surface ------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                params.update(dict(await request.post()))
        for key in _INT_PARAMS:
            if isinstance(params.get(key), str) and params[key].lstrip("-").isdigit():
                params[key] = int(params[key])
        for key in _BOOL_PARAMS:
            if isinstance(params.get(key), str):
                params[key] = params[key].lower() == "true"
        if isinstance(params.get("permissions"), str):
            params["permissions"] = json.loads(params["permissions"])
        return params

    def _record(self, method: str, params: dict[str, Any], status: int, ok: bool,
                description: str = "") -> None:
        self.calls.append(Call(method, params, status, ok, time.monotonic(), description))

    def _rate_limited(self) -> bool:
        if not self.rate_limit_per_second:
            return False
        now = time.monotonic()
        self._window = [t for t in self._window if now - t < 1.0]
        if len(self._window) >= self.rate_limit_per_second:
            return True
        self._window.append(now)
        return False

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.match_info["token"]
        try:
            params = await self._params(request)
        except (ValueError, json.JSONDecodeError):
            params = {}
        chat_id = params.get("chat_id") if isinstance(params.get("chat_id"), int) else None
        if self.token is not None and token != self.token:
            self._record(method, params, 401, False, "Unauthorized")
            return _error(401, "Unauthorized")
        rule = next((r for r in self._rules if r.matches(method, chat_id)), None)
        if rule is not None:
            rule.remaining -= 1
            if rule.delay:
                await asyncio.sleep(rule.delay)
            elif rule.code:
                self._record(method, params, rule.code, False, rule.description)
                if rule.code >= 500 and rule.html:
                    return web.Response(status=rule.code, text="<html>Bad Gateway</html>",
                                        content_type="text/html")
                return _error(rule.code, rule.description, rule.retry_after)
        if self._rate_limited():
            desc = f"Too Many Requests: retry after {self.retry_after}"
            self._record(method, params, 429, False, desc)
            return _error(429, desc, self.retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            self._record(method, params, 404, False, "Not Found")
            return _error(404, "Not Found")
        try:
            result = await handler(params)
        except _ApiError as err:
            self._record(method, params, err.code, False, err.description)
            return _error(err.code, err.description, err.retry_after)
        self._record(method, params, 200, True)
        return web.json_response({"ok": True, "result": result})

    # -- methods ---------------------------------------------------------------------------
    def _chat(self, params: dict[str, Any], *, need_rights: bool = False) -> FakeChat:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        if chat.bot_status == "kicked":
            raise _ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if chat.bot_status == "left":
            raise _ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        if need_rights and not (chat.bot_status == "administrator" and chat.bot_can_restrict):
            raise _ApiError(400, "Bad Request: not enough rights to restrict/unrestrict chat member")
        return chat

    def _user(self, params: dict[str, Any]) -> int:
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _ApiError(400, "Bad Request: invalid user_id specified")
        if user_id in self.unknown_users:
            raise _ApiError(400, "Bad Request: user not found")
        return user_id

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Tenantry Test Bot",
                "username": self.bot_username}

    def _member(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        if user_id == BOT_ID:
            if chat.bot_status == "administrator":
                return {"status": "administrator", "user": self._bot_user(),
                        **_admin_rights(can_restrict=chat.bot_can_restrict)}
            return {"status": chat.bot_status, "user": self._bot_user()}
        entry = chat.members.get(user_id, {"status": "left", "until_date": 0})
        member: dict[str, Any] = {
            "status": entry["status"],
            "user": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"},
        }
        if entry["status"] == "administrator":
            member.update(_admin_rights(can_restrict=True, can_be_edited=True))
        elif entry["status"] == "creator":
            member["is_anonymous"] = False
        if entry["status"] in ("kicked", "restricted"):
            member["until_date"] = entry.get("until_date", 0)
        if entry["status"] == "restricted":
            member.update(entry.get("permissions") or {})
            member["is_member"] = True
        return member

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        return self._member(chat, self._user(params))

    async def _m_getChatAdministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat(params)
        admins = [self._member(chat, uid) for uid, m in chat.members.items()
                  if m["status"] in ("creator", "administrator")]
        if chat.bot_status == "administrator":
            admins.append(self._member(chat, BOT_ID))
        return admins

    async def _m_banChatMember(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params, need_rights=True)
        user_id = self._user(params)
        current = chat.members.get(user_id, {}).get("status")
        if current in ("creator", "administrator"):
            raise _ApiError(400, "Bad Request: user is an administrator of the chat")
        chat.members[user_id] = {"status": "kicked", "until_date": int(params.get("until_date") or 0)}
        return True

    async def _m_unbanChatMember(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params, need_rights=True)
        user_id = self._user(params)
        current = chat.members.get(user_id, {}).get("status", "left")
        if current in ("creator", "administrator"):
            raise _ApiError(400, "Bad Request: user is an administrator of the chat")
        if current == "kicked":
            chat.members[user_id] = {"status": "left", "until_date": 0}
        elif not params.get("only_if_banned") and current in ("member", "restricted"):
            # The real API removes a present member when only_if_banned is not set.
            chat.members[user_id] = {"status": "left", "until_date": 0}
        return True

    async def _m_restrictChatMember(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params, need_rights=True)
        user_id = self._user(params)
        permissions = params.get("permissions")
        if not isinstance(permissions, dict):
            raise _ApiError(400, "Bad Request: field \"permissions\" must be of type Object")
        current = chat.members.get(user_id, {}).get("status")
        if current in ("creator", "administrator"):
            raise _ApiError(400, "Bad Request: user is an administrator of the chat")
        chat.members[user_id] = {"status": "restricted",
                                 "until_date": int(params.get("until_date") or 0),
                                 "permissions": permissions}
        return True

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id > 0:  # a private chat with a user
            if chat_id in self.blocked_users:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            chat = self.chats.get(chat_id) or self.add_chat(chat_id, type="private",
                                                            bot_status="member")
        else:
            chat = self._chat(params)
        text = params.get("text")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        message = {"message_id": self._next_message_id, "date": int(time.time()),
                   "chat": {"id": chat.chat_id, "type": chat.type, "title": chat.title},
                   "from": self._bot_user(), "text": str(text)}
        self._next_message_id += 1
        chat.messages.append(message)
        return message

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        text = params.get("text")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        message_id = int(params.get("message_id") or 0)
        for message in chat.messages:
            if message["message_id"] == message_id:
                message["text"] = str(text)
                message["edit_date"] = int(time.time())
                return message
        # Messages sent before a restart of the fake: answer as Telegram would for a known one.
        return {"message_id": message_id, "date": int(time.time()), "edit_date": int(time.time()),
                "chat": {"id": chat.chat_id, "type": chat.type, "title": chat.title},
                "from": self._bot_user(), "text": str(text)}

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:  # confirms (drops) everything before offset, as Telegram does
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = min(float(params.get("timeout") or 0), 5.0)
        if not self.updates and timeout > 0:
            self._update_event.clear()
            try:
                await asyncio.wait_for(self._update_event.wait(), timeout)
            except TimeoutError:
                pass
        limit = int(params.get("limit") or 100)
        return self.updates[:limit]

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}


    # -- control API (/__fake__/) ------------------------------------------------------------
    async def _ctl_health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "bot_id": BOT_ID, "bot_username": self.bot_username})

    async def _ctl_add_chat(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            members = {int(uid): str(status) for uid, status in (body.get("members") or {}).items()}
            chat = self.add_chat(int(body["chat_id"]), title=str(body.get("title") or ""),
                                 members=members, admins=[int(u) for u in body.get("admins") or []],
                                 bot_status=str(body.get("bot_status") or "administrator"),
                                 bot_can_restrict=bool(body.get("bot_can_restrict", True)),
                                 type=str(body.get("type") or "supergroup"))
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            return web.json_response({"ok": False, "description": f"bad chat: {exc}"}, status=400)
        return web.json_response({"ok": True, "chat": _chat_json(chat)})

    async def _ctl_calls(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            chat_id = int(query["chat_id"]) if query.get("chat_id") else None
            since = int(query.get("since") or 0)
        except ValueError:
            return web.json_response({"ok": False, "description": "chat_id/since must be integers"},
                                     status=400)
        ok = {"true": True, "false": False}.get(query.get("ok", "").lower())
        method = query.get("method") or None
        calls = [
            {"index": i, "method": c.method, "params": c.params, "status": c.status, "ok": c.ok,
             "description": c.description}
            for i, c in enumerate(self.calls) if i >= since
            and (method is None or c.method == method)
            and (chat_id is None or c.chat_id == chat_id)
            and (ok is None or c.ok == ok)]
        return web.json_response({"ok": True, "calls": calls, "next": len(self.calls)},
                                 dumps=_dumps)

    async def _ctl_status(self, request: web.Request) -> web.Response:
        try:
            chat_id, user_id = int(request.query["chat_id"]), int(request.query["user_id"])
        except (KeyError, ValueError):
            return web.json_response({"ok": False, "description": "chat_id and user_id required"},
                                     status=400)
        entry = self.chats.get(chat_id)
        until = int((entry.members.get(user_id) or {}).get("until_date", 0)) if entry else 0
        return web.json_response({"ok": True, "chat_id": chat_id, "user_id": user_id,
                                  "status": self.status_of(chat_id, user_id), "until_date": until})

    async def _ctl_messages(self, request: web.Request) -> web.Response:
        try:
            chat_id = int(request.query["chat_id"])
        except (KeyError, ValueError):
            return web.json_response({"ok": False, "description": "chat_id required"}, status=400)
        chat = self.chats.get(chat_id)
        return web.json_response({"ok": True, "messages": chat.messages if chat else []})


def _admin_rights(*, can_restrict: bool, can_be_edited: bool = False) -> dict[str, Any]:
    """Every field of a ChatMemberAdministrator as the Bot API documents it (but status, user)."""
    return {
        "can_be_edited": can_be_edited, "is_anonymous": False, "can_manage_chat": True,
        "can_delete_messages": True, "can_manage_video_chats": True,
        "can_restrict_members": can_restrict, "can_promote_members": False,
        "can_change_info": True, "can_invite_users": True, "can_post_stories": False,
        "can_edit_stories": False, "can_delete_stories": False, "can_pin_messages": True,
        "can_manage_topics": False,
    }


def _chat_json(chat: FakeChat) -> dict[str, Any]:
    return {"chat_id": chat.chat_id, "title": chat.title, "type": chat.type,
            "bot_status": chat.bot_status, "bot_can_restrict": chat.bot_can_restrict,
            "members": {str(uid): m["status"] for uid, m in chat.members.items()}}


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


async def serve(host: str, port: int, token: str | None, bot_username: str,
                stop: asyncio.Event | None = None) -> None:
    """Run the fake on ``host:port`` until ``stop`` is set (or SIGTERM/SIGINT arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    fake = FakeBotApi(token=token, bot_username=bot_username)
    await fake.start(host=host, port=port)
    print(f"fake Telegram Bot API on {fake.base_url.replace('127.0.0.1', host)}", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m services.telegram_api.fake --port P [--token T]``: serve until SIGTERM/Ctrl-C."""
    parser = argparse.ArgumentParser(description="A fake Telegram Bot API server (local use only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--token", default=None,
                        help="accept only this bot token (default: any); never printed")
    parser.add_argument("--bot-username", default="tenantry_dev_bot")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, args.token, args.bot_username))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
