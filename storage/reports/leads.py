"""`leadbot export leads`: the leads of a period as rows, for a spreadsheet or a CRM import.

Contacts (name, phone, email) only when asked for, and each such export or showing leaves an
`export` event (when, who looked, how many rows, which period; never the contacts
themselves): `record` for a list of leads, `record_lead_view` for one lead's page. An erased
(anonymised) lead exports no personal data: no contacts, free-text answers as erasure left
them ("[erased]").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from storage.reports.period import NONE, FunnelQuery
from storage.schema.tables import Answer, Conversation, Event, Handoff, Lead, Prospect
from storage.work.uow import UnitOfWork

OPERATOR = 0  # the user id an operator's own events (an export) are recorded under
CONTACTS = ("name", "phone", "email")


@dataclass(frozen=True)
class LeadFilter:
    """The dashboard's narrowing of a period's leads (None: any)."""
    version: int | None = None
    temperature: str | None = None  # hot, warm, cold
    outcome: str | None = None  # handoff, nurture, close


def _where(period: FunnelQuery, narrow: LeadFilter) -> list[Any]:
    start, end = period.bounds()
    where = [Lead.created_at >= start, Lead.created_at < end]
    if period.flow:
        where.append(or_(Lead.flow_id == period.flow, Conversation.experiment == period.flow))
    if period.source is not None:
        where.append(Lead.source == period.source)
    if narrow.version is not None:
        where.append(Lead.flow_version == narrow.version)
    if narrow.temperature is not None:
        where.append(Lead.temperature == narrow.temperature)
    if narrow.outcome is not None:
        where.append(Lead.outcome == narrow.outcome)
    return where


async def leads(uow: UnitOfWork, period: FunnelQuery, *, with_contacts: bool,
                now: datetime, who: str = "cli") -> list[dict[str, Any]]:
    """The leads created in the period (`period.flow` and `.source` filter when set; the
    flow may be an A/B experiment's name: all its variants), oldest first; answers are the
    last one given at each step; `variant` is the A/B variant ("—": none). `who` asked
    (recorded with the contacts)."""
    rows = await _rows(uow, _where(period, LeadFilter()), with_contacts, None, 0)
    if with_contacts:
        record(uow, period, len(rows), now, who=who)
    return rows


async def page(uow: UnitOfWork, period: FunnelQuery, narrow: LeadFilter, *, size: int,
               number: int, with_contacts: bool, now: datetime,
               via: str = "dashboard", who: str | None = None
               ) -> tuple[int, list[dict[str, Any]]]:
    """(how many leads match, the rows of page `number` (1, 2, ...) of `size`), newest
    first: the dashboard's leads table. Contacts recorded like an export when shown, with
    `who` looked (the viewer's name: needed with contacts)."""
    if with_contacts and who is None:
        raise ValueError("contacts shown to nobody named: give `who`")
    session = uow.session
    assert session is not None
    where = _where(period, narrow)
    total = (await session.execute(
        select(func.count(Lead.id)).join(Conversation, Conversation.id == Lead.conversation_id)
        .where(*where))).scalar_one()
    rows = await _rows(uow, where, with_contacts, size, (number - 1) * size, newest=True)
    if with_contacts and rows:
        record(uow, period, len(rows), now, via=via, narrow=narrow, who=str(who))
    return total, rows


def record(uow: UnitOfWork, period: FunnelQuery, rows: int, now: datetime,
           via: str | None = None, narrow: LeadFilter | None = None, *, who: str,
           lead: int | None = None) -> None:
    """The `export` event of contacts given out: when, to whom (`who`: the dashboard
    viewer's name, or the operator's user on the command line), how many rows, which
    period, at which `lead` (a lead's page; never the contacts themselves)."""
    data: dict[str, Any] = {
        "what": "leads", "who": who, "rows": rows, "with_contacts": True,
        "since": period.since.isoformat(), "until": period.until.isoformat(),
        "flow": period.flow or None, "source": period.source}
    if via is not None:
        data["via"] = via
    if narrow is not None:
        data.update({k: v for k, v in vars(narrow).items() if v is not None})
    if lead is not None:
        data["lead"] = lead
    uow.stage(Event, user_id=OPERATOR, kind="export", data=data, created_at=now)


def record_lead_view(uow: UnitOfWork, lead_id: int, who: str, now: datetime,
                     via: str = "lead page") -> None:
    """One lead's contacts shown (the lead's page): the `export` event with who looked,
    staged in `uow` (commit it before the page is sent)."""
    uow.stage(Event, user_id=OPERATOR, kind="export", created_at=now, data={
        "what": "lead", "who": who, "lead_id": lead_id, "rows": 1, "with_contacts": True,
        "via": via})


async def _rows(uow: UnitOfWork, where: list[Any], with_contacts: bool, limit: int | None,
                offset: int, newest: bool = False) -> list[dict[str, Any]]:
    session = uow.session
    assert session is not None
    order = (Lead.created_at.desc(), Lead.id.desc()) if newest else (Lead.created_at, Lead.id)
    statement = (
        select(Lead, Conversation.started_at, Conversation.variant, Prospect.language,
               Handoff)
        .join(Conversation, Conversation.id == Lead.conversation_id)
        .join(Prospect, Prospect.user_id == Lead.user_id)
        .outerjoin(Handoff, Handoff.lead_id == Lead.id)
        .where(*where).order_by(*order))
    if limit is not None:
        statement = statement.limit(limit).offset(offset)
    found = (await session.execute(statement)).all()
    answers = await _answers(uow, [lead.conversation_id for lead, *_ in found])
    return [_row(lead, started, language, handoff, answers.get(lead.conversation_id, {}),
                 with_contacts, variant)
            for lead, started, variant, language, handoff in found]


async def _answers(uow: UnitOfWork, conversations: list[int]) -> dict[int, dict[str, str]]:
    """conversation -> {step: label of the last answer there}, in the order first answered."""
    session = uow.session
    assert session is not None
    answered: dict[int, dict[str, str]] = {}
    for chunk in range(0, len(conversations), 500):
        result = await session.execute(
            select(Answer.conversation_id, Answer.step, Answer.label)
            .where(Answer.conversation_id.in_(conversations[chunk:chunk + 500]))
            .order_by(Answer.conversation_id, Answer.id))
        for conversation, step, label in result:
            answered.setdefault(conversation, {})[step] = label
    return answered


def header(with_contacts: bool) -> list[str]:
    """The fields of a row (without `answers`), in order: a CSV's header with no rows."""
    blank = Lead(id=0, conversation_id=0, user_id=0, flow_id="", flow_version=0)
    row = _row(blank, datetime.min, None, None, {}, with_contacts)
    return [field for field in row if field != "answers"]


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _minutes(since: datetime | None, until: datetime | None) -> float | None:
    if since is None or until is None:
        return None
    return round((until - since).total_seconds() / 60, 1)


def _row(lead: Lead, started: datetime, language: str | None, handoff: Handoff | None,
         answers: dict[str, str], with_contacts: bool, variant: str | None = None
         ) -> dict[str, Any]:
    row: dict[str, Any] = {
        "lead_id": lead.id, "created_at": _time(lead.created_at),
        "started_at": _time(started), "flow": lead.flow_id, "version": lead.flow_version,
        "source": lead.source, "variant": variant or NONE, "language": language,
        "score": lead.score, "temperature": lead.temperature, "target": lead.target,
        "mql": lead.mql, "sql": lead.sql, "outcome": lead.outcome, "status": lead.status,
        "qualified_at": _time(lead.qualified_at),
        "handed_off_at": _time(handoff.created_at) if handoff else None,
        "claimed_at": _time(handoff.claimed_at) if handoff else None,
        "minutes_to_claim": _minutes(handoff.created_at, handoff.claimed_at)
        if handoff else None,
        "first_contact_at": _time(handoff.first_contact_at) if handoff else None,
        "minutes_to_first_contact": _minutes(handoff.created_at, handoff.first_contact_at)
        if handoff else None,
        "handoff_status": handoff.status if handoff else None,
        "handoff_status_at": _time(handoff.status_at) if handoff else None,
        "lost_reason": handoff.lost_reason if handoff else None,
        "erased": lead.erased_at is not None,
        "answers": answers,
    }
    if with_contacts:
        erased = lead.erased_at is not None
        row.update({field: None if erased else getattr(lead, field) for field in CONTACTS})
    return row
