"""The consent ledger is append-only, enforced by the database itself

GDPR Art. 7(1): consent must be demonstrable. A withdrawal is a new row (granted = false),
never an edit; so UPDATE and DELETE on `consents` are refused by triggers, whatever code or
person tries them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MESSAGE = "the consent ledger is append-only"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER consents_no_{action.lower()}
                BEFORE {action} ON consents
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
            """)
        return
    op.execute(f"""
        CREATE FUNCTION consents_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '{MESSAGE}'; END
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER consents_append_only BEFORE UPDATE OR DELETE ON consents
        FOR EACH ROW EXECUTE FUNCTION consents_append_only()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER consents_no_update")
        op.execute("DROP TRIGGER consents_no_delete")
        return
    op.execute("DROP TRIGGER consents_append_only ON consents")
    op.execute("DROP FUNCTION consents_append_only()")
