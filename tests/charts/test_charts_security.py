"""Security and operability invariants of every rendered workload, for every value set."""

from __future__ import annotations

import pytest
from chartkit import ALL_SETS, kinds, pod_spec, render

LONG_RUNNING = ("Deployment", "StatefulSet")


def workloads(chart, value_set):
    return [o for o in render(chart, value_set) if pod_spec(o) is not None]


def containers(spec):
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_no_container_runs_as_root(chart, value_set):
    for obj in workloads(chart, value_set):
        spec = pod_spec(obj)
        psc = spec.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, obj["metadata"]["name"]
        assert psc.get("runAsUser", 1) != 0
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        for c in containers(spec):
            sc = c.get("securityContext", {})
            where = f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}"
            assert sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, where
            assert sc.get("runAsUser", psc.get("runAsUser")) not in (0, None), where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            assert sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type") == "RuntimeDefault"
            if value_set != "dev":  # dev only: Tilt live_update syncs into the container
                assert sc.get("readOnlyRootFilesystem") is True, where


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_read_only_root_has_a_writable_tmp(chart, value_set):
    for obj in workloads(chart, value_set):
        spec = pod_spec(obj)
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in containers(spec):
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{obj['metadata']['name']}/{c['name']} has no /tmp"
            assert "emptyDir" in volumes[mounts["/tmp"]]


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_every_container_has_requests_limits_and_probes(chart, value_set):
    for obj in workloads(chart, value_set):
        for c in containers(pod_spec(obj)):
            where = f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}"
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(part, {})), f"{where}: {part}"
            if obj["kind"] in LONG_RUNNING:  # run-to-completion Jobs have no probes
                for probe in ("livenessProbe", "readinessProbe"):
                    assert probe in c, f"{where}: {probe}"


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_multi_replica_deployments_have_a_pdb(chart, value_set):
    objs = render(chart, value_set)
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in kinds(objs, "HorizontalPodAutoscaler")}
    pdbs = kinds(objs, "PodDisruptionBudget")
    for dep in kinds(objs, "Deployment"):
        name = dep["metadata"]["name"]
        replicas = hpas[name]["spec"]["maxReplicas"] if name in hpas else dep["spec"].get("replicas", 1)
        if replicas > 1:
            labels = dep["spec"]["template"]["metadata"]["labels"]
            covering = [
                p for p in pdbs if all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())
            ]
            assert covering, f"Deployment {name} ({replicas} replicas) has no PodDisruptionBudget"
        if name in hpas:
            assert "replicas" not in dep["spec"], f"{name}: HPA-managed Deployment must not pin replicas"


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_service_accounts_and_tokens(chart, value_set):
    for obj in workloads(chart, value_set):
        spec = pod_spec(obj)
        name = obj["metadata"]["name"]
        talks_to_api = chart == "tenantry-operator"
        if not talks_to_api:
            assert spec.get("automountServiceAccountToken") is False, name
    for sa in kinds(render(chart, value_set), "ServiceAccount"):
        assert sa.get("automountServiceAccountToken") is False


@pytest.mark.parametrize(("chart", "value_set"), ALL_SETS)
def test_images_are_pinned(chart, value_set):
    for obj in workloads(chart, value_set):
        for c in containers(pod_spec(obj)):
            image = c["image"]
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, image
            assert not image.endswith(":latest"), image


def test_grpc_services_use_native_grpc_probes_and_gateway_http():
    for dep in kinds(render("tenantry", "default"), "Deployment"):
        c = dep["spec"]["template"]["spec"]["containers"][0]
        name = dep["metadata"]["name"]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if name == "gateway":
                assert c[probe]["httpGet"]["port"] == "http"
                assert c[probe]["httpGet"]["path"] in ("/health/live", "/health/ready")
            else:
                grpc_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
                assert c[probe]["grpc"]["port"] == grpc_port, name
    gw = next(d for d in kinds(render("tenantry", "default"), "Deployment") if d["metadata"]["name"] == "gateway")
    probes = gw["spec"]["template"]["spec"]["containers"][0]
    assert probes["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/health/ready"


def test_bundled_backends_are_marked_not_for_production():
    for sts in kinds(render("tenantry", "default"), "StatefulSet"):
        assert "not-for-production" in " ".join(sts["metadata"]["annotations"])
        assert sts["spec"]["replicas"] == 1
