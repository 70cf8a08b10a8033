"""Typed answers (issue 26)

`answers.typed`: an answer typed rather than tapped keeps what was typed (masked) and how
it was read ('"двушка" -> two_rooms (synonym)'). A new table `unmatched_texts`: typed text
no option or FAQ entry matched, masked, for `leadbot report --unmatched`. FAQ hits are
events (kind "faq"), no table of their own.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("typed", sa.String(), nullable=True))
    op.create_table(
        "unmatched_texts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"),
                  nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("flow_version", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("created_at", UTC, nullable=False))
    op.create_index("ix_unmatched_texts_conversation_id", "unmatched_texts",
                    ["conversation_id"])
    op.create_index("ix_unmatched_texts_user_id", "unmatched_texts", ["user_id"])
    op.create_index("ix_unmatched_texts_flow", "unmatched_texts", ["flow_id", "created_at"])


def downgrade() -> None:
    op.drop_table("unmatched_texts")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("typed")
