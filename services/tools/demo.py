"""The ban-sync demo against a running ``tenantry dev`` (see docs/demo.md).

``python -m services.tools.demo --gateway http://127.0.0.1:8080
--webhook http://127.0.0.1:50101/telegram/demo/webhook --fake-telegram http://127.0.0.1:50111``

Part A (issue 3, REST): as the demo tenant's owner, register chats and admins,
subscribe two admins to a user, post a ban in a third chat, and watch the ban
reach the subscribers' chats (``sync_logs`` and banChatMember at the fake Bot
API), the notifications go out (sendMessage to the admins, notification logs)
and the analytics move.

Part B (issue 4, the bot): drive the bot through its webhook with Bot API
updates — ``/start``, ``/subscribe <id>``, ``/list``, a ``chat_member`` ban, and
the banned user joining a subscriber chat again (banned on sight) —
and watch event → sync → Bot API calls → notification to the subscribing admin.

Each run uses fresh random ids, so it can be repeated on the same data. Every
wait is bounded (``--timeout``); on failure the step, what was expected and
what was seen are printed and the exit code is 1. Tokens, passwords and the
webhook secret are never printed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class DemoFailure(Exception):
    """A step did not show what it should; the message says what was expected and seen."""

    def __init__(self, step: str, expected: str, seen: object) -> None:
        super().__init__(f"{step}: expected {expected}; saw {seen}")
        self.step, self.expected, self.seen = step, expected, seen


class Demo:
    """The demo's steps, sharing the HTTP client, the login and the printed output."""

    def __init__(self, *, gateway: str, webhook: str, fake: str, secret: str, password: str,
                 email: str = "owner@demo.local", timeout: float = 60.0,
                 out: Callable[[str], None] = print, seed: int | None = None) -> None:
        self.gateway = gateway.rstrip("/")
        self.webhook = webhook
        self.fake = fake.rstrip("/")
        self._secret = secret
        self._password = password
        self.email = email
        self.timeout = timeout
        self.out = out
        self.http = httpx.Client(timeout=10.0)
        self._token = ""
        self.rng = random.Random(seed)
        self._update_ids = iter(range(self.rng.randrange(10**8, 9 * 10**8), 10**9))
        self._message_ids = iter(range(1, 10**6))
        self.step_name = ""

    # -- output ----------------------------------------------------------------------------
    def step(self, title: str) -> None:
        """Start a step: print its title."""
        self.step_name = title
        self.out(f"\n==> {title}")

    def show(self, line: str) -> None:
        """Print a detail of the current step."""
        self.out(f"    {line}")

    def fail(self, expected: str, seen: object) -> DemoFailure:
        """The failure of the current step."""
        return DemoFailure(self.step_name, expected, seen)

    # -- plumbing --------------------------------------------------------------------------
    def ids(self) -> tuple[int, int]:
        """A fresh (user id base, chat id base): user ids base+k, chat ids -(chat base+k)."""
        base = self.rng.randrange(10**8, 9 * 10**8)
        return base * 10, 1_000_000_000_000 + base * 10

    def api(self, method: str, path: str, *, body: dict[str, Any] | None = None,
            params: dict[str, Any] | None = None, ok: tuple[int, ...] = (200, 201)) -> dict[str, Any]:
        """Call the gateway as the demo owner; a status outside ``ok`` fails the step."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        reply = self.http.request(method, self.gateway + path, json=body, params=params, headers=headers)
        data: dict[str, Any] = reply.json() if reply.content else {}
        if reply.status_code not in ok:
            raise self.fail(f"{method} {path} → one of {ok}", f"{reply.status_code} {data}")
        return data

    def fake_get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET from the fake Bot API's control API."""
        reply = self.http.get(f"{self.fake}/__fake__/{path}",
                              params={k: v for k, v in params.items() if v is not None})
        if reply.status_code != 200:
            raise self.fail(f"GET /__fake__/{path} → 200", f"{reply.status_code} {reply.text[:300]}")
        return dict(reply.json())

    def fake_chat(self, chat_id: int, title: str, *, members: dict[int, str],
                  admins: list[int]) -> None:
        """Create a chat at the fake Bot API (the bot is an administrator with ban rights)."""
        reply = self.http.post(f"{self.fake}/__fake__/chats", json={
            "chat_id": chat_id, "title": title, "members": {str(k): v for k, v in members.items()},
            "admins": admins})
        if reply.status_code != 200:
            raise self.fail("POST /__fake__/chats → 200", f"{reply.status_code} {reply.text[:300]}")
        self.show(f"fake Telegram: chat {chat_id} {title!r}, admins {admins}, members {members}")

    def calls(self, method: str, *, chat_id: int | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Successful calls of ``method`` the fake recorded (in ``chat_id``, from index ``since``)."""
        return list(self.fake_get("calls", method=method, chat_id=chat_id, ok="true", since=since)["calls"])

    def messages_about(self, chat_id: int, needle: str, since: int) -> list[dict[str, Any]]:
        """sendMessage calls to ``chat_id`` (from index ``since``) whose text mentions ``needle``."""
        return [c for c in self.calls("sendMessage", chat_id=chat_id, since=since)
                if needle in str(c["params"].get("text", ""))]

    def calls_mark(self) -> int:
        """The index the fake's next recorded call will get."""
        return int(self.fake_get("calls", method="-")["next"])

    def wait_for(self, what: str, probe: Callable[[], T | None], *, timeout: float | None = None,
                 seen: Callable[[], object] | None = None) -> T:
        """Poll ``probe`` (every 0.5 s, at most ``timeout`` s) until it returns something truthy."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise self.fail(f"{what} within {timeout or self.timeout:.0f} s",
                                seen() if seen else value)
            time.sleep(0.5)

    def login(self) -> None:
        """Log in as the demo owner (POST /api/v1/auth/login)."""
        self.step(f"log in as {self.email}")
        self._token = ""
        data = self.api("POST", "/api/v1/auth/login", body={"email": self.email, "password": self._password},
                        ok=(200,))
        self._token = data["tokens"]["access_token"]
        self.show("POST /api/v1/auth/login → 200, got an access token")

    def post_update(self, update: dict[str, Any], label: str) -> None:
        """POST one Update to the bot's webhook with the secret header; expect 200."""
        reply = self.http.post(self.webhook, json=update,
                               headers={"X-Telegram-Bot-Api-Secret-Token": self._secret})
        if reply.status_code != 200:
            raise self.fail(f"webhook answers 200 to {label}", f"{reply.status_code} {reply.text[:300]}")
        self.show(f"POST webhook ({label}, update_id {update['update_id']}) → 200")

    # -- Bot API shapes --------------------------------------------------------------------
    @staticmethod
    def user(uid: int, name: str, username: str | None = None) -> dict[str, Any]:
        """A Bot API User."""
        body: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": name, "language_code": "en"}
        if username:
            body["username"] = username
        return body

    def message(self, text: str, *, sender: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        """An Update with a text message (a bot_command entity when it starts with '/')."""
        msg: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                               "chat": chat, "from": sender, "text": text}
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": msg}

    def chat_member(self, *, chat: dict[str, Any], actor: dict[str, Any], member: dict[str, Any],
                    old: str, new: str, kind: str = "chat_member") -> dict[str, Any]:
        """A chat_member Update: ``member`` goes from ``old`` to ``new`` status, done by ``actor``
        (``kind`` "my_chat_member" when ``member`` is the bot itself)."""
        def state(status: str) -> dict[str, Any]:
            body: dict[str, Any] = {"status": status, "user": member}
            if status == "kicked":
                body["until_date"] = 0
            return body
        return {"update_id": next(self._update_ids), kind: {
            "chat": chat, "from": actor, "date": int(time.time()),
            "old_chat_member": state(old), "new_chat_member": state(new)}}

    # -- part A ----------------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        """GET /moderation/api/v1/analytics/overview."""
        return self.api("GET", "/moderation/api/v1/analytics/overview")

    def part_a(self) -> None:
        """Issue 3: the seed's flow over REST, seen in sync_logs, notifications and analytics."""
        users, chats = self.ids()
        source, target1, target2 = -(chats + 1), -(chats + 2), -(chats + 3)
        banner, admin1, admin2, spammer = users + 1, users + 2, users + 3, users + 9

        self.out("\n######## Part A: the seed's flow over REST ########")
        self.step("set up three chats at the fake Telegram (the bot is an admin with ban rights)")
        self.fake_chat(source, "Demo source chat", members={spammer: "member"}, admins=[banner])
        self.fake_chat(target1, "Demo subscriber chat 1", members={spammer: "member"}, admins=[admin1])
        self.fake_chat(target2, "Demo subscriber chat 2", members={spammer: "member"}, admins=[admin2])

        self.login()
        before = self.overview()
        self.show("analytics before: " + _counts(before))

        self.step("1. register the users, the chats and their admins")
        for uid, name in ((banner, "Bob"), (admin1, "Alice"), (admin2, "Carol"), (spammer, "Spammer")):
            self.api("POST", "/moderation/api/v1/users", ok=(200, 201, 409), body={
                "user_id": uid, "username": f"demo_{name.lower()}_{uid}", "first_name": name,
                "language_code": "en"})
            self.show(f"POST /moderation/api/v1/users {uid} ({name})")
        for chat_id, title, admin in ((source, "Demo source chat", banner),
                                      (target1, "Demo subscriber chat 1", admin1),
                                      (target2, "Demo subscriber chat 2", admin2)):
            self.api("POST", "/moderation/api/v1/chats", body={"chat_id": chat_id, "chat_title": title},
                     ok=(200, 201, 409))
            self.show(f"POST /moderation/api/v1/chats {chat_id} {title!r}")
            self.api("POST", f"/moderation/api/v1/chats/{chat_id}/admins",
                     body={"user_id": admin, "role": "admin", "can_ban": True})
            self.show(f"POST /moderation/api/v1/chats/{chat_id}/admins user {admin} (admin, can_ban)")

        self.step(f"2. admins {admin1} and {admin2} subscribe to user {spammer}")
        for admin, chat_id in ((admin1, target1), (admin2, target2)):
            data = self.api("POST", "/moderation/api/v1/subscriptions", body={
                "admin_user_id": admin, "admin_chat_id": chat_id, "tracked_user_id": spammer})
            sub = data.get("subscription", data)
            self.show(f"POST /moderation/api/v1/subscriptions → id {sub.get('id')} "
                      f"(admin {admin} in chat {chat_id} tracks {spammer})")

        self.step(f"3. admin {banner} bans user {spammer} in the source chat {source}")
        mark = self.calls_mark()
        data = self.api("POST", "/moderation/api/v1/events/ban", body={
            "event_id": f"demo-{users}-ban", "user_id": spammer, "chat_id": source, "event_type": "ban",
            "reason": "spam (demo)", "initiator_user_id": banner, "username": "demo_spammer",
            "chat_title": "Demo source chat"})
        event = data.get("event", data)
        ban_event_id = int(event["id"])
        self.show(f"POST /moderation/api/v1/events/ban → ban event {ban_event_id} (created: {data.get('created')})")

        self.step("4a. the ban reaches the subscribers' chats: sync_logs")
        targets = {target1, target2}

        def logs() -> list[dict[str, Any]]:
            return list(self.api("GET", "/moderation/api/v1/sync/logs",
                                 params={"ban_event_id": ban_event_id})["logs"])

        def synced() -> list[dict[str, Any]] | None:
            rows = logs()
            done = {int(r["target_chat_id"]) for r in rows if r.get("status") == "success"}
            return rows if targets <= done else None

        rows = self.wait_for(f"sync_logs status success for chats {sorted(targets)}", synced,
                             seen=lambda: [(r.get("target_chat_id"), r.get("status"), r.get("error_message"))
                                           for r in logs()])
        for row in rows:
            self.show(f"sync_logs #{row['id']}: chat {row['target_chat_id']} {row['action']} "
                      f"→ {row['status']} (until_date {row.get('until_date', 0)})")

        self.step("4b. the Bot API calls at the fake Telegram")
        for chat_id in sorted(targets):
            bans = [c for c in self.calls("banChatMember", chat_id=chat_id, since=mark)
                    if int(c["params"].get("user_id", 0)) == spammer]
            if len(bans) != 1:
                raise self.fail(f"exactly one banChatMember of {spammer} in {chat_id}", bans)
            status = self.fake_get("status", chat_id=chat_id, user_id=spammer)["status"]
            if status != "kicked":
                raise self.fail(f"user {spammer} kicked in {chat_id}", status)
            self.show(f"banChatMember chat_id={chat_id} user_id={spammer} "
                      f"until_date={bans[0]['params'].get('until_date')} → user is {status}")

        self.step("4c. the notifications to the subscribing admins")
        for admin in (admin1, admin2):
            sent = self.wait_for(f"a sendMessage to admin {admin} about the ban in 'Demo source chat'",
                                 lambda a=admin: self.messages_about(a, "Demo source chat", mark))
            for call in sent:
                self.show(f"sendMessage to {admin}: {_one_line(call['params'].get('text', ''))}")
        logs_data = self.api("GET", "/api/v1/notifications/logs", params={"page_size": 20})
        entries = [e for e in logs_data.get("logs", []) if int(e.get("user_id") or 0) in (admin1, admin2)]
        self.show(f"GET /api/v1/notifications/logs: {len(entries)} entries for the two admins "
                  f"({', '.join(sorted({str(e.get('status')) for e in entries})) or 'none'})")

        self.step("4d. the analytics moved")

        def moved() -> dict[str, Any] | None:
            now = self.overview()
            grew = (_n(now, "total_bans") > _n(before, "total_bans")
                    and _n(now, "successful_syncs") > _n(before, "successful_syncs")
                    and _n(now, "new_subscriptions") >= _n(before, "new_subscriptions") + 2)
            return now if grew else None

        after = self.wait_for("total_bans, successful_syncs and new_subscriptions (+2) to grow",
                              moved, seen=lambda: _counts(self.overview()))
        self.show("analytics after:  " + _counts(after))

    # -- part B ----------------------------------------------------------------------------
    def part_b(self) -> None:
        """Issue 4: the bot's commands and a chat_member ban through the webhook, then the chain."""
        users, chats = self.ids()
        group_id, sub_chat_id = -(chats + 1), -(chats + 2)
        moderator, admin, spammer = users + 1, users + 2, users + 9
        group = {"id": group_id, "type": "supergroup", "title": "Demo bot: source group"}
        sub_chat = {"id": sub_chat_id, "type": "supergroup", "title": "Demo bot: subscriber group"}
        admin_user = self.user(admin, "Alice", "demo_alice")
        moderator_user = self.user(moderator, "Bob", "demo_bob")
        spammer_user = self.user(spammer, "Spammer", "demo_spammer")

        self.out("\n######## Part B: the bot, through its webhook ########")
        self.step("set up two groups at the fake Telegram")
        self.fake_chat(group_id, group["title"], members={spammer: "member"}, admins=[moderator])
        self.fake_chat(sub_chat_id, sub_chat["title"], members={spammer: "member"}, admins=[admin])

        self.step(f"/start from admin {admin} in a private chat")
        mark = self.calls_mark()
        self.post_update(self.message("/start", sender=admin_user,
                                      chat={"id": admin, "type": "private", "first_name": "Alice"}),
                         "/start")
        self._show_replies(admin, mark, "/start")

        self.step(f"/subscribe {spammer} in the subscriber group")
        mark = self.calls_mark()
        self.post_update(self.message(f"/subscribe {spammer}", sender=admin_user, chat=sub_chat),
                         "/subscribe")
        self._show_replies(sub_chat_id, mark, "/subscribe")

        self.step("/list in the subscriber group")
        mark = self.calls_mark()
        self.post_update(self.message("/list", sender=admin_user, chat=sub_chat), "/list")
        texts = self._show_replies(sub_chat_id, mark, "/list")
        if not any(str(spammer) in t or "demo_spammer" in t for t in texts):
            raise self.fail(f"/list to mention {spammer}", texts)

        self.step(f"moderator {moderator} bans {spammer} in the source group (chat_member update)")
        mark = self.calls_mark()
        self.post_update(self.chat_member(chat=group, actor=moderator_user, member=spammer_user,
                                          old="member", new="kicked"), "chat_member member → kicked")

        self.step("the chain: ban event → sync → Bot API → notification")
        if not self._token:
            self.login()
        event = self.wait_for(
            f"a ban event of {spammer} in {group_id}",
            lambda: next((e for e in self.api("GET", f"/moderation/api/v1/events/user/{spammer}")
                          .get("events", []) if int(e.get("chat_id", 0)) == group_id), None))
        self.show(f"ban event {event.get('id')}: {event.get('event_type')} of {spammer} in {group_id} "
                  f"by {event.get('initiator_user_id')} (event_id {event.get('event_id')})")

        def synced() -> list[dict[str, Any]] | None:
            rows = self.api("GET", "/moderation/api/v1/sync/logs",
                            params={"ban_event_id": int(event["id"])})["logs"]
            return rows if any(int(r["target_chat_id"]) == sub_chat_id and r["status"] == "success"
                               for r in rows) else None

        rows = self.wait_for(f"sync_logs success in {sub_chat_id}", synced)
        for row in rows:
            self.show(f"sync_logs #{row['id']}: chat {row['target_chat_id']} {row['action']} → {row['status']}")
        bans = [c for c in self.calls("banChatMember", chat_id=sub_chat_id, since=mark)
                if int(c["params"].get("user_id", 0)) == spammer]
        if len(bans) != 1:
            raise self.fail(f"exactly one banChatMember of {spammer} in {sub_chat_id}", bans)
        self.show(f"fake Telegram: banChatMember chat_id={sub_chat_id} user_id={spammer} → "
                  f"{self.fake_get('status', chat_id=sub_chat_id, user_id=spammer)['status']}")
        sent = self.wait_for(f"the notification (sendMessage) to admin {admin} about the ban in {group['title']!r}",
                             lambda: self.messages_about(admin, str(group["title"]), mark))
        for call in sent:
            self.show(f"fake Telegram: sendMessage to {admin}: {_one_line(call['params'].get('text', ''))}")

        self.step(f"{spammer} is let back into the subscriber group by hand and joins: banned on sight")
        self.fake_chat(sub_chat_id, sub_chat["title"], members={spammer: "left"}, admins=[admin])
        mark = self.calls_mark()
        self.post_update(self.chat_member(chat=sub_chat, actor=spammer_user, member=spammer_user,
                                          old="left", new="member"), "chat_member left → member")
        again = self.wait_for(
            f"a banChatMember of {spammer} in {sub_chat_id} after the join",
            lambda: [c for c in self.calls("banChatMember", chat_id=sub_chat_id, since=mark)
                     if int(c["params"].get("user_id", 0)) == spammer] or None)
        self.show(f"fake Telegram: banChatMember chat_id={sub_chat_id} user_id={spammer} "
                  f"until_date={again[0]['params'].get('until_date')} → "
                  f"{self.fake_get('status', chat_id=sub_chat_id, user_id=spammer)['status']}")

        self.step(f"admin {admin} removes the bot from the subscriber group (my_chat_member): "
                  "the subscriptions into it end and the admin is told")
        mark = self.calls_mark()
        bot = {"id": 1, "is_bot": True, "first_name": "Tenantry bot"}
        self.post_update(self.chat_member(chat=sub_chat, actor=admin_user, member=bot, old="member",
                                          new="kicked", kind="my_chat_member"),
                         "my_chat_member member → kicked")
        self.wait_for(
            f"no active subscription of admin {admin} in {sub_chat_id}",
            lambda: not self.api("GET", f"/moderation/api/v1/subscriptions/admin/{admin}",
                                 params={"admin_chat_id": sub_chat_id}).get("subscriptions"))
        self.show(f"GET /moderation/api/v1/subscriptions/admin/{admin}?admin_chat_id={sub_chat_id}"
                  " → no subscriptions")
        told = self.wait_for(  # in the admin's language (the tenant's default is ru)
            f"the notification (sendMessage) to admin {admin} that they ended",
            lambda: (self.messages_about(admin, f"Subscriptions of chat {sub_chat_id}", mark)
                     or self.messages_about(admin, f"Подписки чата {sub_chat_id}", mark)))
        self.show(f"fake Telegram: sendMessage to {admin}: {_one_line(told[0]['params'].get('text', ''))}")

    def _show_replies(self, chat_id: int, mark: int, command: str) -> list[str]:
        calls = [c for c in self.calls("sendMessage", chat_id=chat_id, since=mark)]
        if not calls:
            raise self.fail(f"a bot reply (sendMessage) in {chat_id} to {command}", "no sendMessage")
        texts = [str(c["params"].get("text", "")) for c in calls]
        for text in texts:
            self.show(f"bot replied: {_one_line(text)}")
        return texts


def _n(data: dict[str, Any], key: str) -> int:
    return int(data.get(key) or 0)


def _counts(data: dict[str, Any]) -> str:
    keys = ("total_bans", "new_subscriptions", "active_subscriptions", "total_syncs", "successful_syncs",
            "failed_syncs")
    return ", ".join(f"{k}={_n(data, k)}" for k in keys)


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise SystemExit(f"demo: cannot read the {what} from {path}: {exc.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    """Run part A and/or B; 0 when every step showed what it should, else 1."""
    parser = argparse.ArgumentParser(description="The ban-sync demo against a running `tenantry dev`.")
    parser.add_argument("--gateway", default="http://127.0.0.1:8080")
    parser.add_argument("--webhook", default="http://127.0.0.1:50101/telegram/demo/webhook")
    parser.add_argument("--fake-telegram", default="http://127.0.0.1:50111")
    parser.add_argument("--data-dir", default=".data", help="where `tenantry dev` keeps its files")
    parser.add_argument("--password-file", default=None, help="default: <data-dir>/demo-owner-password")
    parser.add_argument("--secret", default=None,
                        help="webhook secret (default: read from <data-dir>/telegram-webhook-secret)")
    parser.add_argument("--email", default="owner@demo.local")
    parser.add_argument("--part", choices=("a", "b", "all"), default="all")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each wait may take")
    args = parser.parse_args(argv)
    data = Path(args.data_dir)
    password = _read(Path(args.password_file) if args.password_file else data / "demo-owner-password",
                     "demo owner's password")
    secret = args.secret or _read(data / "telegram-webhook-secret", "webhook secret")
    demo = Demo(gateway=args.gateway, webhook=args.webhook, fake=args.fake_telegram, secret=secret,
                password=password, email=args.email, timeout=args.timeout)
    try:
        if args.part in ("a", "all"):
            demo.part_a()
        if args.part in ("b", "all"):
            demo.part_b()
    except DemoFailure as exc:
        print(f"\nFAILED at step {exc.step!r}\n  expected: {exc.expected}\n  seen:     {exc.seen}",
              file=sys.stderr, flush=True)
        return 1
    except httpx.HTTPError as exc:
        print(f"\nFAILED at step {demo.step_name!r}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        demo.http.close()
    print("\nOK: every step showed what it should.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
