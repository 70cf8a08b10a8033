"""Conversions for the ad platforms: Google Analytics' client id on a click

`clicks.ga_client_id`: the `client_id` of Google Analytics 4 a tracking link received (from
`_ga`, as the site's cookie holds it, or `client_id`), so a lead's conversions reach the
Measurement Protocol as that visitor's. The conversions themselves are rows of
`crm_deliveries` (a target per platform, `event` the moment): no new table.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clicks", sa.Column("ga_client_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE clicks DROP COLUMN ga_client_id")
