"""End to end: ``tenantry dev`` brings the platform up, answers ready, and stops cleanly."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ports_free(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _pick_ports() -> tuple[int, int]:
    for _ in range(50):
        base = random.randrange(20000, 30000)
        gateway = base + 500
        # gRPC services and per-SyncPolicy sync workers, webhook, fake Bot API, metrics, gateway.
        if _ports_free([*range(base, base + 10), base + 50, base + 60, *range(base + 100, base + 121), gateway]):
            return base, gateway
    raise RuntimeError("no free port range")


def _get(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _drain(fd: int) -> str:
    """What a non-blocking pipe holds now (a text-mode read() of an empty one raises)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.e2e
def test_tenantry_dev_comes_up_ready_and_stops_without_orphans(tmp_path, database_url, redis_url):
    base, gateway = _pick_ports()
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_JSON="true")
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev", "--data-dir", str(tmp_path / "data"),
         "--gateway-port", str(gateway), "--port-base", str(base)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output: list[str] = []
    try:
        started = time.monotonic()
        ready = False
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() - started < 60:
            output.append(_drain(proc.stdout.fileno()))
            if proc.poll() is not None:
                break
            try:
                status, body = _get(f"http://127.0.0.1:{gateway}/health/ready")
                if status == 200:
                    ready = True
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert ready, "not ready within 60 s:\n" + "".join(output)[-4000:]
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 3  # the services really run as processes

        # The platform answers: the demo owner logs in and reads their profile through the gateway.
        password = (tmp_path / "data" / "demo-owner-password").read_text().strip()
        status, body = _get(f"http://127.0.0.1:{gateway}/api/v1/auth/login",
                            body={"email": "owner@demo.local", "password": password})
        assert status == 200, body
        token = body["tokens"]["access_token"]
        status, body = _get(f"http://127.0.0.1:{gateway}/api/v1/me", token=token)
        assert status == 200 and body["user"]["email"] == "owner@demo.local"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
    time.sleep(0.5)
    leftovers = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"orphans: {leftovers}"
    assert (tmp_path / "data" / "logs").is_dir()
