"""The CRM's own ids of a lead (`crm_links`), per target: kept after a delivery, so a later
event of the lead goes to the record the CRM made (bot/deliveries/worker.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.schema.tables import CrmLink
from storage.work.uow import UnitOfWork


async def link(uow: UnitOfWork, lead_id: int, target: str) -> CrmLink | None:
    session = uow.session
    assert session is not None
    return await session.get(CrmLink, (lead_id, target))


async def remember(uow: UnitOfWork, lead_id: int, target: str, remote_id: str,
                   contact_id: str | None, now: datetime) -> None:
    found = await link(uow, lead_id, target)
    if found is None:
        uow.session.add(CrmLink(lead_id=lead_id, target=target, remote_id=remote_id,
                                contact_id=contact_id, created_at=now))
    else:
        found.remote_id = remote_id
        found.contact_id = contact_id or found.contact_id


async def lead_of(uow: UnitOfWork, target: str, remote_id: str) -> int | None:
    """leadbot's lead a CRM's record is (a status or sale sent back: bot/deliveries/crm/inbound)."""
    session = uow.session
    assert session is not None
    return await session.scalar(select(CrmLink.lead_id).where(
        CrmLink.target == target, CrmLink.remote_id == remote_id).limit(1))
