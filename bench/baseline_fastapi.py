"""Baseline for the subscription-read benchmark: the seed's sketch, plainly.

One process: FastAPI + SQLAlchemy (async, asyncpg) + PostgreSQL, one table
(the seed's ``subscriptions`` DDL), and the seed's endpoint
``GET /api/v1/subscriptions/admin/{admin_id}`` querying it on every request —
no gateway, no gRPC hop, no auth, no tenancy, no cache. It answers the same
JSON shape as Tenantry's endpoint, so both do the same work for the client.

Run: ``python bench/baseline_fastapi.py --port 8099 --database-url postgresql://... --schema s``.
"""

from __future__ import annotations

import argparse
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DDL = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id BIGSERIAL PRIMARY KEY,
    admin_user_id BIGINT NOT NULL,
    admin_chat_id BIGINT NOT NULL,
    tracked_user_id BIGINT NOT NULL,
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW(),
    is_active BOOLEAN DEFAULT TRUE,
    settings JSONB DEFAULT '{}',
    UNIQUE(admin_user_id, admin_chat_id, tracked_user_id)
);
CREATE INDEX IF NOT EXISTS idx_subscriptions_admin ON subscriptions(admin_user_id, admin_chat_id);
"""


def engine_for(database_url: str, schema: str) -> AsyncEngine:
    """An asyncpg engine whose connections use ``schema``."""
    url = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    return create_async_engine(url, pool_size=10, max_overflow=20,
                               connect_args={"server_settings": {"search_path": schema}})


async def prepare(database_url: str, schema: str, rows: list[tuple[int, int, int]]) -> None:
    """Create the schema and table and load ``rows`` (admin, chat, tracked)."""
    engine = engine_for(database_url, schema)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        for statement in DDL.split(";"):
            if statement.strip():
                await conn.execute(text(statement))
        await conn.execute(text(
            "INSERT INTO subscriptions (admin_user_id, admin_chat_id, tracked_user_id) "
            "SELECT * FROM unnest(CAST(:a AS bigint[]), CAST(:c AS bigint[]), CAST(:t AS bigint[])) "
            "ON CONFLICT DO NOTHING"),
            {"a": [r[0] for r in rows], "c": [r[1] for r in rows], "t": [r[2] for r in rows]})
    await engine.dispose()


def create_app(database_url: str, schema: str) -> FastAPI:
    """The baseline app."""
    app = FastAPI()
    engine = engine_for(database_url, schema)

    @app.get("/api/v1/subscriptions/admin/{admin_id}")
    async def admin_subscriptions(admin_id: int, admin_chat_id: int | None = None,
                                  page_size: int = 50) -> dict[str, Any]:
        sql = ("SELECT id, admin_user_id, admin_chat_id, tracked_user_id, is_active, settings, "
               "created_at, updated_at FROM subscriptions WHERE admin_user_id = :a AND is_active")
        params: dict[str, Any] = {"a": admin_id, "n": page_size}
        if admin_chat_id is not None:
            sql += " AND admin_chat_id = :c"
            params["c"] = admin_chat_id
        async with engine.connect() as conn:
            rows = (await conn.execute(text(sql + " ORDER BY id LIMIT :n"), params)).mappings().all()
        return {"subscriptions": [
            {**r, "created_at": r["created_at"].isoformat() + "Z",
             "updated_at": r["updated_at"].isoformat() + "Z"} for r in rows],
            "page": {"next_page_token": ""}}

    return app


def main() -> None:
    """Serve the baseline with uvicorn."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(args.database_url, args.schema), host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
