"""A hand-built history for the funnel and the export, on whichever database is given.

Flow `quiz` v1: intro (message), q1, q2 (single choice), consent, contact, done (end).
Moscow time (UTC+3, no daylight saving); the report asks for 2026-11-02 .. 2026-11-03.

- u1 (ig, ru, 11-02): answers q1, q2, goes BACK and answers q1 and q2 again, consents,
  gives a phone; hot, target, MQL, SQL, hand-off claimed after 60 s, first contact after
  600 s, won. Restarts the quiz on 11-03 (ig) and stops at the intro.
- u2 (ig, uk, 11-02): answers q1, reaches q2 and leaves.
- u3 (no source, en, 11-02): answers q1, q2, declines consent; cold, non-target, closed.
- u4 (vk, ru): starts 2026-11-02 22:30 UTC = 11-03 01:30 Moscow; like u1 without going
  back, hand-off claimed after 180 s, never contacted, lost.
- u5 (vk): started 2026-11-01 (before the period). u6: another flow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dialogs.rules.funnel import marked
from storage.reports.period import FunnelQuery
from storage.schema.tables import (
    Answer,
    Conversation,
    Event,
    FlowVersion,
    Handoff,
    Lead,
    Prospect,
)
from storage.work.uow import UnitOfWork

STEPS = {"intro": "message", "q1": "single_choice", "q2": "single_choice",
         "consent": "consent", "contact": "contact", "done": "end"}
DEFINITION = {"id": "quiz", "version": 1, "start": "intro",
              "steps": {step: {"kind": kind} for step, kind in STEPS.items()}}
PERIOD = FunnelQuery(flow="quiz", since=date(2026, 11, 2), until=date(2026, 11, 3),
                     timezone="Europe/Moscow")
DAY1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PHONE = "+79991234567"


class History:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.session = uow.session

    async def person(self, user: int, language: str) -> None:
        self.session.add(Prospect(user_id=user, chat_id=user, language=language))
        await self.session.flush()

    async def conversation(self, user: int, at: datetime, source: str | None,
                           path: list[str], flow: str = "quiz") -> Conversation:
        """`path`: "step" enters a step, "=step" answers it, "+consent", "+contact"."""
        c = Conversation(user_id=user, chat_id=user, flow_id=flow, flow_version=1,
                         step=path[-1].lstrip("=+"), source=source, started_at=at,
                         updated_at=at)
        self.session.add(c)
        await self.session.flush()
        for i, item in enumerate(path):
            when = at + timedelta(seconds=10 * i)
            kind, step, data = "step", item, {}
            if item.startswith("="):
                kind, step = "answer", item[1:]
                label = "declined" if step == "consent" and user == 3 else f"{step} answer"
                self.session.add(Answer(conversation_id=c.id, step=step, value=label,
                                        label=label, created_at=when))
            elif item == "+consent":
                kind, step, data = "consent", "consent", {"purpose": "processing",
                                                          "granted": True}
            elif item == "+contact":
                kind, step, data = "contact", None, {"fields": ["phone"]}
            self.session.add(Event(user_id=user, conversation_id=c.id, kind=kind,
                                   flow_id=flow, flow_version=1, step=step, source=source,
                                   data=data, created_at=when))
            # what the bot keeps with the state, from the same actions as the events
            c.progress = marked(c.progress, kind, step, data.get("purpose"))
        await self.session.flush()
        return c

    async def lead(self, c: Conversation, temperature: str, *, target: bool, mql: bool,
                   sql: bool, outcome: str, phone: str | None = None) -> Lead:
        lead = Lead(conversation_id=c.id, user_id=c.user_id, flow_id=c.flow_id,
                    flow_version=1, source=c.source,
                    name=("Иван" if phone == PHONE else "Олена") if phone else None,
                    phone=phone, score=50, temperature=temperature, target=target, mql=mql,
                    sql=sql, outcome=outcome, status=outcome,
                    created_at=c.started_at + timedelta(minutes=2),
                    qualified_at=c.started_at + timedelta(minutes=2))
        self.session.add(lead)
        await self.session.flush()
        return lead

    async def handoff(self, lead: Lead, claim_after: int, contact_after: int | None,
                      status: str) -> None:
        at = lead.created_at
        self.session.add(Handoff(
            lead_id=lead.id, conversation_id=lead.conversation_id, user_id=lead.user_id,
            chat_id=-100, temperature=lead.temperature or "hot", language="ru",
            submitted_at=at, created_at=at, claimed_by=77,
            claimed_at=at + timedelta(seconds=claim_after),
            first_contact_at=None if contact_after is None
            else at + timedelta(seconds=contact_after), status=status, status_at=at))


FULL = ["intro", "q1", "=q1", "q2", "=q2", "consent", "+consent", "=consent", "contact",
        "+contact", "done"]


async def build(uow: UnitOfWork) -> None:
    h = History(uow)
    uow.session.add(FlowVersion(flow_id="quiz", version=1, digest="x", definition=DEFINITION,
                                base_dir="."))
    for user, language in ((1, "ru"), (2, "uk"), (3, "en"), (4, "ru"), (5, "ru"), (6, "ru")):
        await h.person(user, language)
    back = ["intro", "q1", "=q1", "q2", "=q2", "q1", "=q1", "q2", "=q2", "consent",
            "+consent", "=consent", "contact", "+contact", "done"]
    c1 = await h.conversation(1, DAY1, "ig", back)
    await h.handoff(await h.lead(c1, "hot", target=True, mql=True, sql=True,
                                 outcome="handoff", phone=PHONE), 60, 600, "won")
    await h.conversation(1, DAY1 + timedelta(days=1), "ig", ["intro"])
    await h.conversation(2, DAY1 + timedelta(minutes=5), "ig", ["intro", "q1", "=q1", "q2"])
    c3 = await h.conversation(3, DAY1 + timedelta(hours=1), None,
                              ["intro", "q1", "=q1", "q2", "=q2", "consent", "=consent",
                               "done"])
    await h.lead(c3, "cold", target=False, mql=False, sql=False, outcome="close")
    c4 = await h.conversation(4, datetime(2026, 11, 2, 22, 30, tzinfo=UTC), "vk", FULL)
    await h.handoff(await h.lead(c4, "hot", target=True, mql=True, sql=False,
                                 outcome="handoff", phone="0501234567"), 180, None, "lost")
    await h.conversation(5, datetime(2026, 11, 1, 12, 0, tzinfo=UTC), "vk", FULL)
    await h.conversation(6, DAY1, "ig", ["intro"], flow="other")
    await uow.session.flush()
