"""Fixtures for the operator tests: the kmock-based API emulator and kopf in a thread.

The operator runs under kopf in its own thread and event loop
(``kopf.run(standalone=True, stop_flag=..., ready_flag=...)``), never on the
test's loop: the emulator serves HTTP on the test's loop, so the test only ever
*awaits* (``asyncio.to_thread`` for the thread's flags) and never blocks it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

# kopf fixes timer intervals when handlers are registered (at import), so these
# must be set before tenantry_operator.handlers is imported.
os.environ.setdefault("TENANTRY_RESYNC_SECONDS", "1.5")
os.environ.setdefault("TENANTRY_STATUS_SECONDS", "1.5")
os.environ.setdefault("TENANTRY_BACKOFF_SECONDS", "0.5")
# Re-list often, so a finalizer removal that lost a race is retried within seconds.
os.environ.setdefault("TENANTRY_WATCH_SECONDS", "5")
os.environ["TENANTRY_NAMESPACE"] = "tenantry"
# kubectl's watch-list mode is not supported by the emulator.
os.environ["KUBE_FEATURE_WatchListClient"] = "false"

import kmock

from .emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
CRDS = sorted((ROOT / "manifests" / "crds").glob("*.yaml"))
TENANTS = "/apis/tenantry.dev/v1alpha1/tenants"
NAMESPACE = "tenantry"


def policies_path(ns: str = NAMESPACE) -> str:
    return f"/apis/tenantry.dev/v1alpha1/namespaces/{ns}/syncpolicies"


class Api:
    """Thin JSON helpers over the emulator's own HTTP client."""

    def __init__(self, mock: Emulator) -> None:
        self.mock = mock

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json") -> Any:
        async with self.mock.request(method, path, json=body,
                                     headers={"Content-Type": content_type}) as resp:
            data = await resp.json(content_type=None)
            if resp.status == 404:
                return None
            assert resp.status < 400, (resp.status, data.get("message"), data.get("details"))
            return data

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def create(self, path: str, body: dict[str, Any]) -> Any:
        return await self.request("POST", path, body)

    async def patch(self, path: str, body: dict[str, Any]) -> Any:
        return await self.request("PATCH", path, body, "application/merge-patch+json")

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def wait(self, path: str, check: Callable[[Any], bool], timeout: float = 60,
                   what: str = "") -> Any:
        """Poll ``path`` until ``check(obj)`` holds; fail with the last object seen."""
        deadline = asyncio.get_running_loop().time() + timeout
        obj = None
        while asyncio.get_running_loop().time() < deadline:
            obj = await self.get(path)
            try:
                if check(obj):
                    return obj
            except (KeyError, TypeError, IndexError):
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what or path}: {obj!r}")


def condition(obj: Any, type_: str) -> dict[str, Any]:
    for c in (obj or {}).get("status", {}).get("conditions", []):
        if c["type"] == type_:
            return c
    return {}


def is_ready(obj: Any) -> bool:
    return bool(obj) and condition(obj, "Ready").get("status") == "True" and \
        obj["status"].get("observedGeneration") == obj["metadata"].get("generation")


@pytest.fixture
async def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """The emulated API server with the CRDs (POSTed from manifests/crds), the
    operator's namespace and the backend Secret; KUBECONFIG points at it."""
    async with Emulator() as mock, kmock.Server(mock) as server:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "emu",
            "clusters": [{"name": "emu", "cluster": {"server": str(server.url).rstrip("/")}}],
            "users": [{"name": "emu", "user": {"token": "test-token"}}],
            "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "emu",
                                                     "namespace": NAMESPACE}}],
        }))
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        api = Api(mock)
        for crd in CRDS:
            await api.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                             yaml.safe_load(crd.read_text()))
        await api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": NAMESPACE}})
        await api.create(f"/api/v1/namespaces/{NAMESPACE}/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tenantry-backends"},
            "stringData": {"DATABASE_URL": "postgresql://x", "REDIS_URL": "redis://x"}})
        api.kubeconfig = str(kubeconfig)  # type: ignore[attr-defined]
        yield api


class OperatorThread:
    """``tenantry_operator.main.run`` in a thread, startable and stoppable (restarts)."""

    def __init__(self, *, liveness: str | None = None, metrics_port: int = 0) -> None:
        self.thread: threading.Thread | None = None
        self.stop_flag = threading.Event()
        self.liveness = liveness
        self.metrics_port = metrics_port

    async def start(self) -> None:
        from tenantry_operator import main

        self.stop_flag = threading.Event()
        ready = threading.Event()
        self.thread = threading.Thread(target=main.run, daemon=True, kwargs=dict(
            namespace=NAMESPACE, liveness=self.liveness, metrics_port=self.metrics_port, standalone=True,
            stop_flag=self.stop_flag, ready_flag=ready))
        self.thread.start()
        assert await asyncio.to_thread(ready.wait, 30), "operator did not start"

    async def stop(self) -> None:
        if self.thread is not None:
            self.stop_flag.set()
            await asyncio.to_thread(self.thread.join, 30)
            assert not self.thread.is_alive(), "operator did not stop"
            self.thread = None


@pytest.fixture
async def operator(kube: Api, database_url: str, redis_url: str) -> AsyncIterator[OperatorThread]:
    op = OperatorThread()
    await op.start()
    yield op
    await op.stop()
