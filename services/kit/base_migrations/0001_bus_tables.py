"""Bus tables for an app whose own service is not built yet.

Revision ID: base_0001
Revises:
Create Date: 2026-11-25
"""

from services.kit.bus.tables import create_bus_tables, drop_bus_tables

revision = "base_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_tables()


def downgrade() -> None:
    drop_bus_tables()
