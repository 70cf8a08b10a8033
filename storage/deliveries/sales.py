"""Sales back from the CRM, the storage side (`crm_inbound`): a CRM's notification kept
until it is read back (`notify` ... `read`), and what a CRM said applied to the lead
(`apply`): its status, the sale (won_at, amount, currency), the hand-off's status, delivery
rows for the OTHER CRM targets (never the one that told us), a `crm_status` event. The
decision is dialogs.rules.sales.follow's; nothing personal is stored.

A notification (Bitrix24, amoCRM) is one pending row per CRM record (`lead:123`): a second
one before it is read back only moves its `received_at`, and the read-back finishes the row
only if nothing came meanwhile (else it reads again). What was read back is kept under a
key of the state (`lead:123:<hash>`), so a repeat of a state is one row.

`prune` (the clean-up job, bot/jobs/pruning.py) deletes what only grows: rows older than
KEEP_DAYS that say nothing about a lead (`unknown_lead`, `same`) and the generic hook's
delivery ids. Those ids guard against a replay only while the signed timestamp is accepted
(forms.MAX_AGE, 5 minutes): kept days longer than that, a replayed event is still refused
(by its timestamp after that, by its id before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.rules.handoff import CONTACTED
from dialogs.rules.sales import Said, echoed, estimate_of, follow
from storage.deliveries import rows as crm
from storage.schema.money import CrmInbound
from storage.schema.tables import Conversation, Event, Handoff, Lead
from storage.work.uow import UnitOfWork

TABLE = CrmInbound.__table__
ECHO = {"bitrix24": "bitrix24", "amocrm": "amocrm", "events": "webhook"}  # never told back

WHOLE_UNITS = {"amocrm": 100}  # hundredths a CRM rounds a price to: amoCRM keeps whole units
KEEP_DAYS = 3  # of rows that say nothing (unknown_lead, same) and of delivery ids


@dataclass(frozen=True)
class Outcome:
    result: str  # applied, same, kept, unknown_lead, repeat (a delivery id seen before)
    lead_id: int | None = None
    why: str = ""  # of kept: unknown_stage, cannot_follow, currency
    alert_chat: int | None = None  # kept for the first time (a final stage): tell this chat


def _session(uow: UnitOfWork) -> AsyncSession:
    assert uow.session is not None
    return uow.session


def _dialect(uow: UnitOfWork) -> Any:
    return postgresql if _session(uow).get_bind().dialect.name == "postgresql" else sqlite


async def notify(uow: UnitOfWork, target: str, key: str, now: datetime) -> None:
    """A CRM's notification about its record `key`, to be read back: one pending row per
    record (a second one moves its time on, so a read-back in hand reads again)."""
    statement = _dialect(uow).insert(TABLE).values(
        target=target, key=key, result="pending", received_at=now, attempts=0, due_at=now)
    await _session(uow).execute(statement.on_conflict_do_update(
        index_elements=[TABLE.c.target, TABLE.c.key],
        set_={"received_at": now, "due_at": now, "attempts": 0, "result": "pending"},
        where=TABLE.c.result.in_(("pending", "failed"))))


async def due(uow: UnitOfWork, now: datetime, limit: int = 50) -> list[CrmInbound]:
    result = await _session(uow).execute(
        select(CrmInbound).where(CrmInbound.result == "pending", CrmInbound.due_at <= now)
        .order_by(CrmInbound.due_at).limit(limit))
    return list(result.scalars())


async def take(uow: UnitOfWork, row: CrmInbound, until: datetime) -> bool:
    """Leases a due row (of several processes one gets it): not due again before `until`
    (a crash mid-read: read again then). The caller commits."""
    result = await _session(uow).execute(
        update(CrmInbound).where(CrmInbound.id == row.id, CrmInbound.result == "pending",
                                 CrmInbound.due_at == row.due_at)
        .values(due_at=until, attempts=CrmInbound.attempts + 1))
    return bool(result.rowcount)


async def read(uow: UnitOfWork, row: CrmInbound) -> bool:
    """The notification was read back and applied: its row goes, unless another came
    meanwhile (its time moved on): then it stays due, and is read again."""
    result = await _session(uow).execute(
        delete(CrmInbound).where(CrmInbound.id == row.id,
                                 CrmInbound.received_at == row.received_at))
    return bool(result.rowcount)


async def later(uow: UnitOfWork, row_id: int, when: datetime,
                failed: bool = False) -> None:
    """A read-back that failed: again at `when` (or never: `failed`, the CRM refused)."""
    values: dict[str, object] = {"due_at": when}
    if failed:
        values = {"result": "failed", "due_at": None}
    await _session(uow).execute(update(CrmInbound).where(CrmInbound.id == row_id)
                                .values(**values))


async def seen(uow: UnitOfWork, target: str, key: str) -> CrmInbound | None:
    return await _session(uow).scalar(select(CrmInbound).where(
        CrmInbound.target == target, CrmInbound.key == key))


async def apply(uow: UnitOfWork, target: str, key: str, lead_id: int | None, said: Said,
                now: datetime, *, currency: str, managers_chat_id: int | None) -> Outcome:
    """What a CRM said about leadbot's lead `lead_id`, applied once per (target, key): a
    key seen before is a `repeat` for the signed hook (its delivery id); for Bitrix24 and
    amoCRM (a key of the state read back) the rule decides again, so news that comes back
    to an earlier state (won, lost, won) is not taken for a repeat."""
    known = await seen(uow, target, key)
    if known is not None and target == "events":
        return Outcome("repeat", known.lead_id)
    lead = await _session(uow).get(Lead, lead_id) if lead_id is not None else None
    if lead is None:
        _record(uow, known, target, key, None, said, "unknown_lead", now)
        return Outcome("unknown_lead")
    unit = WHOLE_UNITS.get(target, 1)
    if target in WRITES_PRICE:  # leadbot's own price read back is no sale
        said = echoed(said, await _estimate(uow, lead), unit)
    decision, why = follow(lead.status, said, amount_now=lead.amount, currency=currency,
                           unit=unit)
    handoff = await uow.handoffs.of_lead(lead.id)
    outcome = Outcome({"apply": "applied", "same": "same", "kept": "kept",
                       "quiet": "kept"}[decision], lead.id, why)
    news = known is None
    if decision == "apply":
        _move(uow, lead, handoff, said, now, target, currency)
        news = True
    elif decision in ("kept", "quiet") and lead.crm_status != said.word[:64]:
        lead.crm_status, lead.updated_at = said.word[:64], now
        chat = handoff.chat_id if handoff is not None else managers_chat_id
        outcome = Outcome("kept", lead.id, why, chat if decision == "kept" else None)
        news = True
    if news:  # a repeat of what is known (kept, the same) is nothing new
        uow.stage(Event, user_id=lead.user_id, conversation_id=lead.conversation_id,
                  kind="crm_status", created_at=now,
                  data={"target": target, "lead": lead.id, "status": said.status,
                        "amount": said.amount, "result": outcome.result, "why": why or None})
    _record(uow, known, target, key, lead.id, said, outcome.result, now)
    return outcome


async def _estimate(uow: UnitOfWork, lead: Lead) -> int | None:
    """The calculator's price leadbot wrote into the CRM's record, in hundredths."""
    conversation = await _session(uow).get(Conversation, lead.conversation_id)
    results = ((conversation.state or {}).get("results") or {}) if conversation else {}
    return estimate_of(results.get("price")) if isinstance(results, dict) else None


WRITES_PRICE = ("bitrix24", "amocrm")  # the CRMs whose one amount field leadbot fills


def _move(uow: UnitOfWork, lead: Lead, handoff: Handoff | None, said: Said, now: datetime,
          target: str, currency: str) -> None:
    """The lead (and its hand-off) take the CRM's status; the sale is kept on won (in
    `currency`, LEADBOT_CURRENCY, when the CRM names none) and undone on lost; the other
    CRM targets hear of it."""
    status = said.status
    assert status is not None
    if status == "won":
        lead.won_at = lead.won_at if lead.status == "won" and lead.won_at else now
        if said.amount is not None:
            lead.amount, lead.currency = said.amount, said.currency or currency
    elif status == "lost":
        lead.won_at = lead.amount = lead.currency = None
    changed = lead.status != status
    lead.status, lead.crm_status, lead.updated_at = status, None, now
    reason = (said.reason or "other") if status == "lost" else None
    if handoff is not None and changed:
        handoff.status, handoff.status_at, handoff.lost_reason = status, now, reason
        if status in CONTACTED and handoff.first_contact_at is None:
            handoff.first_contact_at = now
    crm.note(uow, lead.id, "status", now, but=ECHO.get(target), status=status,
             reason=reason, crm=target)


def _record(uow: UnitOfWork, known: CrmInbound | None, target: str, key: str,
            lead_id: int | None, said: Said, result: str, now: datetime) -> None:
    if known is not None:
        if result != "same":
            known.lead_id, known.status, known.amount = lead_id, said.status, said.amount
            known.result, known.received_at = result, now
        return
    _session(uow).add(CrmInbound(target=target, key=key, lead_id=lead_id,
                                 status=said.status, amount=said.amount, result=result,
                                 received_at=now))


async def prune(uow: UnitOfWork, before: datetime) -> int:
    """Rows received before `before` that only grow: news about no lead of leadbot's
    (`unknown_lead`), repeats (`same`), and the generic hook's delivery ids (`events`),
    whose replay the timestamp refuses long before KEEP_DAYS. Returns how many went."""
    result = await _session(uow).execute(delete(CrmInbound).where(
        CrmInbound.received_at < before,
        (CrmInbound.result.in_(("unknown_lead", "same"))) | (CrmInbound.target == "events"),
        CrmInbound.result != "pending"))
    return int(result.rowcount or 0)
