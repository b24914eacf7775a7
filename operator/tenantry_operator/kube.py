"""A small async Kubernetes REST client (aiohttp) on kopf's connection info.

The operator needs a handful of calls (get/create/merge-patch/delete of
Secrets, ConfigMaps, Deployments and Tenants) on its own event loop. kopf
already logged in (service account or kubeconfig) and hands us the same
:class:`kopf.ConnectionInfo`, so there is one identity and no second client
library to configure (the official client reads ``KUBECONFIG`` at import).
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
from collections.abc import Mapping
from typing import Any

import aiohttp
import kopf

from .desired import needs_update

_PLURALS = {"Secret": "secrets", "ConfigMap": "configmaps", "Deployment": "deployments",
            "Tenant": "tenants", "SyncPolicy": "syncpolicies", "Event": "events",
            "Namespace": "namespaces"}


class KubeError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Kubernetes API {status}: {message}")
        self.status = status


def object_path(api_version: str, kind: str, namespace: str | None, name: str | None = None,
                subresource: str | None = None) -> str:
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [base]
    if namespace:
        parts.append(f"namespaces/{namespace}")
    parts.append(_PLURALS[kind])
    if name:
        parts.append(name)
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def path_of(obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    return object_path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])


def _write_temp(data: str | bytes) -> str:
    raw = base64.b64decode(data) if isinstance(data, str) else data
    with tempfile.NamedTemporaryFile(delete=False, suffix=".pem") as fh:
        fh.write(raw)
        return fh.name


class Kube:
    """Async calls against the API server kopf is connected to."""

    def __init__(self, info: kopf.ConnectionInfo) -> None:
        self.server = info.server.rstrip("/")
        self._info = info
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext | bool:
        info = self._info
        if not self.server.startswith("https"):
            return False
        ctx = ssl.create_default_context(
            cafile=info.ca_path,
            cadata=base64.b64decode(info.ca_data).decode() if info.ca_data else None,
        )
        if info.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        cert = info.certificate_path or (_write_temp(info.certificate_data)
                                         if info.certificate_data else None)
        key = info.private_key_path or (_write_temp(info.private_key_data)
                                        if info.private_key_data else None)
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def _headers(self) -> dict[str, str]:
        info = self._info
        if info.token:
            return {"Authorization": f"{info.scheme or 'Bearer'} {info.token}"}
        if info.username and info.password:
            raw = base64.b64encode(f"{info.username}:{info.password}".encode()).decode()
            return {"Authorization": f"Basic {raw}"}
        return {}

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers(),
                connector=aiohttp.TCPConnector(ssl=self._ssl()),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, body: Any = None, *,
                      content_type: str = "application/json") -> dict[str, Any] | None:
        """Call the API; return the JSON body, None on 404, raise KubeError otherwise."""
        session = await self.session()
        data = None if body is None else json.dumps(body)
        async with session.request(method, self.server + path, data=data,
                                   headers={"Content-Type": content_type,
                                            "Accept": "application/json"}) as resp:
            text = await resp.text()
            if resp.status == 404:
                return None
            if resp.status >= 400:
                try:
                    message = json.loads(text).get("message", text)
                except ValueError:
                    message = text
                raise KubeError(resp.status, str(message)[:300])
            return json.loads(text) if text else {}

    async def get(self, path: str) -> dict[str, Any] | None:
        return await self.request("GET", path)

    async def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        path = object_path(obj["apiVersion"], obj["kind"], meta.get("namespace"))
        result = await self.request("POST", path, obj)
        assert result is not None
        return result

    async def patch(self, path: str, patch: Mapping[str, Any]) -> dict[str, Any] | None:
        return await self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    async def delete(self, path: str) -> bool:
        """Delete (background propagation); True if it existed."""
        return await self.request(
            "DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                             "propagationPolicy": "Background"}) is not None

    async def apply(self, desired: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Create or merge-patch ``desired``; return (object, "created"/"updated"/None)."""
        path = path_of(desired)
        existing = await self.get(path)
        if existing is None:
            try:
                return await self.create(desired), "created"
            except KubeError as exc:
                if exc.status != 409:
                    raise
                existing = await self.get(path)
                if existing is None:
                    raise
        if not needs_update(existing, desired):
            return existing, None
        patch = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind")}
        patch["metadata"] = {k: desired["metadata"][k]
                             for k in ("labels", "ownerReferences") if k in desired["metadata"]}
        result = await self.patch(path, patch)
        return (result or existing), "updated"


def secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """Decoded ``data`` of a Secret (``stringData`` too, as an emulator may keep it)."""
    out = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    out.update(secret.get("stringData") or {})
    return out
