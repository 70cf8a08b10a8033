"""Deliveries to remote targets, the storage side: the delivery rows, written in the lead's
transaction (`note`), and the queries of the worker that sends them after the commit
(bot/deliveries/worker.py). A CRM gets a row per leadbot event (CRM_EVENTS); an ad platform a
row per conversion moment its goals name (dialogs/rules/conversions.py), `event` being the
moment and `data["goal"]` the platform's goal. The targets' own ids are links.py's; a lead
read whole for a payload is facts.py's.

Which targets are configured is the process's (like the PII key: storage/schema/sealing.py):
`configure` is called by bootstrap; with none, `note` writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.orm import aliased

from dialogs.rules.conversions import HOLD, moments
from storage.schema.tables import CrmDelivery
from storage.work.uow import UnitOfWork

# what a CRM is sent (sale: its amount)
CRM_EVENTS = ("qualified", "handoff", "claimed", "status", "sale", "erased")
EVENTS = (*CRM_EVENTS, "contact")  # contact: a lead's contact given (the `lead` moment)


@dataclass(frozen=True)
class Spec:
    """A configured target as `note` needs it: its name, the leadbot events it takes (a
    CRM) or its goals by moment (an ad platform), and how long its rows wait to go
    together (`window`, seconds: a batch upload's)."""

    name: str
    events: frozenset[str] = frozenset(CRM_EVENTS)
    goals: Mapping[str, str] = field(default_factory=dict)
    window: float = 0.0


_targets: tuple[Spec, ...] = ()


def configure(targets: tuple[Spec, ...] | list[Spec]) -> None:
    global _targets
    _targets = tuple(targets)


def targets() -> tuple[str, ...]:
    return tuple(spec.name for spec in _targets)


def _window(now: datetime, seconds: float) -> datetime:
    """The end of the window `now` falls in: rows of a batch target written within one
    window are due together."""
    if seconds <= 0:
        return now
    stamp = now.timestamp()
    return now + timedelta(seconds=seconds - stamp % seconds)


def note(uow: UnitOfWork, lead_id: int | None, event: str, now: datetime,
         but: str | None = None, **data: Any) -> None:
    """The delivery rows of a leadbot event, in the caller's transaction: a row per CRM
    target that takes the event, and a row per ad platform's goal for each moment the event
    is. `data` must hold nothing personal (a status, a reason, a temperature): the payload
    is built from the lead when sent. `but`: a target left out (the CRM that told us the
    status: never echoed back)."""
    assert event in EVENTS, event
    if lead_id is None:
        return
    found = moments(event, data)
    for spec in _targets:
        if spec.name == but:
            continue
        if spec.goals:
            for moment in found:
                if moment in spec.goals:
                    due = _window(now + timedelta(seconds=HOLD.get(moment, 0.0)),
                                  spec.window)
                    uow.stage(CrmDelivery, target=spec.name, lead_id=lead_id, event=moment,
                              data={"goal": spec.goals[moment]}, not_before=due,
                              created_at=now)
        elif event in spec.events:
            uow.stage(CrmDelivery, target=spec.name, lead_id=lead_id, event=event,
                      data=data, not_before=now, created_at=now)


async def due(uow: UnitOfWork, now: datetime, limit: int = 200) -> list[CrmDelivery]:
    """Pending rows that may go now: per target and lead only the oldest (events in order)."""
    session = uow.session
    assert session is not None
    earlier = aliased(CrmDelivery)
    blocked = exists().where(and_(earlier.target == CrmDelivery.target,
                                  earlier.lead_id == CrmDelivery.lead_id,
                                  earlier.status == "pending", earlier.id < CrmDelivery.id))
    result = await session.execute(
        select(CrmDelivery).where(CrmDelivery.status == "pending",
                                  CrmDelivery.not_before <= now, ~blocked)
        .order_by(CrmDelivery.id).limit(limit))
    return list(result.scalars())


async def next_due(uow: UnitOfWork) -> datetime | None:
    session = uow.session
    assert session is not None
    return await session.scalar(select(func.min(CrmDelivery.not_before)).where(
        CrmDelivery.status == "pending"))


async def attempt(uow: UnitOfWork, row_id: int, now: datetime,
                  lease: timedelta) -> int | None:
    """Counts a try before it is made (committed by the caller first): after a crash the
    row says a CRM may have it. The row is also leased (not due again for `lease`), and
    only if it is due now: of two processes that picked it, one gets it. Returns the
    attempts before this one (None: not ours to try)."""
    session = uow.session
    assert session is not None
    result = await session.execute(
        update(CrmDelivery).where(CrmDelivery.id == row_id, CrmDelivery.status == "pending",
                                  CrmDelivery.not_before <= now)
        .values(attempts=CrmDelivery.attempts + 1, not_before=now + lease))
    if not result.rowcount:
        return None
    attempts = await session.scalar(select(CrmDelivery.attempts).where(
        CrmDelivery.id == row_id))
    return int(attempts or 1) - 1


async def prune(uow: UnitOfWork, before: datetime) -> int:
    """Sent and failed rows older than `before` (the pruning job): nothing waits on them."""
    session = uow.session
    assert session is not None
    result = await session.execute(delete(CrmDelivery).where(
        CrmDelivery.status.in_(("sent", "failed")), CrmDelivery.created_at < before))
    return result.rowcount or 0


async def pending_count(uow: UnitOfWork, target: str | None = None) -> int:
    session = uow.session
    assert session is not None
    query = select(func.count()).select_from(CrmDelivery).where(
        CrmDelivery.status == "pending")
    if target is not None:
        query = query.where(CrmDelivery.target == target)
    return int(await session.scalar(query) or 0)


async def alerted(uow: UnitOfWork, target: str) -> bool:
    """Whether the managers were already told about this target's current failure."""
    session = uow.session
    assert session is not None
    return bool(await session.scalar(select(exists().where(
        CrmDelivery.target == target, CrmDelivery.status == "pending",
        CrmDelivery.alerted.is_(True)))))


async def finish(uow: UnitOfWork, row_id: int, **values: Any) -> None:
    session = uow.session
    assert session is not None
    await session.execute(update(CrmDelivery).where(CrmDelivery.id == row_id)
                          .values(**values))
