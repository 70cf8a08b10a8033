"""follow_ups become nurture: sequences, buttons, quiet hours, the reminder

A follow-up row now knows its kind (a sequence's message or the abandoned-quiz reminder),
its sequence and position (the next one waits, status "waiting", until the one before it
went out: its delay counts from then), its buttons, the flow's quiet hours and time zone,
whether a message from the prospect ends it, and when it was sent (the weekly cap counts
those). Existing rows are single messages of a sequence of their own: the defaults.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.schema.columns import SealedJSON, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=12), nullable=False,
                                   server_default="sequence"))
        batch.add_column(sa.Column("sequence", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("position", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("delay_seconds", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("markup", SealedJSON(), nullable=True))
        batch.add_column(sa.Column("zone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("quiet", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("stop_on_message", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("sent_at", UTCDateTime(), nullable=True))
    # the weekly cap: a prospect's marketing messages sent in the last week
    op.create_index("ix_follow_ups_user_sent", "follow_ups", ["user_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_follow_ups_user_sent", "follow_ups")
    with op.batch_alter_table("follow_ups") as batch:
        for column in ("sent_at", "stop_on_message", "quiet", "zone", "markup",
                       "delay_seconds", "position", "sequence", "kind"):
            batch.drop_column(column)
