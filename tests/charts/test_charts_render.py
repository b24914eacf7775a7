"""helm lint --strict, helm template and kubernetes-validate --strict for every value set."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml
from chartkit import (
    ALL_SETS,
    OPERATOR,
    PLATFORM,
    PLATFORM_SETS,
    chart_dir,
    kinds,
    render,
    run_helm,
    values_file,
)
from kubernetes_validate.utils import all_versions

# Kinds that come from CRDs kubernetes-validate has no schema for; they get the
# structural checks in test_crd_kinds_are_well_formed instead.
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
}


def chart_min_kube_version() -> str:
    spec = yaml.safe_load((PLATFORM / "Chart.yaml").read_text())["kubeVersion"]
    assert spec == yaml.safe_load((OPERATOR / "Chart.yaml").read_text())["kubeVersion"]
    m = re.fullmatch(r">=\s*(\d+\.\d+)\.\d+(-0)?", spec)
    assert m, f"unexpected kubeVersion constraint {spec!r}"
    return m.group(1)


def kube_versions() -> list[str]:
    """Oldest version the charts support (Chart.yaml kubeVersion) and newest with schemas."""
    shipped = [v.rsplit(".", 1)[0] if v.count(".") == 2 else v for v in all_versions()]
    oldest, newest = chart_min_kube_version(), shipped[-1]
    assert oldest in shipped, f"kubernetes-validate ships no schema for {oldest}"
    return [f"{oldest}.0", f"{newest}.0"]


KUBE_VERSIONS = kube_versions()


def test_supported_versions_are_sane():
    oldest, newest = (tuple(int(x) for x in v.split(".")[:2]) for v in KUBE_VERSIONS)
    # native gRPC probes are GA from 1.27; the newest schema must be newer still
    assert oldest >= (1, 27)
    assert newest > oldest


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_helm_lint_strict(helm, chart, value_set):
    args = ["lint", "--strict", str(chart_dir(chart)), "--namespace", "tenantry"]
    vf = values_file(chart, value_set)
    if vf is not None:
        args += ["--values", str(vf)]
    res = run_helm(*args)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 chart(s) failed" in res.stdout


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_every_object_validates_strict(helm, chart, value_set, kube_version):
    objs = render(chart, value_set, kube_version)
    assert objs, "nothing rendered"
    errors = []
    for obj in objs:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{name}: {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            errors.append(f"{name}: {e.message}")
    assert not errors, "\n".join(errors)


def test_validation_is_really_strict():
    """The validator rejects a misspelt field (so a pass above means something)."""
    dep = next(o for o in render("tenantry", "default") if o["kind"] == "Deployment")
    bad = yaml.safe_load(yaml.safe_dump(dep))
    bad["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBE_VERSIONS[-1], strict=True)


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_crd_kinds_are_well_formed(chart, value_set):
    for obj in render(chart, value_set):
        if obj["kind"] == "ServiceMonitor":
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"
            assert set(obj["spec"]) <= {"selector", "namespaceSelector", "endpoints", "jobLabel"}
            assert obj["spec"]["selector"]["matchLabels"]
            for ep in obj["spec"]["endpoints"]:
                assert ep["port"] == "metrics" and ep["path"] == "/metrics"
                assert set(ep) <= {"port", "path", "interval", "scrapeTimeout"}
        elif obj["kind"] == "HTTPRoute":
            assert obj["apiVersion"] == "gateway.networking.k8s.io/v1"
            assert set(obj["spec"]) <= {"parentRefs", "hostnames", "rules"}
            assert all("name" in ref for ref in obj["spec"]["parentRefs"])
            for rule in obj["spec"]["rules"]:
                assert set(rule) <= {"matches", "backendRefs"}
                for m in rule["matches"]:
                    assert m["path"]["type"] in {"Exact", "PathPrefix", "RegularExpression"}


def test_value_sets_cover_the_required_scenarios():
    assert {"minimal", "production", "everything"} <= set(PLATFORM_SETS)
    prod = render("tenantry", "production")
    assert not kinds(prod, "StatefulSet"), "production-like set must use external backends"
    assert len(kinds(prod, "HorizontalPodAutoscaler")) == len(kinds(prod, "Deployment")) == 7
    everything = {o["kind"] for o in render("tenantry", "everything")}
    assert {
        "Ingress",
        "HTTPRoute",
        "ServiceMonitor",
        "HorizontalPodAutoscaler",
        "StatefulSet",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "ServiceAccount",
        "ConfigMap",
        "Secret",
    } <= everything
    minimal = render("tenantry", "minimal")
    assert {o["metadata"]["name"] for o in kinds(minimal, "Deployment")} == {"gateway", "identity"}


@pytest.mark.parametrize("chart", ["tenantry", "tenantry-operator"])
def test_notes_render(chart):
    res = run_helm("install", chart, str(chart_dir(chart)), "--dry-run=client", "--namespace", "tenantry")
    assert res.returncode == 0, res.stderr
    assert "NOTES:" in res.stdout
    if chart == "tenantry":
        assert "port-forward service/gateway 8080:8080" in res.stdout
        assert "kind: Tenant" in res.stdout
        assert "NOT FOR PRODUCTION" in res.stdout


def test_unsupported_kubernetes_version_is_refused():
    res = run_helm("template", "t", str(PLATFORM), "--kube-version", "1.26.0")
    assert res.returncode != 0
    assert "kubeVersion" in res.stderr or "incompatible" in res.stderr


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_plain_manifests_pass_the_kubernetes_validate_cli(kube_version):
    """The committed manifests (and the CRDs) through the real `kubernetes-validate --strict` CLI."""
    import subprocess
    import sys

    from chartkit import REPO

    files = sorted(str(p) for p in (REPO / "manifests" / "rendered").glob("*.yaml"))
    files += sorted(str(p) for p in (OPERATOR / "crds").glob("*.yaml"))
    proc = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", kube_version, *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARN" not in proc.stdout and "ERROR" not in proc.stdout, proc.stdout
    assert proc.stdout.count("passed") >= 40
