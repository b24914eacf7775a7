"""Ban counts per day, chat, user and type, behind GetBanStats' chat_id / user_id filters.

Seed 001 §7.1 counts bans "по датам, чатам, пользователям". ``analytics_user_stats``
and ``analytics_chat_stats`` count bans per user and per chat, but neither per type
nor per (chat, user), and the distinct users of a chat (or chats of a user) cannot
be told from them. ``analytics_ban_counts`` keeps one row per (chat, day, user,
event type), fed by the same ban handler (after the ban.detected / ban.registered
de-duplication), so a filtered GetBanStats reads only this table.

Bans ingested before this revision are not in it (analytics keeps no per-ban rows
to rebuild it from): the filtered figures count from the upgrade on.

Revision ID: analytics_0003
Revises: analytics_0002
Create Date: 2026-12-08
"""

from alembic import op

revision = "analytics_0003"
down_revision = "analytics_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE analytics_ban_counts (
            chat_id BIGINT NOT NULL,
            date DATE NOT NULL,
            user_id BIGINT NOT NULL,
            event_type VARCHAR(50) NOT NULL,
            count INT NOT NULL DEFAULT 0,
            PRIMARY KEY (chat_id, date, user_id, event_type)
        )""")
    op.execute("CREATE INDEX idx_analytics_ban_counts_user ON analytics_ban_counts (user_id, date)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS analytics_ban_counts")
