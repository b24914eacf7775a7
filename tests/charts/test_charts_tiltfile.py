"""The Tiltfile evaluates (starlark-pyo3, with stubs of Tilt's API) and references only real things."""

from __future__ import annotations

import starlark as sl
import yaml
from chartkit import REPO, kinds, render

TILT_API = [
    "allow_k8s_contexts",
    "update_settings",
    "docker_build",
    "fall_back_on",
    "sync",
    "run",
    "k8s_yaml",
    "blob",
    "helm",
    "k8s_resource",
    "local_resource",
    "listdir",
    "read_file",
    "watch_file",
    "local",
    "include",
    "load",
]


def evaluate_tiltfile():
    calls: list[tuple[str, tuple, dict]] = []

    def stub(name):
        def fn(*args, **kwargs):
            calls.append((name, args, kwargs))
            return {"__tilt__": name, "args": list(args)}

        return fn

    module = sl.Module()
    for name in TILT_API:
        module.add_callable(name, stub(name))
    module["TRIGGER_MODE_MANUAL"] = "manual"
    module["TRIGGER_MODE_AUTO"] = "auto"
    source = (REPO / "Tiltfile").read_text()
    ast = sl.parse("Tiltfile", source, sl.Dialect.extended())
    sl.eval(module, ast, sl.Globals.standard())
    return calls


CALLS = evaluate_tiltfile()


def called(name):
    return [(a, k) for n, a, k in CALLS if n == name]


def test_tiltfile_only_touches_kind_contexts():
    ((args, _),) = called("allow_k8s_contexts")
    assert all(ctx.startswith("kind-") for ctx in args[0])
    kind_cfg = yaml.safe_load((REPO / "deploy" / "kind-config.yaml").read_text())
    assert f"kind-{kind_cfg['name']}" in args[0]


def test_image_build_and_live_update_paths_exist():
    ((args, kw),) = called("docker_build")
    assert args[0] == "tenantry"
    assert (REPO / kw["context"]).is_dir()
    dockerfile = (REPO / kw["dockerfile"]).read_text()
    assert f"AS {kw['target']}" in dockerfile
    for path in kw["only"]:
        if path != "README.md":  # written by the README's owner; COPY'd by the Dockerfile
            assert (REPO / path).exists(), path
    syncs = called("sync")
    assert syncs, "no live_update sync steps"
    for (src, dest), _ in syncs:
        assert (REPO / src).is_dir(), src
        assert dest.startswith("/app/"), dest
        assert dest in dockerfile, f"{dest} is not where the dev image keeps the sources"
    for (paths,), _ in called("fall_back_on"):
        for p in paths:
            assert (REPO / p).exists(), p


def test_charts_and_values_exist_and_use_the_tilt_image():
    helms = called("helm")
    assert {a[0] for a, _ in helms} == {"charts/tenantry", "charts/tenantry-operator"}
    for (chart,), kw in helms:
        assert (REPO / chart / "Chart.yaml").is_file()
        for vf in kw["values"]:
            assert (REPO / vf).is_file(), vf
            values = yaml.safe_load((REPO / vf).read_text())
            assert values["image"]["repository"] == "tenantry"
            assert values["liveUpdate"] is True
    assert len(called("k8s_yaml")) >= 2


def test_resources_exist_have_labels_and_port_forwards():
    names = set()
    for chart, vs in (("tenantry", "dev"), ("tenantry-operator", "dev")):
        for o in render(chart, vs):
            if o["kind"] in ("Deployment", "StatefulSet"):
                names.add(o["metadata"]["name"])
    resources = called("k8s_resource")
    for (name,), kw in resources:
        assert name in names, f"k8s_resource({name!r}) names no workload"
        assert kw.get("labels"), f"{name} has no labels"
        for dep in kw.get("resource_deps", []):
            assert dep in names, dep
    declared = {a[0] for a, _ in resources}
    assert names <= declared, f"workloads without k8s_resource: {names - declared}"
    forwards = {a[0]: kw.get("port_forwards", []) for a, kw in resources}
    assert "8080:8080" in forwards["gateway"]
    assert any(f.endswith(":9464") for f in forwards["gateway"])
    for grpc_svc, port in (("identity", 50051), ("telegram", 50055)):
        assert f"{port}:{port}" in forwards[grpc_svc]
    local_ports = [f.split(":")[0] for fs in forwards.values() for f in fs]
    assert len(local_ports) == len(set(local_ports)), "two port-forwards share a local port"


def test_dev_workloads_match_port_forwards():
    for (name,), kw in called("k8s_resource"):
        objs = [
            o
            for o in render("tenantry", "dev") + render("tenantry-operator", "dev")
            if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == name
        ]
        ports = {
            p["containerPort"]
            for o in objs
            for c in o["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for fwd in kw.get("port_forwards", []):
            assert int(fwd.split(":")[1]) in ports, f"{name}: {fwd}"


def test_local_resources_reference_real_paths():
    for (_name,), kw in called("local_resource"):
        for dep in kw.get("deps", []):
            if dep == "manifests/samples":  # written by the operator's authors
                continue
            assert (REPO / dep).exists(), dep
    objects = [o for _, kw in called("k8s_resource") for o in kw.get("objects", [])]
    crds = {o["metadata"]["name"] for o in kinds(render("tenantry-operator", "dev"), "CustomResourceDefinition")}
    for sel in objects:
        name, kind = sel.split(":")[:2]
        assert kind == "customresourcedefinition" and name in crds, sel
