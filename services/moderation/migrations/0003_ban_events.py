"""Ban events (seed 001 §4): the ban_events table, its archive, and search indexes.

Columns follow the seed's ``ban_events`` SQL, with timestamps as TIMESTAMPTZ
(instants, not wall-clock readings) and ``reason`` NOT NULL (the service
requires one). History indexes end in ``id DESC`` so keyset pagination over
``(event_timestamp, id)`` is one index range scan. Reason search uses a
pg_trgm GIN index, so ``reason ILIKE '%text%'`` does not scan the table (see
docs/moderation/ban-events.md for the measurement).

pg_trgm is installed once per database in ``public`` (an extension cannot live
in a tenant's schema: dropping that schema would drop every other tenant's
trigram indexes with it); the operator class is referenced schema-qualified.

Revision ID: moderation_0003
Revises: moderation_0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "moderation_0003"
down_revision = "moderation_0001"
branch_labels = None
depends_on = None

_COLUMNS = """
    event_id VARCHAR(255) NOT NULL,
    user_id BIGINT NOT NULL,
    chat_id BIGINT NOT NULL,
    event_type VARCHAR(50) NOT NULL,
    ban_duration BIGINT,
    reason TEXT NOT NULL,
    initiator_user_id BIGINT,
    event_timestamp TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    metadata JSONB NOT NULL DEFAULT '{}'
"""


def upgrade() -> None:
    # Tenants migrate concurrently; serialise the one database-wide step.
    op.execute("SELECT pg_advisory_xact_lock(hashtext('tenantry:extension:pg_trgm'))")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    op.execute(f"""
        CREATE TABLE ban_events (
            id BIGSERIAL PRIMARY KEY,
            {_COLUMNS},
            CONSTRAINT uq_ban_events_event_id UNIQUE (event_id),
            CONSTRAINT ck_ban_events_type CHECK (event_type IN ('ban', 'kick', 'restrict', 'unban')),
            CONSTRAINT ck_ban_events_duration CHECK (ban_duration IS NULL OR ban_duration > 0)
        )""")
    op.execute("CREATE INDEX idx_ban_events_user ON ban_events (user_id, event_timestamp DESC, id DESC)")
    op.execute("CREATE INDEX idx_ban_events_chat ON ban_events (chat_id, event_timestamp DESC, id DESC)")
    op.execute("CREATE INDEX idx_ban_events_timestamp ON ban_events (event_timestamp DESC, id DESC)")
    op.execute("CREATE INDEX idx_ban_events_type ON ban_events (event_type, event_timestamp DESC, id DESC)")
    op.execute("CREATE INDEX idx_ban_events_reason_trgm ON ban_events USING gin (reason public.gin_trgm_ops)")
    op.execute(f"""
        CREATE TABLE ban_events_archive (
            id BIGINT PRIMARY KEY,
            {_COLUMNS},
            archived_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE UNIQUE INDEX idx_ban_events_archive_event_id ON ban_events_archive (event_id)")
    op.execute("CREATE INDEX idx_ban_events_archive_user ON ban_events_archive (user_id, event_timestamp DESC)")
    op.execute("CREATE INDEX idx_ban_events_archive_chat ON ban_events_archive (chat_id, event_timestamp DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ban_events_archive")
    op.execute("DROP TABLE IF EXISTS ban_events")
