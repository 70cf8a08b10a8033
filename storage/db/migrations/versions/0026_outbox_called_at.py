"""outbox.called_at: when a sender first started the call of a card or a card's edit

A lead's card waiting for the group's budget takes in the next hot lead, and a claim
rewrites a card or an edit not yet sent (bot/handoff/cards.py). A rewrite made while the
row's call is already on its way was lost with the lead it added. The sender now marks such
a row before its call (committed, the payload read back in the same statement); a row so
marked is never rewritten again, and the next lead gets a card of its own.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.schema.columns import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("called_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("called_at")
