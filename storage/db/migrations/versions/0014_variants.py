"""A/B variants: which experiment and variant a conversation runs

Both nullable: a conversation of a flow outside any experiment (and every conversation from
before this revision) has neither. The report of an experiment takes its conversations by
experiment and start time, as it takes a flow's by flow and start time.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("experiment", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(length=16), nullable=True))
    op.create_index("ix_conversations_experiment_started", "conversations",
                    ["experiment", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_experiment_started", "conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("variant")
        batch.drop_column("experiment")
