"""The clean-up of crm_inbound (storage/deliveries/sales.py `prune`), on SQLite and
PostgreSQL: what only grows goes after KEEP_DAYS (news about no lead of leadbot's, repeats,
the generic hook's delivery ids); what a lead's sale rests on, and what still waits to be
read back, stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.deliveries import sales
from storage.schema.money import CrmInbound
from storage.schema.tables import utcnow
from storage.work.uow import UnitOfWork


async def test_what_only_grows_is_pruned_and_what_matters_stays(sessions):
    now = utcnow()
    old, fresh = now - timedelta(days=sales.KEEP_DAYS + 1), now - timedelta(minutes=10)
    rows = [("bitrix24", "lead:1:a", "unknown_lead", old),
            ("amocrm", "lead:2:b", "same", old),
            ("events", "d-old", "applied", old),  # a delivery id, far past its 5 minutes
            ("events", "d-fresh", "applied", fresh),  # still guards against a replay
            ("bitrix24", "lead:3:c", "applied", old),  # a sale
            ("amocrm", "lead:4:d", "kept", old),
            ("bitrix24", "lead:5", "pending", old),  # still to be read back
            ("bitrix24", "lead:6:e", "unknown_lead", fresh)]
    async with UnitOfWork(sessions) as uow:
        for target, key, result, at in rows:
            uow.session.add(CrmInbound(target=target, key=key, result=result,
                                       received_at=at))
        await uow.commit()
    async with UnitOfWork(sessions) as uow:
        assert await sales.prune(uow, now - timedelta(days=sales.KEEP_DAYS)) == 3
        await uow.commit()
    async with sessions() as session:
        left = sorted((await session.execute(select(CrmInbound.key))).scalars())
    assert left == ["d-fresh", "lead:3:c", "lead:4:d", "lead:5", "lead:6:e"]
