"""handoffs: the route that took the lead, and whether it was assigned directly

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("route", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("assigned", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("assigned")
        batch.drop_column("route")
