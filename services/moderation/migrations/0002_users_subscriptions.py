"""Moderation: users, admins, settings (seed 001 §3) and subscriptions (seed 001 §2).

The tables follow the seed's SQL column for column (all ids BIGINT). Deviations,
each justified in docs/moderation/users-subscriptions.md:

* timestamps are ``TIMESTAMPTZ`` (the seed's ``TIMESTAMP DEFAULT NOW()`` would
  depend on the session's TimeZone setting);
* ``chat_settings.temporary_ban_seconds`` — the ban length for
  ``sync_ban_type = 'temporary'``, which the seed names but never sizes;
* ``user_username_history`` — "username changes are recorded";
* CHECK constraints mirror the service's validation, as a last line of defence;
* ``idx_subscriptions_admin_active`` serves the per-admin count of the limit
  check and the admin listing, ``idx_subscriptions_tracked_keyset`` the
  subscribers listing (both keyset on id), ``idx_subscriptions_chat_active``
  the cleanup of a removed chat.

Revision ID: moderation_0002
Revises: moderation_0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "moderation_0002"
down_revision = "moderation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE users (
            user_id BIGINT PRIMARY KEY,
            username VARCHAR(255),
            first_name VARCHAR(255),
            last_name VARCHAR(255),
            language_code VARCHAR(10) DEFAULT 'en',
            is_bot BOOLEAN DEFAULT FALSE,
            is_active BOOLEAN DEFAULT TRUE,
            created_at TIMESTAMPTZ DEFAULT NOW(),
            updated_at TIMESTAMPTZ DEFAULT NOW(),
            last_seen TIMESTAMPTZ,
            CONSTRAINT ck_users_user_id_positive CHECK (user_id > 0)
        )
    """)
    op.execute("""
        CREATE TABLE admins (
            id BIGSERIAL PRIMARY KEY,
            user_id BIGINT REFERENCES users(user_id),
            chat_id BIGINT NOT NULL,
            role VARCHAR(50) DEFAULT 'admin',
            can_ban BOOLEAN DEFAULT TRUE,
            created_at TIMESTAMPTZ DEFAULT NOW(),
            UNIQUE(user_id, chat_id),
            CONSTRAINT ck_admins_role CHECK (role IN ('owner', 'admin', 'moderator'))
        )
    """)
    op.execute("""
        CREATE TABLE user_settings (
            user_id BIGINT PRIMARY KEY REFERENCES users(user_id),
            notifications_enabled BOOLEAN DEFAULT TRUE,
            language VARCHAR(10) DEFAULT 'ru',
            timezone VARCHAR(50) DEFAULT 'UTC',
            settings JSONB DEFAULT '{}'
        )
    """)
    op.execute("""
        CREATE TABLE chat_settings (
            chat_id BIGINT PRIMARY KEY,
            chat_title VARCHAR(255),
            sync_ban_type VARCHAR(50) DEFAULT 'same',
            sync_delay_seconds INT DEFAULT 0,
            auto_sync_enabled BOOLEAN DEFAULT TRUE,
            require_confirmation BOOLEAN DEFAULT FALSE,
            settings JSONB DEFAULT '{}',
            created_at TIMESTAMPTZ DEFAULT NOW(),
            updated_at TIMESTAMPTZ DEFAULT NOW(),
            temporary_ban_seconds INT,
            CONSTRAINT ck_chat_settings_chat_id CHECK (chat_id <> 0),
            CONSTRAINT ck_chat_settings_ban_type
                CHECK (sync_ban_type IN ('same', 'permanent', 'temporary')),
            CONSTRAINT ck_chat_settings_delay CHECK (sync_delay_seconds BETWEEN 0 AND 86400),
            CONSTRAINT ck_chat_settings_temp_ban
                CHECK (temporary_ban_seconds IS NULL
                       OR temporary_ban_seconds BETWEEN 30 AND 31622400)
        )
    """)
    op.execute("CREATE INDEX idx_users_username ON users(username)")
    op.execute("CREATE INDEX idx_admins_chat ON admins(chat_id)")
    op.execute("""
        CREATE TABLE user_username_history (
            id BIGSERIAL PRIMARY KEY,
            user_id BIGINT NOT NULL REFERENCES users(user_id),
            old_username VARCHAR(255),
            new_username VARCHAR(255),
            changed_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
        )
    """)
    op.execute("CREATE INDEX idx_username_history_user ON user_username_history(user_id, id)")

    op.execute("""
        CREATE TABLE subscriptions (
            id BIGSERIAL PRIMARY KEY,
            admin_user_id BIGINT NOT NULL,
            admin_chat_id BIGINT NOT NULL,
            tracked_user_id BIGINT NOT NULL,
            created_at TIMESTAMPTZ DEFAULT NOW(),
            updated_at TIMESTAMPTZ DEFAULT NOW(),
            is_active BOOLEAN DEFAULT TRUE,
            settings JSONB DEFAULT '{}',
            UNIQUE(admin_user_id, admin_chat_id, tracked_user_id),
            CONSTRAINT ck_subscriptions_not_self CHECK (admin_user_id <> tracked_user_id)
        )
    """)
    op.execute("CREATE INDEX idx_subscriptions_admin ON subscriptions(admin_user_id, admin_chat_id)")
    op.execute("CREATE INDEX idx_subscriptions_tracked ON subscriptions(tracked_user_id) "
               "WHERE is_active = true")
    op.execute("CREATE INDEX idx_subscriptions_created ON subscriptions(created_at)")
    op.execute("CREATE INDEX idx_subscriptions_admin_active ON subscriptions(admin_user_id, id) "
               "WHERE is_active = true")
    op.execute("CREATE INDEX idx_subscriptions_tracked_keyset ON subscriptions(tracked_user_id, id) "
               "WHERE is_active = true")
    op.execute("CREATE INDEX idx_subscriptions_chat_active ON subscriptions(admin_chat_id) "
               "WHERE is_active = true")


def downgrade() -> None:
    for table in ("subscriptions", "user_username_history", "chat_settings", "user_settings",
                  "admins", "users"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
