"""Notification schema: bus tables, the seed's logs and preferences, templates and the queue.

Revision ID: notification_0001
Revises:
Create Date: 2026-11-25
"""

from alembic import op

from services.kit.bus.tables import create_bus_tables, drop_bus_tables

revision = "notification_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_tables()
    # Seed 001 §6, with timestamps in UTC (timestamptz) and the attempt number.
    op.execute("""
        CREATE TABLE notification_logs (
            id BIGSERIAL PRIMARY KEY,
            user_id BIGINT NOT NULL,
            notification_type VARCHAR(100) NOT NULL,
            channel VARCHAR(50) NOT NULL,
            status VARCHAR(50) NOT NULL,
            template_id VARCHAR(100),
            payload JSONB,
            error_message TEXT,
            sent_at TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            notification_id BIGINT,
            attempt INT NOT NULL DEFAULT 1
        )""")
    op.execute("CREATE INDEX idx_notification_logs_user ON notification_logs(user_id, created_at DESC)")
    op.execute("CREATE INDEX idx_notification_logs_status ON notification_logs(status)")
    # Seed 001 §6 plus what the channels and quiet hours need.
    op.execute("""
        CREATE TABLE notification_preferences (
            user_id BIGINT PRIMARY KEY,
            enabled_types JSONB NOT NULL DEFAULT '[]',
            quiet_hours_start TIME,
            quiet_hours_end TIME,
            digest_mode BOOLEAN NOT NULL DEFAULT FALSE,
            digest_interval_hours INT NOT NULL DEFAULT 24,
            timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
            language VARCHAR(10) NOT NULL DEFAULT 'ru',
            channels JSONB NOT NULL DEFAULT '["telegram"]',
            email VARCHAR(320),
            webhook_url TEXT,
            webhook_secret TEXT,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
        )""")
    op.execute("""
        CREATE TABLE notification_templates (
            id VARCHAR(100) NOT NULL,
            language VARCHAR(10) NOT NULL,
            body TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            PRIMARY KEY (id, language)
        )""")
    # The pending/held queue: every notification is a row here until sent or failed.
    op.execute("""
        CREATE TABLE notification_queue (
            id BIGSERIAL PRIMARY KEY,
            user_id BIGINT NOT NULL,
            notification_type VARCHAR(100) NOT NULL,
            template_id VARCHAR(100) NOT NULL,
            params JSONB NOT NULL DEFAULT '{}',
            channel VARCHAR(50) NOT NULL,
            priority VARCHAR(20) NOT NULL DEFAULT 'normal',
            language VARCHAR(10),
            chat_id BIGINT,
            status VARCHAR(20) NOT NULL,
            deliver_after TIMESTAMPTZ NOT NULL,
            attempts INT NOT NULL DEFAULT 0,
            last_error TEXT,
            source_event_id VARCHAR(100),
            created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
            sent_at TIMESTAMPTZ
        )""")
    op.execute("CREATE INDEX idx_notification_queue_due ON notification_queue(deliver_after) "
               "WHERE status IN ('pending', 'held', 'digest')")
    op.execute("CREATE INDEX idx_notification_queue_user ON notification_queue(user_id, status)")


def downgrade() -> None:
    op.execute("DROP TABLE notification_queue")
    op.execute("DROP TABLE notification_templates")
    op.execute("DROP TABLE notification_preferences")
    op.execute("DROP TABLE notification_logs")
    drop_bus_tables()
