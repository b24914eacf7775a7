"""End to end: the demo (issues 3 and 4) against a real ``tenantry dev``, started once for the module.

The runner gets this session's database and a Redis database of its own (the
demo tenant's streams must not meet another run's), starts the fake Bot API
itself, and the demo script drives part A (REST) and part B (the bot's webhook).
The last test stops the runner with Ctrl-C and checks that nothing is left.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.e2e.test_dev_runner import ROOT, _pick_ports
from tests.support import own_database

READY_WITHIN = 60.0


@dataclass
class DevPlatform:
    """A running ``tenantry dev`` and where to reach it."""

    proc: subprocess.Popen[bytes]
    data: Path
    gateway: str
    webhook: str
    fake: str
    output: list[str]

    def read(self) -> str:
        """Everything the runner printed so far."""
        assert self.proc.stdout is not None
        while True:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.output.append(chunk.decode(errors="replace"))
        return "".join(self.output)


def _other_redis_db(url: str) -> str:
    base, _, _db = url.rpartition("/")
    return f"{base}/{random.randrange(1, 16)}"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, database_url: str,
             redis_url: str) -> Iterator[DevPlatform]:
    """``tenantry dev`` on free ports, ready (banner printed) within 60 s."""
    with own_database(database_url, "tenantry_demo") as own_database_url:
        yield from _run_platform(tmp_path_factory, own_database_url, redis_url)


def _run_platform(tmp_path_factory: pytest.TempPathFactory, database_url: str,
                  redis_url: str) -> Iterator[DevPlatform]:
    base, gateway = _pick_ports()
    data = tmp_path_factory.mktemp("dev") / "data"
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=_other_redis_db(redis_url),
               LOG_JSON="true")
    for name in ("TELEGRAM_API_BASE", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKENS", "TELEGRAM_WEBHOOK_SECRET"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev", "--data-dir", str(data),
         "--gateway-port", str(gateway), "--port-base", str(base)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    dev = DevPlatform(proc, data, f"http://127.0.0.1:{gateway}",
                      f"http://127.0.0.1:{base + 50}/telegram/demo/webhook", f"http://127.0.0.1:{base + 60}", [])
    try:
        started = time.monotonic()
        while "tenantry dev: ready" not in dev.read():
            assert proc.poll() is None, "tenantry dev exited:\n" + dev.read()[-4000:]
            assert time.monotonic() - started < READY_WITHIN, "not ready within 60 s:\n" + dev.read()[-4000:]
            time.sleep(0.5)
        yield dev
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.mark.e2e
def test_banner_names_the_fake_bot_api_and_the_webhook(platform: DevPlatform) -> None:
    text = platform.read()
    assert f"Fake Bot API       {platform.fake}" in text
    assert f"Telegram webhook   {platform.webhook}" in text
    assert (platform.data / "telegram-webhook-secret").exists()
    # No secret reaches the console.
    for name in ("telegram-webhook-secret", "telegram-dev-bot-token", "demo-owner-password"):
        assert (platform.data / name).read_text().strip() not in text


@pytest.mark.e2e
def test_demo_shows_the_whole_chain(platform: DevPlatform) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.tools.demo", "--gateway", platform.gateway,
         "--webhook", platform.webhook, "--fake-telegram", platform.fake,
         "--data-dir", str(platform.data), "--timeout", "60"],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    # Part A (issue 3): sync_logs, Bot API calls, notifications, analytics.
    assert "==> 4a. the ban reaches the subscribers' chats: sync_logs" in out
    assert out.count("→ user is kicked") == 2
    assert "analytics after:  total_bans=1," in out
    # Part B (issue 4): commands answered, chat_member ban → sync → notification.
    assert "bot replied: ✅ Subscribed to" in out
    assert "fake Telegram: banChatMember" in out
    # Enforcement on join: the banned user who comes back is banned again by the bot.
    assert "joins: banned on sight" in out
    after_join = out.split("joins: banned on sight", 1)[1]
    assert "fake Telegram: banChatMember" in after_join and "→ kicked" in after_join
    # The bot removed from the subscriber group: its subscriptions end, the admin is told.
    after_removal = out.split("removes the bot from the subscriber group", 1)[1]
    assert "→ no subscriptions" in after_removal
    assert "Subscriptions of chat" in after_removal or "Подписки чата" in after_removal
    assert "OK: every step showed what it should." in out
    for name in ("telegram-webhook-secret", "demo-owner-password"):
        assert (platform.data / name).read_text().strip() not in out


@pytest.mark.e2e
def test_demo_fails_loudly_with_a_wrong_secret(platform: DevPlatform) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.tools.demo", "--gateway", platform.gateway,
         "--webhook", platform.webhook, "--fake-telegram", platform.fake, "--part", "b",
         "--data-dir", str(platform.data), "--secret", "wrong", "--timeout", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "expected: webhook answers 200 to /start" in result.stderr
    assert "401" in result.stderr


@pytest.mark.e2e
def test_ctrl_c_stops_everything_without_orphans(platform: DevPlatform) -> None:
    children = psutil.Process(platform.proc.pid).children(recursive=True)
    commands = [" ".join(c.cmdline()) for c in children]
    assert any("services.telegram_api.fake" in c for c in commands), commands
    assert any("--policy tenantry/demo-bans" in c for c in commands), commands
    platform.proc.send_signal(signal.SIGINT)
    assert platform.proc.wait(40) == 0, platform.read()[-4000:]
    time.sleep(0.5)
    leftovers = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"orphans: {leftovers}"
    assert (platform.data / "logs" / "fake-telegram.log").exists()
