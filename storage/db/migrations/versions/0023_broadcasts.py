"""Broadcasts: one message to a segment of prospects

New tables: `broadcasts` (`leadbot broadcast create FILE.yaml`: a unique name, the parsed
file and the SHA-256 of its text, a status, when to send, who made it, how many recipients
were written and who was left out per reason) and `broadcast_recipients` (one row per person
it is for: their Telegram ids and language, pending / queued / skipped with a reason, when
due, the outbox row that carries it, the buttons tapped, an unsubscribe).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=32), nullable=False, unique=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("send_at", UTC, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("left_out", sa.JSON(), nullable=False))
    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("broadcast_id", sa.Integer(), sa.ForeignKey("broadcasts.id"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=True),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=True),
        sa.Column("queued_at", UTC, nullable=True),
        sa.Column("tapped", sa.JSON(), nullable=False),
        sa.Column("unsubscribed_at", UTC, nullable=True),
        sa.UniqueConstraint("broadcast_id", "user_id"))
    op.create_index("ix_broadcast_recipients_due", "broadcast_recipients",
                    ["broadcast_id", "status", "due_at"])
    op.create_index("ix_broadcast_recipients_user_id", "broadcast_recipients", ["user_id"])


def downgrade() -> None:
    op.drop_table("broadcast_recipients")
    op.drop_table("broadcasts")
