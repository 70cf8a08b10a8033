"""The consent ledger: per company, with the channel and the message answered; REPLACE refused

`consents.operator`: the company (the flow's `operator.company`, or LEADBOT_COMPANY_NAME)
the consent is given to or withdrawn from: a "yes" to one company is not a "yes" to
another. Rows from before have none: they count for no company (each asks again), and
/stop and /forget still withdraw them.

`consents.channel` and `consents.message_id`: where the person answered ("telegram") and
the id of the message whose button they tapped.

SQLite: the triggers of 0004 refuse UPDATE and DELETE, but `INSERT OR REPLACE` (and
`REPLACE INTO`) over an existing id deletes the row without firing its DELETE trigger
(recursive_triggers is off) and writes another: a grant replaced. A BEFORE INSERT trigger
refuses an id that exists. PostgreSQL has no REPLACE; its `INSERT ... ON CONFLICT DO
UPDATE` fires the UPDATE trigger of 0004, which refuses it.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

MESSAGE = "the consent ledger is append-only"
COLUMNS = ("operator", "channel", "message_id")


def upgrade() -> None:
    # plain ALTER TABLE ... ADD COLUMN: no table copy (which would drop the triggers)
    op.add_column("consents", sa.Column("operator", sa.String(length=200), nullable=True))
    op.add_column("consents", sa.Column("channel", sa.String(length=16), nullable=True))
    op.add_column("consents", sa.Column("message_id", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"""
            CREATE TRIGGER consents_no_replace BEFORE INSERT ON consents
            WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM consents WHERE id = NEW.id)
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER consents_no_replace")
    for column in reversed(COLUMNS):  # ALTER TABLE ... DROP COLUMN on both (SQLite 3.35+):
        op.execute(f"ALTER TABLE consents DROP COLUMN {column}")  # the triggers stay
