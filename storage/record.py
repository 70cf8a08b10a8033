"""What the engine's actions leave in the database: answers, consents, the lead, events,
follow-ups. Messages to send are the transport's (bot/outbox/messages.py), not ours."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from dialogs.engine.actions import (
    Action,
    Close,
    EnterStep,
    FaqHit,
    GiveReward,
    HandOff,
    RecordAnswer,
    RecordConsent,
    RecordQualification,
    ScheduleFollowUp,
    SetContact,
    Unmatched,
)
from storage.deliveries import rows as crm
from storage.schema import sealing
from storage.schema.tables import (
    Answer,
    Consent,
    Conversation,
    Event,
    FollowUp,
    Lead,
    UnmatchedText,
)
from storage.work.uow import UnitOfWork


class Recorder:
    """Records one update's actions for one conversation, inside the caller's transaction."""

    def __init__(self, uow: UnitOfWork, conversation: Conversation, now: datetime,
                 update_id: int | None, *, channel: str | None = None,
                 message_id: int | None = None) -> None:
        """`channel` ("telegram") and `message_id` (the message whose button was tapped):
        where a consent was answered, for the ledger."""
        self.uow, self.conversation, self.now, self.update_id = (
            uow, conversation, now, update_id)
        self.channel, self.message_id = channel, message_id
        self._lead: Lead | None = None

    async def record(self, actions: list[Action]) -> None:
        for action in actions:
            handler = HANDLERS.get(type(action))
            if handler is not None:
                await handler(self, action)

    def event(self, kind: str, step: str | None = None, **data: object) -> None:
        c = self.conversation
        self.uow.stage(Event, user_id=c.user_id, conversation_id=c.id, kind=kind,
                                  flow_id=c.flow_id, flow_version=c.flow_version, step=step,
                       source=c.source, campaign=c.campaign, data=data, created_at=self.now)

    async def lead(self) -> Lead:
        if self._lead is None:
            c = self.conversation
            self._lead = await self.uow.leads.for_conversation(c.id) or Lead(
                conversation_id=c.id, user_id=c.user_id, flow_id=c.flow_id,
                flow_version=c.flow_version, source=c.source, campaign=c.campaign,
                created_at=self.now)
            self.uow.leads.add(self._lead)
        self._lead.updated_at = self.now
        return self._lead

    async def enter_step(self, action: EnterStep) -> None:
        self.event("step", action.step, step_kind=action.kind)

    async def answer(self, action: RecordAnswer) -> None:
        value = list(action.value) if isinstance(action.value, tuple) else action.value
        self.uow.stage(Answer, conversation_id=self.conversation.id, step=action.step,
                       value=value, label=action.label, points=action.points,
                       typed=action.typed, created_at=self.now)
        self.event("answer", action.step, points=action.points)

    async def faq(self, action: FaqHit) -> None:
        """An FAQ answered: an event, so the funnel and the report count it per entry."""
        self.event("faq", action.step, entry=action.entry)

    async def unmatched(self, action: Unmatched) -> None:
        """Typed text understood as nothing, already masked, for the marketer's report."""
        c = self.conversation
        self.uow.stage(UnmatchedText, conversation_id=c.id, user_id=c.user_id,
                       flow_id=c.flow_id, flow_version=c.flow_version, step=action.step,
                       language=action.language, text=action.text, created_at=self.now)

    async def consent(self, action: RecordConsent) -> None:
        self.uow.stage(
            Consent, user_id=self.conversation.user_id, conversation_id=self.conversation.id,
            purpose=action.purpose, granted=action.granted,
            policy_version=action.policy_version, text_sha256=action.text_sha256,
            language=action.language, update_id=self.update_id, created_at=self.now,
            operator=action.operator, channel=self.channel, message_id=self.message_id)
        self.event("consent", action.step, purpose=action.purpose, granted=action.granted)

    async def contact(self, action: SetContact) -> None:
        lead = await self.lead()
        for field in ("name", "phone", "email"):
            value = getattr(action, field)
            if value is not None:
                setattr(lead, field, value)
        if action.phone is not None:
            lead.phone_hash = sealing.lookup_hash(action.phone)
        self.event("contact", fields=[f for f in ("name", "phone", "email")
                                      if getattr(action, f) is not None])
        if crm.targets() and (action.phone or action.email):  # the ad platforms' `lead`
            if lead.id is None:
                await self.uow.session.flush()
            crm.note(self.uow, lead.id, "contact", self.now)

    async def qualification(self, action: RecordQualification) -> None:
        lead = await self.lead()
        lead.score, lead.temperature, lead.mql, lead.sql = (
            action.score, action.temperature, action.mql, action.sql)
        lead.target, lead.outcome, lead.discount = action.target, action.outcome, action.discount
        lead.breakdown = [asdict(item) for item in action.breakdown]
        lead.tags = list(action.tags)
        lead.qualified_at = self.now
        lead.status = {"handoff": "handoff", "nurture": "nurture"}.get(action.outcome, "closed")
        self.event("qualified", temperature=action.temperature, outcome=action.outcome,
                   score=action.score)
        if crm.targets():  # the CRM gets the lead after the commit (bot/deliveries/)
            if lead.id is None:
                await self.uow.session.flush()
            crm.note(self.uow, lead.id, "qualified", self.now, temperature=action.temperature,
                     mql=action.mql, sql=action.sql)

    async def handoff(self, action: HandOff) -> None:
        self.event("handoff", temperature=action.temperature, score=action.score)

    async def follow_up(self, action: ScheduleFollowUp) -> None:
        """The first message of a sequence (and the reminder) is due after its delay; each
        later one waits until the one before it went out."""
        c = self.conversation
        markup = {"inline_keyboard": [
            [{"text": b.text, **({"url": b.url} if b.url else {"callback_data": b.data})}
             for b in row] for row in action.buttons]} if action.buttons else None
        due_at = self.now + timedelta(seconds=action.delay_seconds)
        if action.kind == "reminder" and await self.uow.follow_ups.move_reminder(
                c.id, action.key, due_at, action.text, markup):
            return  # moved on every turn: the common case, without building a row
        await self.uow.follow_ups.schedule(FollowUp(
            conversation_id=c.id, user_id=c.user_id, chat_id=c.chat_id, key=action.key,
            text=action.text, marketing=action.marketing, kind=action.kind,
            sequence=action.sequence, position=action.position,
            delay_seconds=action.delay_seconds, markup=markup, zone=action.zone,
            quiet=action.quiet, stop_on_message=action.stop_on_message,
            status="pending" if action.position == 0 else "waiting",
            due_at=due_at, created_at=self.now),
            moved_already_tried=action.kind == "reminder")

    async def reward(self, action: GiveReward) -> None:
        if action.code:
            (await self.lead()).reward_code = action.code
        self.event("reward", action.step, code=bool(action.code), file=bool(action.file))

    async def close(self, action: Close) -> None:
        self.event("close", reason=action.reason)


HANDLERS = {
    EnterStep: Recorder.enter_step, RecordAnswer: Recorder.answer,
    RecordConsent: Recorder.consent, SetContact: Recorder.contact,
    RecordQualification: Recorder.qualification, HandOff: Recorder.handoff,
    ScheduleFollowUp: Recorder.follow_up, GiveReward: Recorder.reward, Close: Recorder.close,
    FaqHit: Recorder.faq, Unmatched: Recorder.unmatched,
}
