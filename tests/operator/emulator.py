"""A Kubernetes API emulator for the operator tests: kmock 0.8 plus the gaps it leaves.

kmock's ``KubernetesEmulator`` stores objects and streams watch events, which is
enough for kopf and kubectl only after these fixes (each one found by running
kopf 1.45 and kubectl 1.35 against it):

* Stored objects get no ``metadata.resourceVersion``, ``uid``,
  ``creationTimestamp`` or ``generation``. kopf's finalizer JSON-patch starts
  with ``test /metadata/resourceVersion`` (a 500 without it), ownerReferences
  need the owner's uid, ``observedGeneration`` needs ``generation``. Every
  write here goes through :meth:`Emulator._mutate`, which assigns them and
  returns 422 when a JSON-patch ``test`` fails (what kopf expects on conflict).
* A POSTed CRD does not register its resource: :meth:`_register_crd` adds a
  ``kmock.ResourceInfo`` with verbs and the ``status`` subresource (without
  verbs, kopf silently skips the resource). The status subresource also gets
  the real API's split: writes to ``/status`` change only ``status``, writes
  to the object never change ``status``.
* kubectl rejects lists without ``kind``/``apiVersion``, ``/api/v1`` reporting
  groupVersion ``"/v1"`` and watch streams sent as application/octet-stream;
  all three are fixed below. ``kubectl get`` asks for a server-side Table
  (that is where a CRD's printer columns are rendered): built here from the
  CRD's ``additionalPrinterColumns``.
* ``/api/v1/namespaces`` is misparsed as a namespace prefix (500): the parser
  is wrapped to read it as the Namespace resource.
* No controllers run: the Deployment controller is emulated by filling a
  Deployment's ``status`` as fully available when it is written, and there is
  no garbage collection by ownerReferences (the operator deletes what it owns).
* Unsupported (use the workaround): /openapi (``kubectl apply
  --validate=false``), watch-list (``KUBE_FEATURE_WatchListClient=false``),
  protobuf bodies (``kubectl apply -f``, not ``create``).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import itertools
import json
import re
import uuid
from typing import Any

import aiohttp.web
import jsonpatch
import kmock
from kmock._internal import dicts, enums, parsing

_parse_path = parsing.parse_path


def _parse_path_with_namespaces(path: str) -> parsing.ParsedPath:
    """kmock 0.8 reads ``/api/v1/namespaces[/NAME]`` as a namespace prefix and crashes
    (500) on it; it is the Namespace resource itself."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) <= 4:
        return parsing.ParsedPath("", "v1", "namespaces", None,
                                  parts[3] if len(parts) == 4 else None, None)
    return _parse_path(path)


parsing.parse_path = _parse_path_with_namespaces

BUILTINS = {
    "v1/namespaces": dict(kind="Namespace", namespaced=False),
    "v1/secrets": dict(kind="Secret", namespaced=True),
    "v1/configmaps": dict(kind="ConfigMap", namespaced=True),
    "v1/events": dict(kind="Event", namespaced=True),
    "v1/serviceaccounts": dict(kind="ServiceAccount", namespaced=True),
    "apps/v1/deployments": dict(kind="Deployment", namespaced=True),
    "apiextensions.k8s.io/v1/customresourcedefinitions": dict(
        kind="CustomResourceDefinition", namespaced=False),
}
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def jsonpath(obj: Any, path: str) -> Any:
    """The subset of kubectl JSONPath used by printer columns: .a.b and [?(@.k=="v")]."""
    tokens = re.findall(r'\.([A-Za-z0-9_-]+)|\[\?\(@\.([A-Za-z0-9_]+)=="([^"]*)"\)\]', path)
    cur: Any = obj
    for key, fkey, fval in tokens:
        if cur is None:
            return None
        if key:
            if isinstance(cur, list):
                cur = [c.get(key) for c in cur if isinstance(c, dict)]
                cur = cur[0] if len(cur) == 1 else (cur or None)
            else:
                cur = cur.get(key) if isinstance(cur, dict) else None
        else:
            cur = [c for c in (cur or []) if isinstance(c, dict) and str(c.get(fkey)) == fval]
    return cur


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    then = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    secs = int((datetime.datetime.now(datetime.UTC) - then).total_seconds())
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    return f"{secs // 3600}h"


class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator with resourceVersions, CRD registration, Tables and the fixes above."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._rv = itertools.count(1000)
        self.crds: dict[tuple[str, str, str], dict[str, Any]] = {}
        for key, info in BUILTINS.items():
            self.resources[key] = kmock.ResourceInfo(
                verbs=VERBS, singular=info["kind"].lower(), **info)

    # ---------------------------------------------------------------- helpers

    def _next_rv(self) -> str:
        return str(next(self._rv))

    def _info(self, resource: Any) -> Any:
        for res in self.resources:
            if res == resource:
                return self.resources[res]
        return None

    def _register_crd(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        names = spec["names"]
        for v in spec["versions"]:
            key = f"{spec['group']}/{v['name']}/{names['plural']}"
            self.resources[key] = kmock.ResourceInfo(
                kind=names["kind"], singular=names.get("singular", names["kind"].lower()),
                namespaced=spec["scope"] == "Namespaced", verbs=VERBS,
                shortnames=set(names.get("shortNames", [])),
                categories=set(names.get("categories", [])),
                subresources=set((v.get("subresources") or {}).keys()),
            )
            self.crds[(spec["group"], v["name"], names["plural"])] = v

    async def _publish(self, resource: Any, kind: str, raw: dict[str, Any]) -> None:
        await self._buses[resource].put({"type": kind, "object": copy.deepcopy(raw)})

    def _controllers(self, request: Any, obj: dict[str, Any]) -> None:
        # The Deployment controller: every written Deployment is instantly fully available.
        if request.resource == kmock.resource("apps", "v1", "deployments"):
            n = obj.get("spec", {}).get("replicas", 1)
            obj["status"] = {"observedGeneration": obj["metadata"].get("generation", 1),
                             "replicas": n, "readyReplicas": n, "availableReplicas": n,
                             "updatedReplicas": n}

    # ---------------------------------------------------------------- writes

    async def _mutate(self, request: Any) -> aiohttp.web.StreamResponse:
        info = self._info(request.resource)
        if info is None:
            raise kmock.KubernetesResourceNotFoundError()
        has_status = "status" in (info.subresources or ())
        async with self._lock:
            if request.action == enums.action.CREATE:
                obj = copy.deepcopy(request.data)
                meta = obj.setdefault("metadata", {})
                if info.namespaced:
                    meta["namespace"] = request.namespace or meta.get("namespace") or "default"
                if not meta.get("name") and meta.get("generateName"):
                    meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
                key = (request.resource, meta.get("namespace") if info.namespaced else None,
                       meta["name"])
                if key in self._objects and not self._objects[key].deleted:
                    raise kmock.KubernetesError(409, "AlreadyExists",
                                                f"{meta['name']} already exists")
                if has_status:
                    obj.pop("status", None)
                if obj.get("kind") == "Secret" and "stringData" in obj:
                    import base64
                    data = obj.setdefault("data", {})
                    for k, v in obj.pop("stringData").items():
                        data[k] = base64.b64encode(v.encode()).decode()
                meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(),
                            resourceVersion=self._next_rv(), generation=1)
                self._controllers(request, obj)
                if key in self._objects:
                    self._objects[key].create(obj)
                else:
                    self._objects[key] = obj
                if request.resource == kmock.resource(
                        "apiextensions.k8s.io", "v1", "customresourcedefinitions"):
                    self._register_crd(obj)
                await self._publish(request.resource, "ADDED", obj)
                return aiohttp.web.json_response(obj, status=201)

            key = (request.resource, request.namespace, request.name)
            if key not in self._objects or self._objects[key].deleted:
                raise kmock.KubernetesObjectNotFoundError()
            old = copy.deepcopy(self._objects[key].raw)

            if request.action == enums.action.DELETE:
                if old["metadata"].get("finalizers"):
                    if not old["metadata"].get("deletionTimestamp"):
                        old["metadata"]["deletionTimestamp"] = _now()
                        old["metadata"]["resourceVersion"] = self._next_rv()
                        self._objects[key].create(old)
                        await self._publish(request.resource, "MODIFIED", old)
                    return aiohttp.web.json_response(old)
                self._objects[key].delete()
                await self._publish(request.resource, "DELETED", old)
                return aiohttp.web.json_response(old)

            # UPDATE (PATCH): JSON patch or merge patch (strategic merge treated as merge).
            patch = request.data
            try:
                if isinstance(patch, list):
                    new = jsonpatch.apply_patch(old, patch, in_place=False)
                else:
                    patch = dict(patch or {})
                    if has_status and request.subresource == "status":
                        patch = {"status": patch.get("status"), "metadata": patch.get("metadata")}
                        patch = {k: v for k, v in patch.items() if v is not None}
                        patch.get("metadata", {}).pop("finalizers", None)
                    elif has_status:
                        patch.pop("status", None)
                    new = dicts.merge_patch_dict(old, patch)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise kmock.KubernetesError(422, "Invalid", str(exc)) from None
            if has_status and request.subresource != "status":
                new["status"] = old.get("status")
                if new["status"] is None:
                    new.pop("status")
            elif has_status:
                new["spec"] = old.get("spec")
            meta = new.setdefault("metadata", {})
            for k in ("uid", "creationTimestamp", "name", "namespace"):
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
            body_of = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}  # noqa: E731
            if body_of(new) != body_of(old):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            if new == old:  # no-op patches keep the resourceVersion (as the API server does)
                return aiohttp.web.json_response(old)
            meta["resourceVersion"] = self._next_rv()
            self._controllers(request, new)
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):
                self._objects[key].delete()
                await self._publish(request.resource, "DELETED", new)
            else:
                self._objects[key].create(new)
                await self._publish(request.resource, "MODIFIED", new)
            return aiohttp.web.json_response(new)

    # ---------------------------------------------------------------- reads

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        if request.resource is not None and request.resource.plural:
            if request.action == enums.action.CREATE or (
                request.action in (enums.action.UPDATE, enums.action.DELETE) and request.name
            ):
                return await self._mutate(request)
            if request.action == enums.action.WATCH:
                return await self._watch(request)
            accept = request.headers.get("Accept", "")
            if "as=Table" in accept and request.action in (enums.action.LIST, enums.action.FETCH):
                key = (request.resource.group, request.resource.version, request.resource.plural)
                if key in self.crds:
                    return await self._table(request, self.crds[key])
        return await super()._handle(request)

    async def _serve_list(self, request: Any) -> Any:
        result = await super()._serve_list(request)
        info = self._info(request.resource)
        res = request.resource
        result["kind"] = f"{info.kind}List" if info and info.kind else "List"
        result["apiVersion"] = f"{res.group}/{res.version}" if res.group else res.version
        result["metadata"] = {"resourceVersion": str(next(self._rv))}
        return result

    async def _serve_version(self, request: Any) -> Any:
        result = await super()._serve_version(request)
        if result.get("groupVersion", "").startswith("/"):
            result["groupVersion"] = result["groupVersion"][1:]
        return result

    async def _watch(self, request: Any) -> aiohttp.web.StreamResponse:
        resp = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request._raw_request)
        timeout = float(request.params.get("timeoutSeconds") or 0) or None

        async def pump() -> None:
            async for event in self._serve_watch(request):
                if isinstance(event, dict):
                    await resp.write(json.dumps(event).encode() + b"\n")

        try:
            await asyncio.wait_for(pump(), timeout)
        except (TimeoutError, ConnectionError, asyncio.CancelledError):
            pass
        try:
            await resp.write_eof()
        except ConnectionError:
            pass
        return resp

    async def _table(self, request: Any, version: dict[str, Any]) -> aiohttp.web.StreamResponse:
        cols = version.get("additionalPrinterColumns", [])
        if request.action == enums.action.LIST:
            objs = (await self._serve_list(request))["items"]
        else:
            objs = [await self._serve_fetch(request)]
        defs = [{"name": "Name", "type": "string", "format": "name", "description": "",
                 "priority": 0}]
        defs += [{"name": c["name"], "type": c.get("type", "string"), "format": "",
                  "description": c.get("description", ""), "priority": c.get("priority", 0)}
                 for c in cols]
        rows = []
        for obj in objs:
            cells: list[Any] = [obj["metadata"]["name"]]
            for c in cols:
                value = jsonpath(obj, c["jsonPath"])
                if c.get("type") == "date":
                    value = _age(value)
                elif isinstance(value, list | dict):
                    value = json.dumps(value, separators=(",", ":"))
                cells.append("<none>" if value is None else value)
            rows.append({"cells": cells, "object": {
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"]}})
        return aiohttp.web.json_response({
            "kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": str(next(self._rv))},
            "columnDefinitions": defs, "rows": rows,
        })
