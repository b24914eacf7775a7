"""docs/kubernetes.md and the decisions exist and say what users need."""

from __future__ import annotations

from chartkit import REPO


def test_kubernetes_guide_covers_the_workflows():
    text = (REPO / "docs" / "kubernetes.md").read_text()
    for needle in (
        "kind create cluster --config deploy/kind-config.yaml",
        "tilt up",
        "kubectl apply -f manifests/samples/",
        "helm install tenantry-operator charts/tenantry-operator",
        "helm install tenantry charts/tenantry",
        "kubectl apply -f manifests/rendered/",
        "Prerequisites",
        "standalone",
    ):
        assert needle in text, needle
    assert (REPO / "deploy" / "kind-config.yaml").is_file()


def test_decisions_are_recorded():
    decisions = REPO / "docs" / "decisions"
    assert "--server-side" in (decisions / "006-crd-upgrade-path.md").read_text()
    assert "tenantry serve" in (decisions / "008-one-image.md").read_text()
