"""CRM failures kept as a status and a reason of ours: the words CRMs answered, scrubbed

Until now a refusal's `error` / `title` was cut to [A-Za-z0-9_.-] and kept in
`crm_deliveries.error` and in the `reason` of `crm_failed` events: a CRM quoting what it
refused ("invalid phone +79164372958") left `invalidphone79164372958` there, in clear, past
/forget. Each is rewritten to what bot/deliveries/http.py now keeps: `HTTP <status>`, or a reason
of ours (`timeout`, `network: <error type>`, `the lead is gone`); anything else becomes
`bad_answer`. Nothing to restore on downgrade.

Revision ID: 0019
Revises: 0016
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

STATUS = re.compile(r"HTTP [0-9]{3}")
OURS = re.compile(r"timeout|network: [A-Za-z]{1,40}|the lead is gone")

deliveries = sa.table("crm_deliveries", sa.column("id", sa.Integer),
                      sa.column("error", sa.String))
events = sa.table("events", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                  sa.column("data", sa.JSON))


def scrubbed(reason: object) -> str | None:
    if reason is None:
        return None
    text = str(reason)
    if OURS.fullmatch(text):
        return text
    status = STATUS.match(text)
    return status.group(0) if status else "bad_answer"


def upgrade() -> None:
    connection = op.get_bind()
    for row_id, error in connection.execute(
            sa.select(deliveries.c.id, deliveries.c.error).where(
                deliveries.c.error.isnot(None))).all():
        if scrubbed(error) != error:
            connection.execute(deliveries.update().where(deliveries.c.id == row_id)
                               .values(error=scrubbed(error)))
    for row_id, data in connection.execute(
            sa.select(events.c.id, events.c.data).where(events.c.kind == "crm_failed")).all():
        if isinstance(data, dict) and scrubbed(data.get("reason")) != data.get("reason"):
            connection.execute(events.update().where(events.c.id == row_id)
                               .values(data={**data, "reason": scrubbed(data["reason"])}))


def downgrade() -> None:
    pass  # the CRMs' words are gone for good
