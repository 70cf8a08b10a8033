"""The dashboard's people: personal sign-ins with roles

New tables: `admin_people` (`leadbot admin add NAME --role ...`: a unique name, a role, the
argon2 hash of the password once set; removed people stay, marked), `admin_links` (one-time
sign-in links, kept as the SHA-256 of their token) and `admin_sessions` (signed-in browsers,
kept as the SHA-256 of their cookie, so every process on one PostgreSQL agrees on them).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("removed_at", UTC, nullable=True))
    op.create_table(
        "admin_links",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("admin_people.id"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("used_at", UTC, nullable=True))
    op.create_index("ix_admin_links_person_id", "admin_links", ["person_id"])
    op.create_table(
        "admin_sessions",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("admin_people.id"), nullable=True),
        sa.Column("token_mark", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("seen_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False))
    op.create_index("ix_admin_sessions_person_id", "admin_sessions", ["person_id"])
    op.create_index("ix_admin_sessions_expires_at", "admin_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("admin_sessions")
    op.drop_table("admin_links")
    op.drop_table("admin_people")
