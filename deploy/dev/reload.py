"""Dev-only process reloader for the Tilt loop (the `dev` target of the Dockerfile).

    python reload.py -- tenantry serve gateway

Runs the command, polls the *.py/*.yaml/*.json/*.sql/*.mako files under the
directories in TENANTRY_RELOAD_DIRS (":"-separated) once a second, and restarts
the command (SIGTERM, then SIGKILL after 10 s) when one changes. SIGTERM/SIGINT
are forwarded and end the reloader. Standard library only; never used in production.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SUFFIXES = {".py", ".yaml", ".yml", ".json", ".sql", ".mako", ".ini", ".txt"}


def snapshot(dirs: list[Path]) -> dict[str, float]:
    state: dict[str, float] = {}
    for root in dirs:
        for path in root.rglob("*"):
            if path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                try:
                    state[str(path)] = path.stat().st_mtime
                except OSError:
                    pass
    return state


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: reload.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    dirs = [Path(d) for d in os.environ.get("TENANTRY_RELOAD_DIRS", "").split(":") if d]
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    before = snapshot(dirs)
    proc = subprocess.Popen(argv)
    while not stopping:
        time.sleep(1)
        now = snapshot(dirs)
        if now != before:
            before = now
            print("reload: sources changed, restarting", " ".join(argv), file=sys.stderr, flush=True)
            stop(proc)
            proc = subprocess.Popen(argv)
        elif proc.poll() is not None:
            # Crashed: wait for the next change instead of spinning (Tilt shows the logs).
            continue
    stop(proc)
    return proc.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
