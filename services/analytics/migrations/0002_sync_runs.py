"""Per-run sync outcomes, so a run that closes more than once is counted once.

A sync run closes again after RetrySync / ConfirmSync / DeclineSync, and every
closing is a new ``sync.*`` event with the run's cumulative counts. The daily
sums alone cannot tell a re-closing from a new run, so the run's last counted
snapshot is kept here and a newer closing applies only its difference:

* ``analytics_sync_runs``: one row per ``sync_id`` — the day the run is
  counted on (its first closing seen), its status and counts as last counted.
* ``analytics_sync_chats``: the target chats the run's ban was applied to
  (``SyncFinished.synced_chat_ids``) as last counted, behind
  ``analytics_chat_stats.sync_received_count``.

Runs ingested before this revision have no row here: analytics cannot rebuild
them from its aggregates, so a later re-closing of such a run counts as a run.

Revision ID: analytics_0002
Revises: analytics_0001
Create Date: 2026-12-01
"""

from alembic import op

revision = "analytics_0002"
down_revision = "analytics_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE analytics_sync_runs (
            sync_id VARCHAR(255) PRIMARY KEY,
            date DATE NOT NULL,
            user_id BIGINT NOT NULL DEFAULT 0,
            status VARCHAR(20) NOT NULL CHECK (status IN ('completed', 'partial', 'failed')),
            successful INT NOT NULL DEFAULT 0,
            failed INT NOT NULL DEFAULT 0,
            skipped INT NOT NULL DEFAULT 0,
            mean_sync_ms BIGINT NOT NULL DEFAULT 0,
            event_id VARCHAR(255) NOT NULL,
            closings INT NOT NULL DEFAULT 1,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX idx_analytics_sync_runs_date ON analytics_sync_runs (date)")
    op.execute("""
        CREATE TABLE analytics_sync_chats (
            sync_id VARCHAR(255) NOT NULL REFERENCES analytics_sync_runs (sync_id) ON DELETE CASCADE,
            chat_id BIGINT NOT NULL,
            PRIMARY KEY (sync_id, chat_id)
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS analytics_sync_chats")
    op.execute("DROP TABLE IF EXISTS analytics_sync_runs")
