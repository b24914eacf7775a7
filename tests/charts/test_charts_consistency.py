"""The charts agree with the rest of the repository: CRDs, protos, architecture, rendered files."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from chartkit import OPERATOR, PLATFORM, REPO, kinds, render

PROTO_SERVICE = re.compile(r"^\s*service\s+(\w+)\s*\{", re.MULTILINE)
PROTO_PACKAGE = re.compile(r"^\s*package\s+tenantry\.([a-z_]+)\.v1\s*;", re.MULTILINE)

# The architecture (PLATFORM FACTS): service -> ports and callees.
GRPC_PORTS = {
    "identity": 50051,
    "notification": 50052,
    "analytics": 50053,
    "moderation": 50054,
    "telegram": 50055,
    "sync-worker": 50056,
    "relay": 50057,
}
CALLS = {
    "gateway": {"identity", "notification", "analytics", "moderation", "telegram"},
    "moderation": {"identity", "telegram", "notification"},
    "sync-worker": {"telegram", "moderation", "notification"},
    "notification": {"telegram"},
    "telegram": {"moderation", "identity", "notification"},
    "identity": set(),
    "analytics": set(),
    "relay": set(),
}
EXTERNAL = {"telegram", "notification", "sync-worker"}
# proto package segment -> chart service, where the names differ
PROTO_TO_CHART = {"sync_worker": "sync-worker", "syncworker": "sync-worker"}


# ----------------------------------------------------------------------------- CRDs
def test_crds_are_byte_identical_to_manifests():
    source = REPO / "manifests" / "crds"
    chart = OPERATOR / "crds"
    src_files = sorted(p.name for p in source.glob("*.yaml")) if source.is_dir() else []
    chart_files = sorted(p.name for p in chart.glob("*.yaml"))
    assert src_files == chart_files, "run: python charts/render.py crds"
    for name in src_files:
        assert (source / name).read_bytes() == (chart / name).read_bytes(), (
            f"charts/tenantry-operator/crds/{name} differs from manifests/crds/{name}; "
            "run: python charts/render.py crds"
        )


def test_crd_hook_ships_the_same_crds():
    objs = render("tenantry-operator", "default")
    crd_objs = {o["metadata"]["name"] for o in kinds(objs, "CustomResourceDefinition")}
    hook_cm = next(o for o in kinds(objs, "ConfigMap") if o["metadata"]["name"].endswith("-crd-upgrade"))
    for name, text in hook_cm["data"].items():
        assert (OPERATOR / "crds" / name).read_text().rstrip("\n") == text.rstrip("\n")
    role = next(o for o in kinds(objs, "ClusterRole") if o["metadata"]["name"].endswith("-crd-upgrade"))
    assert set(role["rules"][0]["resourceNames"]) == crd_objs
    job = next(o for o in kinds(objs, "Job"))
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--server-side" in args and "--force-conflicts" in args


def test_rendered_manifests_are_fresh():
    proc = subprocess.run(
        [sys.executable, str(REPO / "charts" / "render.py"), "check"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr


def test_rendered_manifests_contain_no_secrets_or_hooks():
    text = (REPO / "manifests" / "rendered" / "tenantry.yaml").read_text()
    assert "kind: Secret\n" not in text
    op = (REPO / "manifests" / "rendered" / "tenantry-operator.yaml").read_text()
    assert "helm.sh/hook" not in op and "kind: Job" not in op


# ----------------------------------------------------------------------------- protos
def proto_services() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "protos" / "tenantry").glob("*/v1/*.proto")):
        text = path.read_text()
        pkg = PROTO_PACKAGE.search(text)
        segment = pkg.group(1) if pkg else path.parts[-3]
        services = PROTO_SERVICE.findall(text)
        if services:
            found.setdefault(PROTO_TO_CHART.get(segment, segment), []).extend(services)
    return found


def test_proto_parser_sees_services():
    assert "common" not in proto_services()
    assert PROTO_SERVICE.findall("syntax = 'proto3';\nservice IdentityService {\n rpc A(B) returns (C);\n}")


def test_every_grpc_service_has_a_deployment_and_a_service():
    objs = render("tenantry", "default")
    deployments = {o["metadata"]["name"] for o in kinds(objs, "Deployment")}
    services = {o["metadata"]["name"]: o for o in kinds(objs, "Service")}
    missing = []
    for chart_name, proto_svcs in proto_services().items():
        if chart_name not in deployments or chart_name not in services:
            missing.append(f"{chart_name} ({', '.join(proto_svcs)})")
            continue
        ports = {p["name"]: p["port"] for p in services[chart_name]["spec"]["ports"]}
        assert "grpc" in ports, f"Service {chart_name} exposes no grpc port"
    assert not missing, f"gRPC services in protos/ without Deployment+Service in charts/tenantry: {missing}"


# ----------------------------------------------------------------------------- architecture
def test_ports_and_peer_addresses_match_the_architecture():
    objs = render("tenantry", "default")
    config = next(o for o in kinds(objs, "ConfigMap") if o["metadata"]["name"].endswith("-config"))["data"]
    for svc, port in GRPC_PORTS.items():
        env = {"sync-worker": None, "relay": None}.get(svc, f"{svc.upper()}_ADDR")
        if env:
            assert config[env] == f"{svc}:{port}"
    for key in ("LOG_LEVEL", "JWT_ISSUER", "TELEGRAM_API_BASE"):
        assert key in config
    assert config["TELEGRAM_API_BASE"] == "https://api.telegram.org"
    for dep in kinds(objs, "Deployment"):
        c = dep["spec"]["template"]["spec"]["containers"][0]
        name = dep["metadata"]["name"]
        assert c["args"][:2] == ["serve", name]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports["metrics"] == 9464
        if name == "gateway":
            assert ports["http"] == 8080
        else:
            assert ports["grpc"] == GRPC_PORTS[name]
        if name == "telegram":
            assert ports["webhook"] == 8081
        env = {e["name"]: e for e in c["env"]}
        assert {"JWT_SECRET", "DATABASE_URL", "REDIS_URL"} <= set(env)
        assert "secretKeyRef" in env["JWT_SECRET"]["valueFrom"]


def allowed_edges(objs):
    """(caller, callee) pairs the NetworkPolicies allow, checked from both ends."""
    pols = {
        o["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: o
        for o in kinds(objs, "NetworkPolicy")
        if "app.kubernetes.io/instance" in o["spec"]["podSelector"]["matchLabels"]
    }
    egress, ingress = set(), set()
    for name, pol in pols.items():
        for rule in pol["spec"].get("egress", []):
            for peer in rule.get("to", []):
                comp = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
                if comp in CALLS and {p["port"] for p in rule["ports"]} == {GRPC_PORTS[comp]}:
                    egress.add((name, comp))
        for rule in pol["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                comp = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
                if comp in CALLS:
                    assert [p["port"] for p in rule["ports"]] == [GRPC_PORTS[name]]
                    ingress.add((comp, name))
    return pols, egress, ingress


def test_network_policies_allow_exactly_the_architectures_calls():
    objs = render("tenantry", "default")
    pols, egress, ingress = allowed_edges(objs)
    expected = {(a, b) for a, callees in CALLS.items() for b in callees}
    assert egress == expected
    assert ingress == expected
    assert set(CALLS) - {"relay"} <= set(pols)  # the relay role is off by default
    for name, pol in pols.items():
        assert pol["spec"]["policyTypes"] == ["Ingress", "Egress"]
        ports_out = [{p["port"] for p in r["ports"]} for r in pol["spec"]["egress"]]
        if name in CALLS:
            assert {53} in ports_out, f"{name}: no DNS"
            assert {5432} in ports_out and {6379} in ports_out, f"{name}: no backends"
            assert ({443, 587, 465} in ports_out) == (name in EXTERNAL), name
            ports_in = [{p["port"] for p in r["ports"]} for r in pol["spec"]["ingress"]]
            assert {9464} in ports_in, f"{name}: Prometheus cannot scrape"
            public = {"gateway": {8080}, "telegram": {8081}}.get(name)
            if public:
                assert public in ports_in
            assert not any(p & {8080, 8081} for p in ports_in if p != public), name
        else:  # bundled backends: no egress at all
            assert pol["spec"]["egress"] == []


def test_ingress_and_httproute_route_gateway_and_telegram_webhook():
    objs = render("tenantry", "everything")
    ing = kinds(objs, "Ingress")[0]
    paths = {p["path"]: p["backend"]["service"] for p in ing["spec"]["rules"][0]["http"]["paths"]}
    assert paths["/"] == {"name": "gateway", "port": {"name": "http"}}
    assert paths["/telegram/"] == {"name": "telegram", "port": {"name": "webhook"}}
    route = kinds(objs, "HTTPRoute")[0]
    backends = {r["matches"][0]["path"]["value"]: r["backendRefs"][0] for r in route["spec"]["rules"]}
    assert backends["/"] == {"name": "gateway", "port": 8080}
    assert backends["/telegram/"] == {"name": "telegram", "port": 8081}


def test_grafana_dashboard_covers_the_platform_metrics():
    objs = render("tenantry", "default")
    cm = next(o for o in kinds(objs, "ConfigMap") if o["metadata"]["name"].endswith("-dashboard"))
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dash = json.loads(cm["data"]["tenantry.json"])
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p.get("targets", []))
    for metric in (
        "tenantry_rpc_requests_total",
        "tenantry_rpc_duration_seconds_bucket",
        "tenantry_stream_lag",
        "tenantry_outbox_backlog",
        "tenantry_sync_outcomes_total",
    ):
        assert metric in exprs, metric
    assert "histogram_quantile" in exprs


def test_otel_endpoint_and_service_monitor():
    objs = render("tenantry", "production")
    config = next(o for o in kinds(objs, "ConfigMap") if o["metadata"]["name"].endswith("-config"))["data"]
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://otel-collector")
    sm = kinds(objs, "ServiceMonitor")[0]
    selected = set(sm["spec"]["selector"]["matchExpressions"][0]["values"])
    assert selected == set(CALLS)


def test_external_backends_read_urls_from_existing_secrets():
    objs = render("tenantry", "production")
    assert not kinds(objs, "Secret") and not kinds(objs, "StatefulSet")
    for dep in kinds(objs, "Deployment"):
        env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "tenantry-postgresql",
            "key": "DATABASE_URL",
        }
        assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "tenantry-redis", "key": "REDIS_URL"}


# ----------------------------------------------------------------------------- operator
def operator_rules(objs):
    rules = set()
    for role in kinds(objs, "ClusterRole") + kinds(objs, "Role"):
        if role["metadata"]["name"].endswith("-crd-upgrade"):
            continue
        scope = "cluster" if role["kind"] == "ClusterRole" else role["metadata"]["namespace"]
        for r in role["rules"]:
            for g in r["apiGroups"]:
                for res in r["resources"]:
                    for v in r["verbs"]:
                        rules.add((scope, g, res, v))
    return rules


def expected_operator_rules(namespaces):
    rules = set()
    for v in ("get", "list", "watch", "patch"):
        rules.add(("cluster", "tenantry.dev", "tenants", v))
        for ns in namespaces:
            rules.add((ns, "tenantry.dev", "syncpolicies", v))
    rules.add(("cluster", "tenantry.dev", "tenants/status", "patch"))
    for ns in namespaces:
        rules.add((ns, "tenantry.dev", "syncpolicies/status", "patch"))
    for v in ("list", "watch"):
        rules.add(("cluster", "apiextensions.k8s.io", "customresourcedefinitions", v))
        rules.add(("cluster", "", "namespaces", v))
    rules.add(("cluster", "", "events", "create"))
    rules.add(("cluster", "events.k8s.io", "events", "create"))
    # the operator's kube client: get, create, merge-patch, delete (no PUT, no list)
    for v in ("get", "create", "patch", "delete"):
        for ns in namespaces:
            rules.add((ns, "apps", "deployments", v))
        rules.add(("tenantry", "", "secrets", v))
        rules.add(("tenantry", "", "configmaps", v))
    return rules


@pytest.mark.parametrize(
    ("value_set", "namespaces"),
    [("default", ["tenantry"]), ("namespaced", ["tenantry", "team-a"])],
)
def test_operator_rbac_is_exactly_what_it_uses(value_set, namespaces):
    objs = render("tenantry-operator", value_set)
    assert operator_rules(objs) == expected_operator_rules(namespaces)
    for role in kinds(objs, "ClusterRole") + kinds(objs, "Role"):
        for r in role["rules"]:
            assert "*" not in r["verbs"] and "*" not in r["resources"] and "*" not in r["apiGroups"]
    assert not any(g == "kopf.dev" for _, g, _, _ in operator_rules(objs)), "standalone: no peering"
    (dep,) = kinds(objs, "Deployment")
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert [a for a in args if a.startswith("--namespace=")] == [f"--namespace={n}" for n in namespaces]


def test_operator_deployment_liveness_metrics_and_peering():
    objs = render("tenantry-operator", "default")
    (dep,) = kinds(objs, "Deployment")
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["args"][0] == "operator"
    assert "--standalone" in c["args"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in c["args"]
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"health": 8080, "metrics": 9464}
    svc = next(o for o in kinds(objs, "Service"))
    assert svc["spec"]["ports"][0]["port"] == 9464
    crds = {o["metadata"]["name"] for o in kinds(objs, "CustomResourceDefinition")}
    assert crds == {p.name.removesuffix(".yaml") for p in (REPO / "manifests" / "crds").glob("*.yaml")}


def test_operator_reads_the_platform_secret_by_default():
    platform_secret = next(o for o in kinds(render("tenantry", "default"), "Secret"))
    objs = render("tenantry-operator", "default")
    c = kinds(objs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    name = platform_secret["metadata"]["name"]
    assert env["TENANTRY_BACKEND_SECRET"]["value"] == name
    assert env["TENANTRY_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["TENANTRY_IMAGE"]["value"] == c["image"]
    for key in ("DATABASE_URL", "REDIS_URL"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": name, "key": key}
    assert set(platform_secret["stringData"]) >= {"DATABASE_URL", "REDIS_URL", "JWT_SECRET"}


def test_chart_versions_agree():
    import yaml

    a = yaml.safe_load((PLATFORM / "Chart.yaml").read_text())
    b = yaml.safe_load((OPERATOR / "Chart.yaml").read_text())
    assert a["appVersion"] == b["appVersion"]


def test_app_version_is_the_package_version():
    import tomllib

    import yaml

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert yaml.safe_load((PLATFORM / "Chart.yaml").read_text())["appVersion"] == project


def test_operator_managed_workloads_get_the_same_egress_and_reach_their_callees():
    objs = render("tenantry", "default")
    managed = {
        o["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]: o
        for o in kinds(objs, "NetworkPolicy")
        if o["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/managed-by") == "tenantry-operator"
    }
    assert set(managed) == {"bot", "sync-worker"}
    platform = {o["metadata"]["name"]: o for o in kinds(objs, "NetworkPolicy")}
    assert managed["bot"]["spec"]["egress"] == platform["telegram"]["spec"]["egress"]
    assert managed["sync-worker"]["spec"]["egress"] == platform["sync-worker"]["spec"]["egress"]
    # callees of telegram admit the bots (operator-managed telegram instances)
    for callee in CALLS["telegram"]:
        froms = [
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
            for rule in platform[callee]["spec"]["ingress"]
            for peer in rule.get("from", [])
            if "podSelector" in peer
        ]
        assert "bot" in froms, callee
    # bundled backends admit operator-managed pods (labelled app.kubernetes.io/name=tenantry)
    pg = platform["tenantry-postgresql"]["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "tenantry"}}} in pg


def test_relay_role_takes_the_outbox_from_moderation_when_enabled():
    off = {d["metadata"]["name"]: d for d in kinds(render("tenantry", "default"), "Deployment")}
    assert "relay" not in off
    mod_env = {e["name"] for e in off["moderation"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "TENANTRY_OUTBOX_RELAY" not in mod_env
    on = {d["metadata"]["name"]: d for d in kinds(render("tenantry", "everything"), "Deployment")}
    relay = on["relay"]["spec"]["template"]["spec"]["containers"][0]
    assert relay["args"][:4] == ["serve", "relay", "--app", "moderation"]
    assert {"name": "GRPC_PORT", "value": "50057"} in relay["env"]
    mod_env = {e["name"]: e.get("value") for e in on["moderation"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert mod_env["TENANTRY_OUTBOX_RELAY"] == "separate"
    pols, egress, _ = allowed_edges(render("tenantry", "everything"))
    assert "relay" in pols and not {e for e in egress if e[0] == "relay"}  # backends only, no peers
