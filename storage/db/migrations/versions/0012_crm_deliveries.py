"""crm_deliveries and crm_links: leads into the sales team's CRM, durably

A delivery row per configured target (webhook, Bitrix24, amoCRM) is written in the lead's
transaction; the worker (bot/deliveries/) sends it and records the CRM's own id in crm_links, so a
later event updates that record instead of creating another.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.schema.columns import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(32), nullable=False, unique=True),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(120), nullable=True),
        sa.Column("alerted", sa.Boolean, nullable=False),
    )
    op.create_index("ix_crm_deliveries_due", "crm_deliveries", ["status", "not_before"])
    op.create_index("ix_crm_deliveries_lead", "crm_deliveries", ["target", "lead_id", "id"])
    op.create_table(
        "crm_links",
        sa.Column("lead_id", sa.Integer, sa.ForeignKey("leads.id"), primary_key=True),
        sa.Column("target", sa.String(16), primary_key=True),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("crm_links")
    op.drop_index("ix_crm_deliveries_lead", "crm_deliveries")
    op.drop_index("ix_crm_deliveries_due", "crm_deliveries")
    op.drop_table("crm_deliveries")
