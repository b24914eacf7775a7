"""Moderation sync (seed 001 §5): sync_logs, sync_runs and sync_policies.

``sync_logs`` has the seed's columns (timestamps as TIMESTAMPTZ, like the other
moderation tables) and its three indexes, plus what exactly-once fan-out needs:

* ``idempotency_key`` UNIQUE = ``<ban_event_id>:<target_chat_id>:<action>``:
  the row is claimed before the Telegram call and finalised after it, so a
  redelivered event or a second worker never applies the same action twice;
* ``sync_id`` (the run that created the row), ``action``, ``until_date``,
  ``not_before`` (delay / backoff), ``lease_until`` (a worker holds the row while
  calling Telegram; an expired lease means that worker died), ``attempts``;
* ``admin_user_id`` / ``subscription_id``: whom to tell when it fails.

``sync_runs`` is one fan-out (what ``/api/v1/sync/status/{sync_id}`` reports);
``run_key`` makes an event's run unique per consumer group.

``sync_policies`` is written by the operator (a SyncPolicy's spec as-is).

Revision ID: moderation_0004
Revises: moderation_0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "moderation_0004"
down_revision = "moderation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE sync_runs (
            sync_id UUID PRIMARY KEY,
            run_key TEXT NOT NULL UNIQUE,
            ban_event_id BIGINT NOT NULL,
            event_id TEXT NOT NULL DEFAULT '',
            user_id BIGINT NOT NULL,
            source_chat_id BIGINT NOT NULL,
            event_type VARCHAR(20) NOT NULL,
            ban_duration BIGINT,
            reason TEXT NOT NULL DEFAULT '',
            username TEXT NOT NULL DEFAULT '',
            event_timestamp TIMESTAMPTZ,
            policy TEXT,
            trigger VARCHAR(20) NOT NULL,
            status VARCHAR(20) NOT NULL DEFAULT 'running',
            total_chats INT NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at TIMESTAMPTZ,
            CONSTRAINT ck_sync_runs_status
                CHECK (status IN ('running', 'completed', 'partial', 'failed')),
            CONSTRAINT ck_sync_runs_trigger CHECK (trigger IN ('event', 'manual'))
        )""")
    op.execute("CREATE INDEX idx_sync_runs_event ON sync_runs (ban_event_id)")
    op.execute("CREATE INDEX idx_sync_runs_user ON sync_runs (user_id, created_at DESC)")
    op.execute("CREATE INDEX idx_sync_runs_open ON sync_runs (created_at) WHERE finished_at IS NULL")
    op.execute("""
        CREATE TABLE sync_logs (
            id BIGSERIAL PRIMARY KEY,
            ban_event_id BIGINT NOT NULL,
            source_chat_id BIGINT NOT NULL,
            target_chat_id BIGINT NOT NULL,
            user_id BIGINT NOT NULL,
            status VARCHAR(50) NOT NULL,
            error_message TEXT,
            retry_count INT DEFAULT 0,
            started_at TIMESTAMPTZ,
            completed_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ DEFAULT now(),
            sync_id UUID NOT NULL REFERENCES sync_runs (sync_id),
            idempotency_key TEXT NOT NULL,
            action VARCHAR(20) NOT NULL,
            ban_duration BIGINT,
            until_date BIGINT,
            not_before TIMESTAMPTZ,
            lease_until TIMESTAMPTZ,
            attempts INT NOT NULL DEFAULT 0,
            awaiting_confirmation BOOLEAN NOT NULL DEFAULT false,
            admin_user_id BIGINT,
            subscription_id BIGINT,
            policy TEXT,
            CONSTRAINT uq_sync_logs_idempotency_key UNIQUE (idempotency_key),
            CONSTRAINT ck_sync_logs_status
                CHECK (status IN ('pending', 'success', 'failed', 'skipped')),
            CONSTRAINT ck_sync_logs_action
                CHECK (action IN ('ban', 'kick', 'restrict', 'unban'))
        )""")
    op.execute("CREATE INDEX idx_sync_logs_event ON sync_logs (ban_event_id)")
    op.execute("CREATE INDEX idx_sync_logs_status ON sync_logs (status, created_at)")
    op.execute("CREATE INDEX idx_sync_logs_target ON sync_logs (target_chat_id, created_at)")
    # The run's rows (status, retry), the due pending rows (the sweeper), and the
    # user's synced bans per chat (unban propagation and enforcement on join).
    op.execute("CREATE INDEX idx_sync_logs_sync ON sync_logs (sync_id, id)")
    op.execute("CREATE INDEX idx_sync_logs_due ON sync_logs (not_before) "
               "WHERE status = 'pending' AND NOT awaiting_confirmation")
    op.execute("CREATE INDEX idx_sync_logs_user_chat ON sync_logs (user_id, target_chat_id, id)")
    op.execute("""
        CREATE TABLE sync_policies (
            name TEXT PRIMARY KEY,
            spec JSONB NOT NULL,
            generation BIGINT NOT NULL,
            suspended BOOLEAN NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS sync_policies")
    op.execute("DROP TABLE IF EXISTS sync_logs")
    op.execute("DROP TABLE IF EXISTS sync_runs")
