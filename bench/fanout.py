"""Fan-out benchmark: one ban reaches 100 subscriber chats (seed 001 §5: "< 10 s for 100 chats").

Against the fake Bot API enforcing 30 requests/s with 429 ``retry_after`` (as
Telegram does), it measures from the ``ban.detected`` handler starting to the
run being closed:

* ``engine (precheck)``: the sync engine as configured by default, which asks
  getChatMember before each ban (seed §5.2 "skip chats where already banned"):
  200 requests, floor 200 / 30 ≈ 6.7 s;
* ``engine (no precheck)``: ``SYNC_PRECHECK=false``, bans only: 100 requests,
  floor 100 / 30 ≈ 3.4 s;
* ``baseline``: what the seed sketches — a Celery-style sequential loop calling
  banChatMember per chat, with tenacity-like retry (3 attempts,
  ``wait_exponential(multiplier=1, min=2, max=10)``), no rate limiter, ignoring
  ``retry_after``.

Usage: ``DATABASE_URL=... [REDIS_URL=...] python bench/fanout.py [--chats 100] [--rate 30]``
(with ``REDIS_URL`` the bot's limits are shared through Redis, as in a sync worker)
(without DATABASE_URL an embedded PostgreSQL is started). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.kit.db import make_engine
from services.kit.migrations import migrate
from tests.fakes.moderation_sync import (
    BANNED_USER,
    TOKEN,
    add_subscription,
    ban_envelope,
    chat_ids,
    sync_world,
)
from tests.fakes.telegram_bot_api import FakeBotApi


def _reset(fake: FakeBotApi, chats: list[int]) -> None:
    for chat in chats:
        fake.add_chat(chat, members={BANNED_USER: "member"})
    fake.calls.clear()
    fake._window.clear()


async def _engine_run(db, tenant: str, chats: list[int], rate: int, precheck: bool,
                      ban_event_id: int, redis: object = None) -> dict[str, object]:
    # With Redis, the bot's limits are shared through it, as every sync worker has them.
    async with sync_world(db, rate_limit_per_second=rate, bot_rate=rate - 1.0, precheck=precheck,
                          lease_seconds=120, concurrency=32, redis=redis,
                          shared_limits=redis is not None,
                          client_options={"timeout": 5.0}) as w:
        w.fake.retry_after = 1
        _reset(w.fake, chats)
        started = time.perf_counter()
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=ban_event_id))
        elapsed = time.perf_counter() - started
        async with db.connect() as conn:
            ok = (await conn.execute(text(
                f'SELECT count(*) FROM "t_{tenant.replace("-", "_")}__moderation".sync_logs '
                "WHERE ban_event_id = :b AND status = 'success'"), {"b": ban_event_id})
            ).scalar_one()
        return {"elapsed": elapsed, "requests": len(w.fake.calls),
                "429": len(w.fake.calls_of(ok=False)), "banned": ok}


async def _baseline_run(chats: list[int], rate: int) -> dict[str, object]:
    async with FakeBotApi(token=TOKEN, rate_limit_per_second=rate, retry_after=1) as fake:
        _reset(fake, chats)
        url = f"{fake.base_url}/bot{TOKEN}/banChatMember"
        banned = 0
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=5.0) as http:
            for chat in chats:  # process_ban_event → sync_ban_to_chat, one after another
                for attempt in range(1, 4):  # stop_after_attempt(3)
                    body = (await http.post(url, json={"chat_id": chat,
                                                       "user_id": BANNED_USER})).json()
                    if body.get("ok"):
                        banned += 1
                        break
                    if attempt < 3:  # wait_exponential(multiplier=1, min=2, max=10)
                        await asyncio.sleep(min(10, max(2, 2 ** attempt)))
        elapsed = time.perf_counter() - started
        return {"elapsed": elapsed, "requests": len(fake.calls),
                "429": len(fake.calls_of(ok=False)), "banned": banned}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--rate", type=int, default=30)
    args = parser.parse_args()
    from services.kit.logs import configure_logging

    configure_logging("bench-fanout", "WARNING", json=False)
    started_pg = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        from services.kit.embedded import start_postgres

        started_pg = start_postgres(Path(tempfile.mkdtemp()) / "pg")
        url = started_pg.url
    db = make_engine(url, pool_size=20)
    redis = None
    if os.environ.get("REDIS_URL"):
        from redis.asyncio import Redis

        redis = Redis.from_url(os.environ["REDIS_URL"])
    tenant = f"bench-{secrets.token_hex(3)}"
    try:
        await migrate(db, "moderation", tenant)
        chats = chat_ids(args.chats, base=-1004000000000)
        for i, chat in enumerate(chats):
            await add_subscription(db, tenant, admin_user_id=10_000 + i, admin_chat_id=chat)
        limits = "shared through Redis" if redis is not None else "in-process"
        results = {
            f"engine (precheck: getChatMember + ban), limits {limits}": await _engine_run(
                db, tenant, chats, args.rate, True, 1, redis),
            f"engine (no precheck: ban only), limits {limits}": await _engine_run(
                db, tenant, chats, args.rate, False, 2, redis),
            "baseline (sequential loop, tenacity-style retry)": await _baseline_run(
                chats, args.rate),
        }
    finally:
        async with db.begin() as conn:
            await conn.execute(text(
                f'DROP SCHEMA IF EXISTS "t_{tenant.replace("-", "_")}__moderation" CASCADE'))
        await db.dispose()
        if redis is not None:
            await redis.aclose()
        if started_pg is not None:
            started_pg.stop()
    print(f"{args.chats} chats, fake Bot API at {args.rate} req/s (429 retry_after 1); "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {platform.system()}")
    print()
    print("| implementation | wall time s | requests | 429s | chats banned |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['elapsed']:.2f} | {r['requests']} | {r['429']} | {r['banned']} |")


if __name__ == "__main__":
    asyncio.run(main())
