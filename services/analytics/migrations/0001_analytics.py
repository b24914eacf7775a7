"""Analytics aggregates (seed 001 §7) in the tenant's ``analytics`` schema.

The seed's three tables, with two additions to ``analytics_daily`` (partial
runs, skipped chats, and the sum/count behind the mean sync time), plus small
set tables that make the distinct counts exact and idempotent:

* ``analytics_daily_banned_users`` / ``analytics_daily_active_chats``: one row
  per (day, user) / (day, chat); a new row bumps the day's distinct counter,
  and period-wide distinct counts are ``count(DISTINCT ...)`` over them.
* ``analytics_ban_seen``: the ban events already counted (ban.detected and
  ban.registered describe the same ban; whichever arrives first counts it).
* ``analytics_daily_types``: counts per event type per day.
* ``analytics_counters``: running totals (active subscriptions).

Revision ID: analytics_0001
Revises:
Create Date: 2026-11-25
"""

from alembic import op

from services.kit.bus.tables import create_bus_tables, drop_bus_tables

revision = "analytics_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_tables()
    op.execute("""
        CREATE TABLE analytics_daily (
            date DATE PRIMARY KEY,
            total_subscriptions INT NOT NULL DEFAULT 0,
            new_subscriptions INT NOT NULL DEFAULT 0,
            deleted_subscriptions INT NOT NULL DEFAULT 0,
            total_bans INT NOT NULL DEFAULT 0,
            total_syncs INT NOT NULL DEFAULT 0,
            successful_syncs INT NOT NULL DEFAULT 0,
            failed_syncs INT NOT NULL DEFAULT 0,
            skipped_syncs INT NOT NULL DEFAULT 0,
            sync_runs INT NOT NULL DEFAULT 0,
            completed_runs INT NOT NULL DEFAULT 0,
            partial_runs INT NOT NULL DEFAULT 0,
            failed_runs INT NOT NULL DEFAULT 0,
            sync_time_ms_total BIGINT NOT NULL DEFAULT 0,
            sync_time_samples BIGINT NOT NULL DEFAULT 0,
            unique_banned_users INT NOT NULL DEFAULT 0,
            active_chats INT NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""")
    op.execute("""
        CREATE TABLE analytics_user_stats (
            user_id BIGINT NOT NULL,
            date DATE NOT NULL,
            ban_count INT NOT NULL DEFAULT 0,
            sync_count INT NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, date)
        )""")
    op.execute("CREATE INDEX idx_analytics_user_stats_date ON analytics_user_stats (date, user_id)")
    op.execute("""
        CREATE TABLE analytics_chat_stats (
            chat_id BIGINT NOT NULL,
            date DATE NOT NULL,
            ban_count INT NOT NULL DEFAULT 0,
            sync_received_count INT NOT NULL DEFAULT 0,
            PRIMARY KEY (chat_id, date)
        )""")
    op.execute("CREATE INDEX idx_analytics_chat_stats_date ON analytics_chat_stats (date, chat_id)")
    op.execute("""
        CREATE TABLE analytics_daily_banned_users (
            date DATE NOT NULL, user_id BIGINT NOT NULL, PRIMARY KEY (date, user_id))""")
    op.execute("""
        CREATE TABLE analytics_daily_active_chats (
            date DATE NOT NULL, chat_id BIGINT NOT NULL, PRIMARY KEY (date, chat_id))""")
    op.execute("""
        CREATE TABLE analytics_daily_types (
            date DATE NOT NULL, event_type VARCHAR(50) NOT NULL, count INT NOT NULL DEFAULT 0,
            PRIMARY KEY (date, event_type))""")
    op.execute("""
        CREATE TABLE analytics_ban_seen (
            event_id VARCHAR(255) PRIMARY KEY,
            date DATE NOT NULL,
            seen_at TIMESTAMPTZ NOT NULL DEFAULT now())""")
    op.execute("CREATE INDEX idx_analytics_ban_seen_date ON analytics_ban_seen (date)")
    op.execute("""
        CREATE TABLE analytics_counters (
            name VARCHAR(100) PRIMARY KEY, value BIGINT NOT NULL DEFAULT 0,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now())""")


def downgrade() -> None:
    for table in ("analytics_counters", "analytics_ban_seen", "analytics_daily_types",
                  "analytics_daily_active_chats", "analytics_daily_banned_users", "analytics_chat_stats",
                  "analytics_user_stats", "analytics_daily"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    drop_bus_tables()
