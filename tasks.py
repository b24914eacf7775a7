#!/usr/bin/env python3
"""The project's two commands, for a machine with nothing but Python 3.11+ and git.

    python3 tasks.py dev     make .venv, install, and run the whole platform (tenantry dev)
    python3 tasks.py test    make .venv, install, and run every check and the whole test suite

Both create the virtualenv on first use and reinstall only when pyproject.toml
changes. This file uses the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, env=env)


def ensure_venv() -> None:
    """Create .venv and install the project (with dev extras) if pyproject changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must run on any python3 to say so
        sys.exit("Tenantry needs Python 3.11 or newer")
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    _run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    stamp.write_text(digest)


def dev(args: list[str]) -> int:
    """Run the platform locally."""
    ensure_venv()
    os.execv(str(BIN / "tenantry"), [str(BIN / "tenantry"), "dev", *args])
    return 0  # pragma: no cover


def test(args: list[str]) -> int:
    """Every check CI runs, then the test suite."""
    ensure_venv()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    _run(BIN / "ruff", "check", ".", env=env)
    _run(BIN / "buf", "lint", "protos", env=env)
    _run(BIN / "buf", "format", "-d", "--exit-code", "protos", env=env)
    if subprocess.run(["git", "rev-parse", "--verify", "--quiet", "main"], cwd=ROOT,
                      capture_output=True).returncode == 0:
        _run(BIN / "buf", "breaking", "protos", "--against", ".git#branch=main,subdir=protos", env=env)
    _run(PY, "protos/generate.py", "--check", env=env)
    _run(PY, "charts/render.py", "check", env=env)
    _run(PY, "-m", "pytest", *args, env=env)
    return 0


def main() -> int:
    """Dispatch ``dev`` or ``test``."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("dev", "test"):
        print(__doc__)
        return 2
    try:
        return {"dev": dev, "test": test}[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as err:
        return err.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
