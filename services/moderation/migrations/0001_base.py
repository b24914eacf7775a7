"""Moderation schema base: the bus tables.

The app's areas (users and subscriptions, ban events, sync) each branch from
this revision, so they evolve independently; the kit upgrades to all heads.

Revision ID: moderation_0001
Revises:
Create Date: 2026-11-25
"""

from services.kit.bus.tables import create_bus_tables, drop_bus_tables

revision = "moderation_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_tables()


def downgrade() -> None:
    drop_bus_tables()
