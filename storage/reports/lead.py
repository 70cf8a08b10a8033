"""One lead's story, for the dashboard's lead page: the lead, its conversation, every answer
given, and the timeline of what happened to it, read from the tables the bot already keeps.

    story = await lead_story(session, 42)   # None: no such lead
    story.timeline  # [Moment(at, what, data), ...] oldest first

The timeline's `what`, and what `data` holds (nothing personal: no name, phone or email):

- started: the conversation began (source, campaign, variant)
- consent: a consent given, declined or withdrawn (purpose, granted, withdrawn), from
  the consent ledger
- contact: contact details given (fields: which)
- qualified: scored (temperature, outcome, score)
- handed: given to the managers (route); card: its card posted to the managers' chat
  (sent: False while it waits to be sent)
- claimed / assigned: a manager has it (manager: the name Telegram showed, seconds: from
  the hand-off, as the managers' speed panel counts)
- first_contact: the manager reached the prospect
- status: a status the manager set (status, reason)
- sale: a won sale's amount (amount in hundredths, currency, corrected: the amount before)
- sla_reminder / sla_escalated: nobody claimed it in time (minutes)
- follow_up: a follow-up message sent (kind, sequence, position, key)
- delivery: the lead sent to a CRM or an ad platform (target, event, status, attempts,
  error); one per delivery row, at the time it went (or was written, when it has not)
- crm_status: a status a CRM sent back (target, status, result)
- erased: the prospect's personal data erased (reason)

`record_view` leaves the `export` event of contacts shown on the page, with who looked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.reports.leads import record
from storage.reports.period import FunnelQuery
from storage.schema.tables import (
    Answer,
    Consent,
    Conversation,
    CrmDelivery,
    Event,
    FollowUp,
    Handoff,
    Lead,
    OutboxMessage,
    Prospect,
)
from storage.work.uow import UnitOfWork

# the events of a conversation the timeline shows (the rest are the funnel's steps)
EVENT_KINDS = ("contact", "qualified", "lead_status", "sale", "sla_reminder",
               "sla_escalated", "crm_status", "erased")


@dataclass(frozen=True)
class Moment:
    at: datetime
    what: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LeadStory:
    lead: Lead
    conversation: Conversation
    language: str | None  # the prospect's, as the bot last knew it
    answers: list[Answer]  # every answer given, in order (going back adds a row)
    steps: list[str]  # the steps entered, in the order first entered
    handoff: Handoff | None
    timeline: list[Moment]

    @property
    def erased(self) -> bool:
        return self.lead.erased_at is not None

    def last_answers(self) -> dict[str, Answer]:
        """step -> the last answer given there, in the order first answered."""
        found: dict[str, Answer] = {}
        for answer in self.answers:
            found[answer.step] = answer
        return found


async def lead_story(session: AsyncSession, lead_id: int) -> LeadStory | None:
    lead = await session.get(Lead, lead_id)
    if lead is None:
        return None
    conversation = await session.get(Conversation, lead.conversation_id)
    assert conversation is not None  # a foreign key
    prospect = await session.get(Prospect, lead.user_id)
    state = conversation.state or {}
    language = state.get("language") or (prospect.language if prospect else None)
    answers = list((await session.execute(
        select(Answer).where(Answer.conversation_id == conversation.id).order_by(Answer.id))
    ).scalars())
    steps = list(dict.fromkeys((await session.execute(
        select(Event.step).where(Event.user_id == lead.user_id,
                                 Event.conversation_id == conversation.id,
                                 Event.kind == "step").order_by(Event.id))).scalars()))
    handoff = (await session.execute(
        select(Handoff).where(Handoff.lead_id == lead.id))).scalar_one_or_none()
    timeline = [Moment(conversation.started_at, "started", {
        "source": conversation.source, "campaign": conversation.campaign,
        "variant": conversation.variant})]
    timeline += await _consents(session, conversation)
    timeline += await _events(session, conversation)
    if handoff is not None:
        timeline += await _handoff(session, handoff)
    timeline += await _follow_ups(session, conversation)
    timeline += await _deliveries(session, lead)
    order = {what: i for i, what in enumerate(
        ("started", "consent", "contact", "qualified", "handed", "card", "assigned"))}
    timeline.sort(key=lambda m: (m.at, order.get(m.what, len(order))))
    return LeadStory(lead, conversation, language, answers, [s for s in steps if s],
                     handoff, timeline)


async def _consents(session: AsyncSession, conversation: Conversation) -> list[Moment]:
    """Given in this conversation, or withdrawn (/stop, /forget) after it started."""
    rows = await session.execute(select(Consent).where(
        Consent.user_id == conversation.user_id,
        or_(Consent.conversation_id == conversation.id,
            and_(Consent.conversation_id.is_(None),
                 Consent.created_at >= conversation.started_at))).order_by(Consent.id))
    found, given = [], set()
    for c in rows.scalars():  # a "no" after a "yes" (or outside the quiz) is a withdrawal
        withdrawn = not c.granted and (c.conversation_id is None or c.purpose in given)
        found.append(Moment(c.created_at, "consent", {
            "purpose": c.purpose, "granted": c.granted, "withdrawn": withdrawn}))
        if c.granted:
            given.add(c.purpose)
    return found


async def _events(session: AsyncSession, conversation: Conversation) -> list[Moment]:
    rows = await session.execute(select(Event).where(
        Event.user_id == conversation.user_id, Event.kind.in_(EVENT_KINDS),
        or_(Event.conversation_id == conversation.id,
            and_(Event.conversation_id.is_(None), Event.kind == "erased",
                 Event.created_at >= conversation.started_at))).order_by(Event.id))
    kinds = {"lead_status": "status"}
    return [Moment(e.created_at, kinds.get(e.kind, e.kind), dict(e.data or {}))
            for e in rows.scalars()]


async def _handoff(session: AsyncSession, handoff: Handoff) -> list[Moment]:
    found = [Moment(handoff.created_at, "handed", {"route": handoff.route})]
    if handoff.card_id is not None:
        card = await session.get(OutboxMessage, handoff.card_id)
        if card is not None:
            sent = card.status == "sent" and card.sent_at is not None
            found.append(Moment(card.sent_at if sent else card.created_at, "card",
                                {"sent": sent}))
    if handoff.claimed_at is not None:
        found.append(Moment(handoff.claimed_at, "assigned" if handoff.assigned else "claimed", {
            "manager": handoff.claimed_by_name or str(handoff.claimed_by),
            "seconds": (handoff.claimed_at - handoff.created_at).total_seconds()}))
    if handoff.first_contact_at is not None:
        found.append(Moment(handoff.first_contact_at, "first_contact", {
            "seconds": (handoff.first_contact_at - handoff.created_at).total_seconds()}))
    return found


async def _follow_ups(session: AsyncSession, conversation: Conversation) -> list[Moment]:
    rows = await session.execute(select(FollowUp).where(
        FollowUp.user_id == conversation.user_id,
        FollowUp.conversation_id == conversation.id,
        FollowUp.sent_at.is_not(None)).order_by(FollowUp.sent_at))
    return [Moment(f.sent_at, "follow_up", {"kind": f.kind, "sequence": f.sequence,
                                             "position": f.position, "key": f.key})
            for f in rows.scalars() if f.sent_at is not None]


async def _deliveries(session: AsyncSession, lead: Lead) -> list[Moment]:
    rows = await session.execute(
        select(CrmDelivery).where(CrmDelivery.lead_id == lead.id).order_by(CrmDelivery.id))
    return [Moment(d.sent_at or d.created_at, "delivery", {
        "target": d.target, "event": d.event, "status": d.status, "attempts": d.attempts,
        "error": d.error}) for d in rows.scalars()]


def record_view(uow: UnitOfWork, lead: Lead, who: str, now: datetime, timezone: str) -> None:
    """The `export` event of one lead's contacts shown on its page, as the leads table
    records its own (leads.py `record`), with who looked and which lead."""
    day = lead.created_at.astimezone(ZoneInfo(timezone)).date()
    record(uow, FunnelQuery(flow=lead.flow_id, since=day, until=day, timezone=timezone), 1,
           now, via="lead page", who=who, lead=lead.id)
