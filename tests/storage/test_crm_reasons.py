"""Migration 0019: the words CRMs answered, kept before in crm_deliveries.error and in
crm_failed events, are rewritten to a status and a reason of ours."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from storage.db.engine import sessionmaker
from storage.db.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.deliveries import rows as crm
from storage.schema.tables import CrmDelivery, Event, utcnow
from storage.work.uow import UnitOfWork
from tests.bot.test_crm import add_leads
from tests.databases import own_database
from tests.storage.test_progress import _migrate

BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision("0019").down_revision


@pytest.fixture(params=["sqlite", "postgresql"])
async def own_engine(request, tmp_path):
    """A database of this test's own: it goes down below 0019 and back."""
    async with own_database(request.param, tmp_path, "crm_reasons") as engine:
        yield engine


LEAKED = ["HTTP 400 invalidphone79164372958", "crm.lead.add: an answer without a result",
          "HTTP 503 INTERNAL_SERVER_ERROR", "timeout", "network: ClientConnectorError", None]
KEPT = ["HTTP 400", "bad_answer", "HTTP 503", "timeout", "network: ClientConnectorError",
        None]


async def test_the_migration_scrubs_what_crms_answered(own_engine):
    await upgrade(own_engine)
    sessions = sessionmaker(own_engine)
    try:
        await add_leads(sessions, len(LEAKED), names=["bitrix24"])
        async with UnitOfWork(sessions) as uow:
            rows = (await uow.session.execute(select(CrmDelivery).order_by(CrmDelivery.id))
                    ).scalars().all()
            for row, error in zip(rows, LEAKED, strict=True):
                row.error = error
                uow.stage(Event, user_id=5000, kind="crm_failed", created_at=utcnow(),
                          data={"target": "bitrix24", "lead": row.lead_id, "reason": error})
            await uow.commit()
    finally:
        crm.configure(())
    async with own_engine.begin() as connection:
        await connection.run_sync(_migrate, BEFORE, True)
    await upgrade(own_engine)
    assert await current_revision(own_engine) == head_revision()
    async with sessions() as session:
        errors = (await session.execute(select(CrmDelivery.error).order_by(CrmDelivery.id))
                  ).scalars().all()
        reasons = [e.data["reason"] for e in (await session.execute(
            select(Event).where(Event.kind == "crm_failed").order_by(Event.id))).scalars()]
    assert errors == KEPT and reasons == KEPT
