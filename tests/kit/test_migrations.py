"""Migrations across tenant schemas: isolation, idempotency, the advisory lock."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from services.kit.migrations import current_revision, head_revision, migrate
from services.kit.naming import schema_name


async def test_two_tenants_get_separate_schemas_and_rerun_is_idempotent(engine, tenant_name):
    other = tenant_name + "b"
    rev_a = await migrate(engine, "petcare", tenant_name)
    rev_b = await migrate(engine, "petcare", other)
    assert rev_a == rev_b == head_revision("petcare")
    async with engine.begin() as conn:
        await conn.execute(text(
            f'INSERT INTO "{schema_name("petcare", tenant_name)}".outbox (event_id, topic, envelope)'
            " VALUES (gen_random_uuid(), 'x', '\\x00')"
        ))
    # Rerunning at head changes nothing, and the other tenant's outbox stays empty.
    assert await migrate(engine, "petcare", tenant_name) == rev_a
    async with engine.connect() as conn:
        mine = (await conn.execute(text(
            f'SELECT count(*) FROM "{schema_name("petcare", tenant_name)}".outbox'))).scalar_one()
        theirs = (await conn.execute(text(
            f'SELECT count(*) FROM "{schema_name("petcare", other)}".outbox'))).scalar_one()
    assert (mine, theirs) == (1, 0)
    assert await current_revision(engine, "petcare", other) == rev_b


async def test_concurrent_migrations_of_one_schema_serialise(engine, tenant_name):
    revisions = await asyncio.gather(*(migrate(engine, "detailing", tenant_name) for _ in range(4)))
    assert len(set(revisions)) == 1 and revisions[0] == head_revision("detailing")


async def test_unmigrated_schema_has_no_revision(engine, tenant_name):
    assert await current_revision(engine, "tutoring", tenant_name) is None


async def test_concurrent_migrations_of_different_tenants_in_one_process(engine, tenant_name):
    # Alembic's context is process-global; the kit must not let them interleave.
    tenants = [f"{tenant_name}{i}" for i in range(4)]
    revisions = await asyncio.gather(*(migrate(engine, "moderation", t) for t in tenants))
    assert set(revisions) == {head_revision("moderation")}
