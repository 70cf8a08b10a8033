"""the relay: which lead a prospect is talking about with a manager through the bot

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prospects") as batch:
        batch.add_column(sa.Column("relay_handoff_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prospects") as batch:
        batch.drop_column("relay_handoff_id")
