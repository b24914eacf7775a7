"""The moderation user's settings mirrored into the preferences, and each row's origin.

* ``notification_preferences.notifications_enabled``: the moderation user's
  "notifications on/off" (seed 001 §3), from ``user.settings_updated``; off
  silences every notification of moderation origin, urgent ones too.
* ``notification_preferences.user_settings_at``: the ``updated_at`` of the last
  applied ``user.settings_updated``, so an older event read after a newer one
  (redelivery, reclaim after a crash) changes nothing. NULL: none applied yet.
* ``notification_queue.origin``: ``moderation`` for rows queued from the
  moderation app's events, NULL for direct requests; the delivery loop drops
  moderation rows still waiting (quiet hours, digest) once the user turned
  notifications off.

Revision ID: notification_0002
Revises: notification_0001
Create Date: 2026-12-02
"""

from alembic import op

revision = "notification_0002"
down_revision = "notification_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE notification_preferences "
               "ADD COLUMN notifications_enabled BOOLEAN NOT NULL DEFAULT TRUE, "
               "ADD COLUMN user_settings_at TIMESTAMPTZ")
    op.execute("ALTER TABLE notification_queue ADD COLUMN origin VARCHAR(20)")


def downgrade() -> None:
    op.execute("ALTER TABLE notification_queue DROP COLUMN origin")
    op.execute("ALTER TABLE notification_preferences DROP COLUMN user_settings_at, "
               "DROP COLUMN notifications_enabled")
