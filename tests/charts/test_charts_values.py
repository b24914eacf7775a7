"""values.schema.json: typos, wrong types and out-of-range values make `helm install` fail clearly."""

from __future__ import annotations

import json

import pytest
import yaml
from chartkit import OPERATOR, PLATFORM, run_helm

PLATFORM_BAD = [
    # (values, fragment expected in helm's error)
    ({"services": {"gateway": {"replicas": "three"}}}, "/services/gateway/replicas"),
    ({"services": {"gateway": {"enabled": "yes"}}}, "/services/gateway/enabled"),
    ({"services": {"identity": {"resources": "1Gi"}}}, "/services/identity/resources"),
    ({"services": {"identity": {"extraArgs": "--debug"}}}, "/services/identity/extraArgs"),
    ({"image": {"tag": 1.5}}, "/image/tag"),
    ({"networkPolicy": {"enabled": "false"}}, "/networkPolicy/enabled"),
    ({"replicas": 3}, "'replicas' not allowed"),
    ({"services": {"gatway": {"enabled": True, "replicas": 1}}}, "'gatway' not allowed"),
    ({"services": {"gateway": {"replicaCount": 2}}}, "'replicaCount' not allowed"),
    ({"ingress": {"enabeld": True}}, "'enabeld' not allowed"),
    ({"postgresql": {"bundled": {"persistence": {"sise": "1Gi"}}}}, "'sise' not allowed"),
    ({"services": {"gateway": {"replicas": 0}}}, "/services/gateway/replicas"),
    ({"services": {"gateway": {"replicas": -1}}}, "/services/gateway/replicas"),
    ({"services": {"sync-worker": {"replicas": 1000}}}, "/services/sync-worker/replicas"),
    ({"defaults": {"autoscaling": {"maxReplicas": 500}}}, "/defaults/autoscaling/maxReplicas"),
    (
        {"services": {"identity": {"autoscaling": {"targetCPUUtilizationPercentage": 150}}}},
        "targetCPUUtilizationPercentage",
    ),
    ({"postgresql": {"mode": "embedded"}}, "/postgresql/mode"),
    ({"postgresql": {"mode": "external"}}, "/postgresql/external/existingSecret"),
    ({"redis": {"mode": "external", "external": {"existingSecret": ""}}}, "/redis/external/existingSecret"),
    ({"services": {"gateway": {"env": {"bad-name": "x"}}}}, "/services/gateway/env"),
    ({"services": {"gateway": {"resources": {"requests": {"cpu": "1"}}}}}, "/services/gateway/resources"),
    (
        {"services": {"gateway": {"resources": {"requests": {"memory": "lots"}, "limits": {"memory": "1Gi"}}}}},
        "/services/gateway/resources/requests/memory",
    ),
    ({"config": {"logLevel": "verbose"}}, "/config/logLevel"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
]

OPERATOR_BAD = [
    ({"replicas": 2}, "'replicas' not allowed"),
    ({"watchNamespaces": "tenantry"}, "/watchNamespaces"),
    ({"watchNamespaces": ["Not_A_Namespace"]}, "/watchNamespaces/0"),
    ({"backendSecret": ""}, "/backendSecret"),
    ({"database": {"existingSecret": "x"}}, "'database' not allowed"),
    ({"crds": {"upgradeHook": {"enabled": 1}}}, "/crds/upgradeHook/enabled"),
    ({"resources": {"limits": {"memory": "lots"}}}, "/resources/limits/memory"),
    ({"env": {"lower-case": "x"}}, "/env"),
    ({"serviceMonitor": {"interval": "often"}}, "/serviceMonitor/interval"),
]


def install(chart, values, tmp_path):
    vf = tmp_path / "values.yaml"
    vf.write_text(yaml.safe_dump(values))
    return run_helm("install", "t", str(chart), "--dry-run=client", "--namespace", "tenantry", "--values", str(vf))


@pytest.mark.parametrize(("values", "expected"), PLATFORM_BAD, ids=[json.dumps(v) for v, _ in PLATFORM_BAD])
def test_platform_rejects_bad_values(values, expected, tmp_path):
    res = install(PLATFORM, values, tmp_path)
    assert res.returncode != 0, f"helm accepted {values}"
    assert expected in res.stderr, res.stderr


@pytest.mark.parametrize(("values", "expected"), OPERATOR_BAD, ids=[json.dumps(v) for v, _ in OPERATOR_BAD])
def test_operator_rejects_bad_values(values, expected, tmp_path):
    res = install(OPERATOR, values, tmp_path)
    assert res.returncode != 0, f"helm accepted {values}"
    assert expected in res.stderr, res.stderr


def test_autoscaling_min_above_max_fails_with_a_message(tmp_path):
    values = {
        "services": {
            "gateway": {
                "enabled": True,
                "replicas": 1,
                "autoscaling": {"enabled": True, "minReplicas": 8, "maxReplicas": 4},
            }
        }
    }
    res = install(PLATFORM, values, tmp_path)
    assert res.returncode != 0
    assert "services.gateway.autoscaling: minReplicas (8) must not exceed maxReplicas (4)" in res.stderr


@pytest.mark.parametrize("chart", [PLATFORM, OPERATOR])
def test_schema_forbids_unknown_keys_everywhere(chart):
    """Every object in values.schema.json closes its properties (additionalProperties: false),
    except the documented pass-throughs of Kubernetes types and string maps."""
    schema = json.loads((chart / "values.schema.json").read_text())
    open_objects = []

    def walk(node, path):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                if node.get("additionalProperties") is not False:
                    open_objects.append(path)
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")

    walk(schema, "")
    assert schema["additionalProperties"] is False
    assert not open_objects, open_objects


@pytest.mark.parametrize("chart", [PLATFORM, OPERATOR])
def test_every_default_value_is_described_by_the_schema(chart):
    """Each key of values.yaml exists in the schema (so the schema covers every value)."""
    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())

    def resolve(node):
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    missing = []

    def walk(value, node, path):
        node = resolve(node)
        if isinstance(value, dict) and "properties" in node:
            for k, v in value.items():
                if k not in node["properties"]:
                    missing.append(f"{path}.{k}")
                else:
                    walk(v, node["properties"][k], f"{path}.{k}")

    walk(values, schema, "")
    assert not missing, missing
