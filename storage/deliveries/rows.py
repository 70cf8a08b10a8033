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

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from dialogs.rules.conversions import HOLD, PLATFORMS, moments
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


async def due(uow: UnitOfWork, now: datetime, limit: int = 200, *,
              unordered: Collection[str] = (), but: Collection[str] = ()) -> list[CrmDelivery]:
    """Pending rows that may go now: per target and lead only the oldest (a CRM's events in
    order), but every due row of an `unordered` target (an ad platform: each conversion
    stands alone). `but`: targets left out (a batch target's rows are `take_batch`'s)."""
    session = uow.session
    assert session is not None
    earlier = aliased(CrmDelivery)
    blocked = exists().where(and_(earlier.target == CrmDelivery.target,
                                  earlier.lead_id == CrmDelivery.lead_id,
                                  earlier.status == "pending", earlier.id < CrmDelivery.id))
    query = select(CrmDelivery).where(CrmDelivery.status == "pending",
                                      CrmDelivery.not_before <= now)
    if unordered:
        query = query.where(or_(CrmDelivery.target.in_(tuple(unordered)), ~blocked))
    else:
        query = query.where(~blocked)
    if but:
        query = query.where(CrmDelivery.target.not_in(tuple(but)))
    result = await session.execute(query.order_by(CrmDelivery.id).limit(limit))
    return list(result.scalars())


def _awaiting(targets: Collection[str], since: datetime) -> ColumnElement[bool]:
    """Sent rows of these batch targets whose upload is still to be read back: sent since
    `since` (older ones stay `sent`: the platform never said more), with an upload id."""
    return and_(CrmDelivery.status == "sent", CrmDelivery.target.in_(tuple(targets)),
                CrmDelivery.sent_at >= since,
                CrmDelivery.data["upload"].as_string().is_not(None))


async def next_due(uow: UnitOfWork, checking: Collection[str] = (),
                   since: datetime | None = None) -> datetime | None:
    """When the next pending row is due, or the next check of a `checking` target's upload
    sent since `since`."""
    session = uow.session
    assert session is not None
    found = await session.scalar(select(func.min(CrmDelivery.not_before)).where(
        CrmDelivery.status == "pending"))
    if checking and since is not None:
        check = await session.scalar(select(func.min(CrmDelivery.not_before)).where(
            _awaiting(checking, since)))
        if check is not None and (found is None or check < found):
            found = check
    return found


async def batch_work(uow: UnitOfWork, targets: Collection[str], now: datetime,
                     since: datetime) -> set[tuple[str, str]]:
    """What the batch targets have to do now: (target, "upload") when rows of it are due,
    (target, "check") when an upload's read-back is."""
    session = uow.session
    assert session is not None
    if not targets:
        return set()
    uploads = await session.execute(select(CrmDelivery.target).distinct().where(
        CrmDelivery.status == "pending", CrmDelivery.target.in_(tuple(targets)),
        CrmDelivery.not_before <= now))
    checks = await session.execute(select(CrmDelivery.target).distinct().where(
        _awaiting(targets, since), CrmDelivery.not_before <= now))
    return ({(name, "upload") for name in uploads.scalars()}
            | {(name, "check") for name in checks.scalars()})


async def awaiting_count(uow: UnitOfWork, targets: Collection[str], since: datetime) -> int:
    """Sent rows whose upload is still to be read back (`drain(checks=True)` waits for
    them)."""
    session = uow.session
    assert session is not None
    if not targets:
        return 0
    return int(await session.scalar(select(func.count()).select_from(CrmDelivery).where(
        _awaiting(targets, since))) or 0)


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


async def take(uow: UnitOfWork, row: CrmDelivery, now: datetime, lease: timedelta, *,
               clear: bool = False) -> bool:
    """`attempt` for a row as `due` read it: counted and leased only if still pending, due
    and tried no more since (attempts unchanged), so the row in hand is the row as it is,
    its `error` the last try's. Of two processes that read it, the UPDATE's guard gives it
    to one (PostgreSQL re-checks the WHERE after the other's commit). `clear`: the error is
    cleared for this try (a target that must know whether a try's outcome is unknown: a
    crash during it leaves `error` empty)."""
    session = uow.session
    assert session is not None
    values: dict[str, Any] = {"attempts": CrmDelivery.attempts + 1,
                              "not_before": now + lease}
    if clear:
        values["error"] = None
    result = await session.execute(
        update(CrmDelivery).where(CrmDelivery.id == row.id, CrmDelivery.status == "pending",
                                  CrmDelivery.not_before <= now,
                                  CrmDelivery.attempts == row.attempts).values(**values))
    return bool(result.rowcount)


async def _lease(uow: UnitOfWork, query: Select[tuple[CrmDelivery]], guard: list[Any],
                 values: dict[str, Any]) -> list[CrmDelivery]:
    """The rows of `query` this process gets: read FOR UPDATE SKIP LOCKED (PostgreSQL: rows
    another process is leasing are passed over, and ours stay as read until the commit),
    then leased by an UPDATE that keeps `guard` (whatever another process did between is
    not ours). The rows as read, before the lease."""
    session = uow.session
    assert session is not None
    found = list((await session.execute(query.with_for_update(skip_locked=True))).scalars())
    if not found:
        return []
    result = await session.execute(  # the rows in hand stay as read (not synchronised)
        update(CrmDelivery).where(CrmDelivery.id.in_([r.id for r in found]), *guard)
        .values(**values).returning(CrmDelivery.id)
        .execution_options(synchronize_session=False))
    ours = set(result.scalars())
    return [row for row in found if row.id in ours]


async def take_batch(uow: UnitOfWork, target: str, now: datetime, lease: timedelta,
                     limit: int, *, clear: bool = False) -> list[CrmDelivery]:
    """Up to `limit` due rows of a batch target, oldest first, each counted and leased as
    `take` does one (`_lease`: safe with several processes on one database)."""
    due_now = [CrmDelivery.target == target, CrmDelivery.status == "pending",
               CrmDelivery.not_before <= now]
    values: dict[str, Any] = {"attempts": CrmDelivery.attempts + 1,
                              "not_before": now + lease}
    if clear:
        values["error"] = None
    return await _lease(uow, select(CrmDelivery).where(*due_now).order_by(CrmDelivery.id)
                        .limit(limit), due_now, values)


async def take_checks(uow: UnitOfWork, target: str, now: datetime, since: datetime,
                      lease: timedelta, limit: int) -> list[CrmDelivery]:
    """Up to `limit` sent rows of a batch target whose upload's check is due (`not_before`
    is the next check), leased for `lease` (`_lease`): one process reads an upload back at
    a time."""
    due_now = [CrmDelivery.target == target, _awaiting((target,), since),
               CrmDelivery.not_before <= now]
    return await _lease(uow, select(CrmDelivery).where(*due_now).order_by(CrmDelivery.id)
                        .limit(limit), due_now, {"not_before": now + lease})


async def duplicate(uow: UnitOfWork, row: CrmDelivery) -> bool:
    """Whether an earlier row counts the same conversion (target, lead and moment) and is
    pending, sent or accepted: one conversion per lead, platform and goal."""
    session = uow.session
    assert session is not None
    return bool(await session.scalar(select(exists().where(
        CrmDelivery.target == row.target, CrmDelivery.lead_id == row.lead_id,
        CrmDelivery.event == row.event, CrmDelivery.id < (row.id or 0),
        CrmDelivery.status.in_(("pending", "sent", "accepted"))))))


async def prune(uow: UnitOfWork, before: datetime) -> int:
    """Finished CRM rows (sent, failed) older than `before` (the pruning job): nothing
    waits on them. An ad platform's rows are kept: each is how a later sale or requalifying
    of the lead is known to be a duplicate (one conversion per lead, goal and platform),
    and what /mydata and `leadbot report --conversions` show; they hold nothing personal
    and are one small row per conversion."""
    session = uow.session
    assert session is not None
    result = await session.execute(delete(CrmDelivery).where(
        CrmDelivery.status.in_(("sent", "failed")), CrmDelivery.target.not_in(PLATFORMS),
        CrmDelivery.created_at < before))
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


async def finish(uow: UnitOfWork, row_id: int, *, status_was: str | None = None,
                 attempts_was: int | None = None, **values: Any) -> bool:
    """Writes a try's outcome; with `status_was` and `attempts_was`, only if the row is still
    so (a batch's outcome, an upload's check: never written over what another process did
    with the row after this one's lease ran out). Whether the row was written."""
    session = uow.session
    assert session is not None
    query = update(CrmDelivery).where(CrmDelivery.id == row_id)
    if status_was is not None:
        query = query.where(CrmDelivery.status == status_was)
    if attempts_was is not None:
        query = query.where(CrmDelivery.attempts == attempts_was)
    result = await session.execute(query.values(**values)
                                   .execution_options(synchronize_session=False))
    return bool(result.rowcount)
