"""personal data: erasure marks, a keyed phone hash, room for encrypted values

`erased_at` on conversations and leads: what /forget and the retention job anonymised.
`phone_hash`: a keyed hash for looking a phone up while the phone itself is encrypted.
name / phone / email become TEXT: an encrypted value is longer than a phone.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        for column in ("name", "phone", "email"):
            batch.alter_column(column, type_=sa.Text(), existing_nullable=True)
        batch.create_index("ix_leads_phone_hash", ["phone_hash"])
    op.create_index("ix_conversations_updated_erased", "conversations",
                    ["erased_at", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_conversations_updated_erased", "conversations")
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_phone_hash")
        batch.drop_column("phone_hash")
        batch.drop_column("erased_at")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("erased_at")
