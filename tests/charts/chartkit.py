"""Helpers for the offline chart tests: the real helm (tests/tools.py), cached renders."""

from __future__ import annotations

import functools
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from tools import helm_path  # noqa: E402

REPO = TESTS.parent
PLATFORM = REPO / "charts" / "tenantry"
OPERATOR = REPO / "charts" / "tenantry-operator"
NAMESPACE = "tenantry"

# (chart, values file or None) -> id. Every ci/*.yaml is a value set; dev values too.
PLATFORM_SETS = {
    "default": None,
    **{p.stem: p for p in sorted((PLATFORM / "ci").glob("*.yaml"))},
    "dev": PLATFORM / "values-dev.yaml",
}
OPERATOR_SETS = {
    "default": None,
    **{p.stem: p for p in sorted((OPERATOR / "ci").glob("*.yaml"))},
    "dev": OPERATOR / "values-dev.yaml",
}
ALL_SETS = [("tenantry", k) for k in PLATFORM_SETS] + [("tenantry-operator", k) for k in OPERATOR_SETS]


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


@functools.cache
def run_helm(*args: str) -> Result:
    proc = subprocess.run([helm_path(), *args], capture_output=True, text=True, timeout=120, cwd=REPO)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def chart_dir(chart: str) -> Path:
    return {"tenantry": PLATFORM, "tenantry-operator": OPERATOR}[chart]


def values_file(chart: str, value_set: str) -> Path | None:
    return (PLATFORM_SETS if chart == "tenantry" else OPERATOR_SETS)[value_set]


def template_args(chart: str, value_set: str, *extra: str) -> tuple[str, ...]:
    args = ["template", chart, str(chart_dir(chart)), "--namespace", NAMESPACE, "--include-crds"]
    vf = values_file(chart, value_set)
    if vf is not None:
        args += ["--values", str(vf)]
    return (*args, *extra)


@functools.cache
def render(chart: str, value_set: str, kube_version: str | None = None) -> tuple[dict, ...]:
    """Rendered objects of a chart with a value set (hooks and CRDs included)."""
    extra = ("--kube-version", kube_version) if kube_version else ()
    res = run_helm(*template_args(chart, value_set, *extra))
    assert res.returncode == 0, f"helm template {chart} [{value_set}] failed:\n{res.stderr}"
    return tuple(d for d in yaml.safe_load_all(res.stdout) if d)


def kinds(objs, kind: str) -> list[dict]:
    return [o for o in objs if o["kind"] == kind]


def pod_spec(obj: dict) -> dict | None:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "Pod":
        return obj["spec"]
    return None


def _cache_validator_schemas() -> None:
    """kubernetes-validate re-reads its (large) JSON schemas for every object; read each once."""
    import kubernetes_validate.utils as kv_utils

    if not hasattr(kv_utils.schema_contents, "cache_info"):
        kv_utils.schema_contents = functools.cache(kv_utils.schema_contents)


_cache_validator_schemas()
