"""Dockerfile and .dockerignore: hadolint (real binary) and the image contract."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from chartkit import REPO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools import hadolint_path

DOCKERFILE = (REPO / "Dockerfile").read_text()


def instructions():
    lines, buf = [], ""
    for raw in DOCKERFILE.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        buf += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            lines.append(buf)
            buf = ""
    return lines


def test_hadolint_is_clean():
    proc = subprocess.run(
        [hadolint_path(), "--no-color", "--failure-threshold", "info", "-"],
        input=DOCKERFILE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_multi_stage_slim_base_and_non_root():
    stages = re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert [s for _, s in stages] == ["builder", "runtime", "dev"]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE, re.MULTILINE)
    runtime = DOCKERFILE.split("AS runtime", 1)[1].split("AS dev", 1)[0]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    assert users and users[-1] == "10001:10001"
    dev = DOCKERFILE.split("AS dev", 1)[1]
    assert re.findall(r"^USER\s+(\S+)", dev, re.MULTILINE)[-1] == "10001:10001"
    assert 'ENTRYPOINT ["tenantry"]' in runtime


def test_dependencies_are_their_own_layer():
    ins = instructions()
    builder = ins[: next(i for i, x in enumerate(ins) if "AS runtime" in x)]
    first_source_copy = next(i for i, x in enumerate(builder) if re.match(r"COPY (services|operator|gen)\b", x))
    deps_install = next(i for i, x in enumerate(builder) if "requirements.txt" in x and "pip install -r" in x)
    pyproject_copy = next(i for i, x in enumerate(builder) if x.startswith("COPY pyproject.toml"))
    assert pyproject_copy < deps_install < first_source_copy


def test_runtime_runs_with_a_read_only_root():
    runtime = DOCKERFILE.split("AS runtime", 1)[1].split("AS dev", 1)[0]
    assert "PYTHONDONTWRITEBYTECODE=1" in runtime and "HOME=/tmp" in runtime
    assert "compileall" in DOCKERFILE  # bytecode built at build time, nothing written at run time


def test_dockerignore_keeps_the_context_small_and_secret_free():
    lines = [
        x.strip() for x in (REPO / ".dockerignore").read_text().splitlines() if x.strip() and not x.startswith("#")
    ]
    assert lines[0] == "*", "deny by default"
    allowed = {x[1:].rstrip("/") for x in lines if x.startswith("!")}
    copied = set(re.findall(r"^COPY (?:--chown=\S+ )?(\S+)", DOCKERFILE, re.MULTILINE)) - {"--from=builder"}
    for src in copied:
        assert src in allowed, f"COPY {src} but .dockerignore excludes it"
    for secret in ("**/.env", "**/__pycache__/"):
        assert secret in lines
