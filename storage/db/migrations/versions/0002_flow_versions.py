"""flow versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:52:55.008594
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.schema.columns import UTCDateTime

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_versions',
    sa.Column('flow_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('base_dir', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('loaded_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('flow_id', 'version')
    )


def downgrade() -> None:
    op.drop_table('flow_versions')
