"""The funnel's progress on each conversation, instead of counting every event again

`conversations.progress` (JSON): the steps a conversation reached and answered, whether it
gave consent to processing and a contact (dialogs/rules/funnel.py). The bot writes it with
the conversation's state, in the same statement; the report and the dashboard count people
from it, one row per conversation, rather than from ~10 events per conversation. Filled here
from the events for every conversation recorded before (in conversation id order, a batch
at a time).

The index of events by conversation, kind, step and user (0011) served only that count: it
goes, and every event written is one index lighter.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BATCH = 5000  # conversations per UPDATE batch

conversations = sa.table("conversations", sa.column("id", sa.Integer),
                         sa.column("progress", sa.JSON))
events = sa.table("events", sa.column("id", sa.Integer),
                  sa.column("conversation_id", sa.Integer), sa.column("kind", sa.String),
                  sa.column("step", sa.String), sa.column("data", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("progress", sa.JSON(), nullable=False,
                                   server_default="{}"))
    fill(op.get_bind())
    op.drop_index("ix_events_conversation_kind", "events")


def fill(bind: sa.Connection) -> None:
    """Every conversation's progress from its funnel events (the same marks as
    dialogs.rules.funnel.marked, written out here: a migration does not change with the
    code after it), BATCH conversations at a time."""
    purpose = sa.case((events.c.kind == "consent", events.c.data["purpose"].as_string()),
                      else_=sa.null())
    first = sa.func.min(events.c.id)
    update = (conversations.update().where(conversations.c.id == sa.bindparam("_id"))
              .values(progress=sa.bindparam("_progress", type_=sa.JSON())))
    last = bind.execute(sa.select(sa.func.max(conversations.c.id))).scalar() or 0
    for low in range(0, last, BATCH):
        found = bind.execute(
            sa.select(events.c.conversation_id, events.c.kind, events.c.step, purpose)
            .where(events.c.conversation_id > low, events.c.conversation_id <= low + BATCH,
                   events.c.kind.in_(("step", "answer", "consent", "contact")))
            .group_by(events.c.conversation_id, events.c.kind, events.c.step, purpose)
            .order_by(events.c.conversation_id, first))
        progress: dict[int, dict] = {}
        for conversation_id, kind, step, why in found:
            marks = progress.setdefault(conversation_id, {})
            if kind in ("step", "answer") and step:
                done = marks.setdefault("reached" if kind == "step" else "answered", [])
                if step not in done:
                    done.append(step)
            elif kind == "consent" and why == "processing":
                marks["consent"] = True
            elif kind == "contact":
                marks["contact"] = True
        if progress:
            bind.execute(update, [{"_id": c, "_progress": p} for c, p in progress.items()])


def downgrade() -> None:
    op.create_index("ix_events_conversation_kind", "events",
                    ["conversation_id", "kind", "step", "user_id"])
    # SQLite (3.35+) drops the column in place: the batch mode's copy of the table would
    # trip the foreign keys that point at conversations
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE conversations DROP COLUMN progress")
    else:
        op.drop_column("conversations", "progress")
