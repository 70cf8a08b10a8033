"""outbox rows know the lead they are about; TRUNCATE refused on the consent ledger

Messages about a lead go to the managers' group and to managers' private chats as well as
to the prospect, so erasure (and /mydata) must find them by the lead, whoever they were
addressed to: `outbox.lead_id`.

The ledger's triggers refused UPDATE and DELETE, but PostgreSQL's TRUNCATE fires neither
(row triggers never see it): a statement trigger refuses it too. SQLite has no TRUNCATE
(its DELETE without WHERE fires the DELETE trigger, so it is refused already).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
    op.create_index("ix_outbox_lead_id", "outbox", ["lead_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE TRIGGER consents_no_truncate BEFORE TRUNCATE ON consents
            FOR EACH STATEMENT EXECUTE FUNCTION consents_append_only()
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER consents_no_truncate ON consents")
    op.drop_index("ix_outbox_lead_id", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lead_id")
