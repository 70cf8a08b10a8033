"""Which ad pays: tracking links and clicks, ad spend, sales back from the CRMs

New tables: `tracking_links` (`leadbot links add`, LEADBOT_LINKS_FILE), `clicks` (one per
visit of `/go/<link>`, no personal data beyond the ad platforms' click ids), `spend` (what
a source cost over a span of days) and `crm_inbound` (a CRM's status or sale sent back,
kept by its delivery key: applied once).

New columns: the campaign beside the source on conversations, leads and events; the click
that started a conversation; the sale on a lead (`won_at`, `amount` in hundredths of
`currency`) and `crm_status`, a CRM's word for a status leadbot's could not follow.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
LEAD_COLUMNS = ("campaign", "won_at", "amount", "currency", "crm_status")


def upgrade() -> None:
    op.create_table(
        "tracking_links",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False))
    op.create_table(
        "clicks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(length=16), nullable=False, unique=True),
        sa.Column("link", sa.String(length=32), nullable=False),
        sa.Column("flow_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("utm", sa.JSON(), nullable=False),
        sa.Column("yclid", sa.String(length=200), nullable=True),
        sa.Column("gclid", sa.String(length=200), nullable=True),
        sa.Column("fbclid", sa.String(length=200), nullable=True),
        sa.Column("ym_uid", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTC, nullable=False))
    op.create_index("ix_clicks_created_at", "clicks", ["created_at"])
    op.create_index("ix_clicks_source_created", "clicks", ["source", "created_at"])
    op.create_table(
        "spend",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False))
    op.create_index("ix_spend_source_days", "spend", ["source", "first_day"])
    op.create_table(
        "crm_inbound",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("due_at", UTC, nullable=True),
        sa.UniqueConstraint("target", "key"))
    op.create_index("ix_crm_inbound_lead_id", "crm_inbound", ["lead_id"])
    # plain ALTER TABLE ... ADD COLUMN on both databases: no table copy
    op.add_column("conversations", sa.Column("campaign", sa.String(length=64), nullable=True))
    op.add_column("conversations", sa.Column("click_id", sa.Integer(), nullable=True))
    op.create_index("ix_conversations_click_id", "conversations", ["click_id"])
    op.add_column("events", sa.Column("campaign", sa.String(length=64), nullable=True))
    op.add_column("leads", sa.Column("campaign", sa.String(length=64), nullable=True))
    op.add_column("leads", sa.Column("won_at", UTC, nullable=True))
    op.add_column("leads", sa.Column("amount", sa.BigInteger(), nullable=True))
    op.add_column("leads", sa.Column("currency", sa.String(length=3), nullable=True))
    op.add_column("leads", sa.Column("crm_status", sa.String(length=64), nullable=True))
    # a sale recorded before: the time its status was set
    op.execute("UPDATE leads SET won_at = (SELECT h.status_at FROM handoffs h "
               "WHERE h.lead_id = leads.id) WHERE status = 'won'")


def downgrade() -> None:
    for column in reversed(LEAD_COLUMNS):
        op.execute(f"ALTER TABLE leads DROP COLUMN {column}")
    op.execute("ALTER TABLE events DROP COLUMN campaign")
    op.drop_index("ix_conversations_click_id", "conversations")
    op.execute("ALTER TABLE conversations DROP COLUMN click_id")
    op.execute("ALTER TABLE conversations DROP COLUMN campaign")
    for table in ("crm_inbound", "spend", "clicks", "tracking_links"):
        op.drop_table(table)
