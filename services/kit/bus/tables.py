"""The bus tables every app schema carries, created from the app's first migration.

``outbox``: events written in the same transaction as the state change that
caused them; the relay publishes and marks them.
``processed_events``: the consumer side's idempotency record; a consumer writes
the event id in the same transaction as its effect, so a redelivery is a no-op.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_bus_tables() -> None:
    """Create ``outbox`` and ``processed_events`` in the current schema (call from upgrade())."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["id"],
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(100), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    )


def drop_bus_tables() -> None:
    """Drop the bus tables (downgrade of the first migration)."""
    op.drop_table("processed_events")
    op.drop_table("outbox")
