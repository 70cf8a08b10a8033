"""Several processes on one PostgreSQL: who sends an outbox row, and when a shared pass ran

`outbox.owner`: the number of the live sender that sends the row (storage/work/owners.py);
a row is sent by that process only, and taken over by another once its owner's advisory
lock is gone (the process died). None on SQLite and on rows not yet taken.

`job_runs`: one row per pass every process runs on a timer (pruning, retention); the
process that moves `ran_at` on runs that pass, the others skip it (storage/work/passes.py).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.schema.columns import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("owner", sa.Integer(), nullable=True))
    op.create_index("ix_outbox_owner", "outbox", ["owner", "status"])
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("ran_at", UTCDateTime(), nullable=False))


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_index("ix_outbox_owner", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("owner")
