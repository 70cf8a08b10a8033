"""outbox.purpose: what a row is, instead of codes packed into outbox.step

`outbox.step` meant four things: the flow step a question asks, "card" (a lead's card or
digest in a managers' chat), "lead:<hand-off id>" (the lead in a manager's private chat) and
"lead:<hand-off id>:r" (a relayed message), parsed with split(':') in three places. Now
`step` is only ever a flow step; `purpose` says card / lead / relay, and `lead_id` (0009)
says which lead.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=8), nullable=True))
    bind = op.get_bind()
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("step", sa.String),
                      sa.column("purpose", sa.String), sa.column("lead_id", sa.Integer))
    handoffs = sa.table("handoffs", sa.column("id", sa.Integer),
                        sa.column("lead_id", sa.Integer))
    bind.execute(outbox.update().where(outbox.c.step == "card")
                 .values(purpose="card", step=None))
    leads = dict(bind.execute(sa.select(handoffs.c.id, handoffs.c.lead_id)).all())
    rows = bind.execute(sa.select(outbox.c.id, outbox.c.step, outbox.c.lead_id)
                        .where(outbox.c.step.like("lead:%"))).all()
    for row_id, step, lead_id in rows:
        parts = step.split(":")
        handoff = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        bind.execute(outbox.update().where(outbox.c.id == row_id).values(
            purpose="relay" if step.endswith(":r") else "lead", step=None,
            lead_id=lead_id if lead_id is not None else leads.get(handoff)))
    op.create_index("ix_outbox_reply", "outbox", ["chat_id", "telegram_message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_reply", "outbox")
    bind = op.get_bind()
    outbox = sa.table("outbox", sa.column("step", sa.String), sa.column("purpose", sa.String))
    bind.execute(outbox.update().where(outbox.c.purpose == "card").values(step="card"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("purpose")
