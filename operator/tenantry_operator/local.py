"""``tenantry apply -f FILE``: the same reconcilers without Kubernetes.

Reads Tenant and SyncPolicy documents (multi-document YAML, or every
``*.yaml``/``*.yml``/``*.json`` of a directory), provisions what lives in
PostgreSQL and Redis -- schemas at head, the tenant role, streams, consumer
groups, the Redis ACL user, the stored sync policies -- and skips the
Kubernetes workloads. Generated passwords go to ``secrets_dir`` (one JSON file
per secret, mode 0600; default ``$TENANTRY_SECRETS_DIR`` or ``.data/secrets``),
never to the output.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import yaml

from services.kit.db import make_engine

from .backends import Backends, FileSecretStore, PolicyStoreMissing
from .constants import API_VERSION
from .desired import bot_deployment_name, configmap_name, worker_deployment_name
from .reconcile import reconcile_policy_data, reconcile_tenant_data
from .spec import InvalidSpec, parse_sync_policy, parse_tenant


class ApplyError(RuntimeError):
    """Some document could not be applied; ``lines`` says what was done and what failed."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_documents(path: str | os.PathLike[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, document) for every document in a file or a directory (sorted)."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml", ".json")) \
        if p.is_dir() else [p]
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc:
                continue
            if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
                for item in doc["items"]:
                    yield str(f), item
            else:
                yield str(f), doc


def apply_file(path: str, *, database_url: str, redis_url: str,
               secrets_dir: str | None = None) -> list[str]:
    """Apply the Tenants and SyncPolicies in ``path`` locally; return what was done.

    Raises :class:`ApplyError` (with the same lines) when a document failed.
    """
    return asyncio.run(apply_path(path, database_url=database_url, redis_url=redis_url,
                                  secrets_dir=secrets_dir))


async def apply_path(path: str, *, database_url: str, redis_url: str,
                     secrets_dir: str | None = None) -> list[str]:
    docs = list(load_documents(path))
    store = FileSecretStore(secrets_dir or os.environ.get("TENANTRY_SECRETS_DIR", ".data/secrets"))
    engine = make_engine(database_url, pool_size=2)
    client = aioredis.from_url(redis_url)
    b = Backends(engine=engine, redis=client)
    lines: list[str] = []
    failed = False
    order = {"Tenant": 0, "SyncPolicy": 1}
    try:
        for source, doc in sorted(docs, key=lambda d: order.get(d[1].get("kind", ""), 2)):
            kind = doc.get("kind")
            meta = doc.get("metadata") or {}
            name = meta.get("name", "?")
            if doc.get("apiVersion") != API_VERSION or kind not in order:
                lines.append(f"{kind}/{name} ({source}): skipped, not a {API_VERSION} resource")
                continue
            try:
                if kind == "Tenant":
                    failed |= await _tenant(b, store, name, doc, lines)
                else:
                    failed |= await _policy(b, meta.get("namespace") or "default", name, doc,
                                            meta.get("generation") or 1, lines)
            except InvalidSpec as exc:
                lines.append(f"{kind}/{name}: invalid: {exc}")
                failed = True
    finally:
        await client.aclose()
        await engine.dispose()
    if failed:
        raise ApplyError(lines)
    return lines


async def _tenant(b: Backends, store: FileSecretStore, name: str, doc: dict[str, Any],
                  lines: list[str]) -> bool:
    spec = parse_tenant(name, doc.get("spec"))
    prefix = f"tenant/{name}"

    def emit(reason: str, message: str) -> None:
        if reason == "CredentialsCreated":
            message += f" (in {store.directory})"
        lines.append(f"{prefix}: {message}")

    before = len(lines)
    result = await reconcile_tenant_data(b, spec, store, emit)
    if len(lines) == before:
        lines.append(f"{prefix}: up to date")
    for c in result.conditions:
        lines.append(f"{prefix}: {c.type}={'True' if c.ok else 'False'} ({c.reason}: {c.message})")
    skipped = [f"ConfigMap {configmap_name(name)}"]
    if spec.bot_token is not None:
        skipped.append(f"Deployment {bot_deployment_name(name)}")
    lines.append(f"{prefix}: skipped Kubernetes workloads: {', '.join(skipped)}")
    return not all(c.ok for c in result.conditions)


async def _policy(b: Backends, namespace: str, name: str, doc: dict[str, Any], generation: int,
                  lines: list[str]) -> bool:
    spec = parse_sync_policy(namespace, name, doc.get("spec"))
    prefix = f"syncpolicy/{namespace}/{name}"
    try:
        done = await reconcile_policy_data(b, spec, int(generation), lambda r, m: None)
    except PolicyStoreMissing as exc:
        lines.append(f"{prefix}: failed: {exc} (is tenant {spec.tenant} applied with moderation?)")
        return True
    lines.extend(f"{prefix}: {line}" for line in done) if done else \
        lines.append(f"{prefix}: up to date")
    lines.append(f"{prefix}: skipped Kubernetes workloads: Deployment "
                 f"{worker_deployment_name(name)} ({spec.effective_replicas} replicas)")
    return False
