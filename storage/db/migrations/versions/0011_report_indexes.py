"""Indexes for the funnel (`leadbot report`, the dashboard, `leadbot export leads`)

The report takes one flow's conversations started in a date range, then their events, leads
and hand-offs by conversation. Without these it scans every event (a million rows: seconds);
with them each step is an index range. events(conversation_id, kind, step, user_id) covers
the per-step count without reading the table.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_flow_started", "conversations",
                    ["flow_id", "started_at"])
    op.create_index("ix_events_conversation_kind", "events",
                    ["conversation_id", "kind", "step", "user_id"])
    op.create_index("ix_handoffs_conversation", "handoffs", ["conversation_id"])
    op.create_index("ix_leads_created", "leads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_created", "leads")
    op.drop_index("ix_handoffs_conversation", "handoffs")
    op.drop_index("ix_events_conversation_kind", "events")
    op.drop_index("ix_conversations_flow_started", "conversations")
