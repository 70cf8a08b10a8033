"""Erasure (GDPR Art. 17: `erase`, also the retention job's tool, with `expired`), and the
database's own old copies purged after it (`purge_old_copies`). `erase` and `expired` work
inside the caller's transaction; the purge runs after its commit.

Erasure anonymises rather than deletes: name, phone, email and free-text answers go from
every place they were copied to (the lead, the answers, the conversation's state, the
outbox, follow-ups, events); what was typed for an option (answers.typed) is dropped and
the typed texts nothing matched (unmatched_texts) are deleted; the lead stays without them
so the funnel still counts it, and an `erased` event is the receipt. The messages already
sent about the person to someone else's chat (a manager's copy, relayed words, reminders,
escalations) are rewritten in their erased form and listed in the receipt (`shown`): the
hand-off edits each in Telegram, and any edit Telegram refuses is added to the receipt
(storage/privacy/shown.py). The consent ledger is append-only: withdrawals are new rows,
and nothing personal was ever in it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from dialogs.rules.conversions import PLATFORMS
from storage.deliveries import rows as crm
from storage.privacy import scope, shown
from storage.schema.tables import (
    Answer,
    Conversation,
    CrmDelivery,
    Event,
    FollowUp,
    Handoff,
    Lead,
    OutboxMessage,
    UnmatchedText,
)
from storage.work import tracking
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
ERASED = shown.ERASED
# where erasure writes over personal data (the tables `erase` changes)
ERASURE_TABLES = ("leads", "answers", "conversations", "outbox", "follow_ups", "handoffs",
                  "events", "clicks", "unmatched_texts")


@dataclass(frozen=True)
class Receipt:
    conversations: int
    leads: int
    answers: int
    messages: int  # outbox rows scrubbed (queued ones also dropped)
    follow_ups: int
    # pending recipients of broadcasts skipped (their user id stays, as on follow-ups and
    # events: how /mydata and a later erasure find them; nothing else of them is there)
    broadcasts: int = 0
    # sent messages Telegram shows in someone else's chat, now in erased form in the
    # outbox: the hand-off edits each (bot/handoff/erasing.py)
    shown: tuple[OutboxMessage, ...] = field(default=(), compare=False)
    # typed answers' words dropped (answers.typed) and unmatched typed texts deleted
    typed: int = 0
    unmatched: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"conversations": self.conversations, "leads": self.leads,
                "answers": self.answers, "messages": self.messages,
                "follow_ups": self.follow_ups, "broadcasts": self.broadcasts,
                "typed": self.typed, "unmatched": self.unmatched}


async def erase(uow: UnitOfWork, user_id: int, *, now: datetime, reason: str,
                conversation_ids: Iterable[int] | None = None) -> Receipt:
    """Anonymise one prospect (all their conversations, or the ones given: retention)."""
    session = uow.session
    assert session is not None
    uow.outbox.changed = True  # queued rows about them are scrubbed and dropped
    conversations = await scope.conversations(uow, user_id, conversation_ids)
    ids = [c.id for c in conversations]
    free_text = await _free_text_steps(uow, conversations)
    leads = list((await session.execute(select(Lead).where(Lead.conversation_id.in_(ids))))
                 .scalars())
    answers = list((await session.execute(select(Answer).where(
        Answer.conversation_id.in_(ids)))).scalars())

    secrets: set[str] = set()
    handoffs = list((await session.execute(select(Handoff).where(
        Handoff.conversation_id.in_(ids)))).scalars())
    for handoff in handoffs:  # the card as managers saw it: in every message sent about it
        if handoff.card_text:
            secrets.add(handoff.card_text)
    for lead in leads:
        secrets.update(v for v in (lead.name, lead.phone, lead.email) if v)
        lead.name = lead.phone = lead.email = lead.phone_hash = None
        lead.erased_at = lead.updated_at = now
        crm.note(uow, lead.id, "erased", now, reason=reason)  # the CRMs clear it too
    if leads:  # their conversions not sent yet never go (what went stays: /privacy says so)
        await session.execute(update(CrmDelivery).where(
            CrmDelivery.lead_id.in_([lead.id for lead in leads]),
            CrmDelivery.target.in_(PLATFORMS), CrmDelivery.status == "pending")
            .values(status="skipped", error="erased"))
    personal_answers = [a for a in answers if a.step in free_text.get(a.conversation_id, ())]
    for answer in personal_answers:
        if isinstance(answer.value, str) and answer.value:
            secrets.add(answer.value)
        answer.value, answer.label = None, ERASED
    typed = 0
    for answer in answers:  # what was typed for an option: the person's own words
        if answer.typed is not None:
            answer.typed, typed = None, typed + 1
    unmatched = (await session.execute(delete(UnmatchedText).where(
        UnmatchedText.conversation_id.in_(ids)))).rowcount or 0
    for conversation in conversations:
        state = dict(conversation.state or {})
        secrets.update(v for v in (state.get("contact") or {}).values() if v)
        answered = dict(state.get("answers") or {})
        for step in free_text.get(conversation.id, ()):
            if isinstance(answered.get(step), str):
                secrets.add(answered[step])
                answered[step] = ERASED
        if state:
            state.update(contact={}, answers=answered)
            if conversation_ids is None:  # /forget: consent goes too, the quiz ends here
                state.update(consents={}, finished=True, phase="")
        conversation.state = state
        conversation.erased_at = now
        if conversation_ids is None:
            conversation.finished = True
    secrets = {s for s in secrets if len(s) >= 2}

    messages, edits = 0, []
    own_chats = {user_id, *(c.chat_id for c in conversations)}  # the person's own chat
    # Every message about these leads, whoever it went to (the prospect, the managers'
    # group, a manager's private chat): by conversation, by lead, by the card it edits.
    cards = {h.card_id for h in handoffs if h.card_id is not None}
    shared = await scope.shared_cards(session, cards, {h.id for h in handoffs})
    outbox = (await session.execute(select(OutboxMessage).where(scope.about(
        user_id if conversation_ids is None else None, ids, [lead.id for lead in leads],
        cards)))).scalars()
    for row in outbox:
        payload = shown.erased_message(row.payload, secrets, user_id)
        if row.purpose == "relay" and "text" in payload:  # relayed words
            payload = {**payload, "text": ERASED}
        if payload != row.payload and shown.to_edit(row, own_chats):
            edits.append(row)
        queued = row.status in ("pending", "waiting")  # waiting: for a manager's chat
        if payload != row.payload or queued:
            row.payload = payload
            messages += 1
        # a card (or its edit) whose call has started may be in the group already: it is
        # kept, and the hand-off's edit of it (bot/handoff/cards.py erased) follows it
        if queued and row.method != "answerCallbackQuery" and row.called_at is None and not (
                {row.id, row.edit_of} & shared):  # a digest still shows other leads
            row.status, row.error = "dropped", "personal data erased"
    follow_ups = 0
    for follow_up in (await session.execute(select(FollowUp).where(
            FollowUp.conversation_id.in_(ids)))).scalars():
        text, markup = shown.scrub(follow_up.text, secrets), shown.scrub(follow_up.markup,
                                                                          secrets)
        queued = follow_up.status in ("pending", "waiting")  # waiting: later in a sequence
        if text != follow_up.text or markup != follow_up.markup or queued:
            follow_up.text, follow_up.markup, follow_ups = text, markup, follow_ups + 1
        if queued and conversation_ids is None:
            follow_up.status = "cancelled"
    for handoff in handoffs:
        handoff.card_text = ERASED if handoff.card_text else None
    broadcasts = await _broadcasts(uow, user_id, None if conversation_ids is None else ids)
    # the ad platforms' click ids of the clicks they came by (the clicks stay, counted)
    await tracking.forget_clicks(session, (c.click_id for c in conversations))
    for event in (await session.execute(select(Event).where(Event.user_id == user_id))
                  ).scalars():
        data = shown.scrub(event.data, secrets)
        if data != event.data:
            event.data = data
    latest = {(r.chat_id, shown.message_id(r)): r for r in sorted(edits, key=lambda r: r.id)}
    receipt = Receipt(len(conversations), len(leads), len(personal_answers), messages,
                      follow_ups, broadcasts, shown=tuple(latest.values()), typed=typed,
                      unmatched=unmatched)
    # `edited`: messages in other chats to be edited; `unedited` is added for each edit
    # Telegram refuses (a chat the bot was removed from, a deleted message)
    uow.stage(Event, user_id=user_id, kind="erased", data={
        "reason": reason, **receipt.as_dict(), "edited": len(latest)}, created_at=now)
    return receipt


async def _broadcasts(uow: UnitOfWork, user_id: int, erased: list[int] | None) -> int:
    """Their pending recipients of every broadcast skipped ("erased"): all of them on
    /forget; on retention (`erased` the conversations anonymised) when their latest
    conversation is one of those, the one a broadcast would have judged them by. Returns
    how many."""
    if erased is not None:
        latest = await uow.conversations.latest(user_id)
        if latest is None or latest.id not in erased:
            return 0
    return await uow.broadcasts.skip_person(user_id, "erased")


async def purge_old_copies(engine: AsyncEngine, *, vacuum: bool = False) -> None:
    """After an erasure has committed: the database's own old copies of what was erased.

    SQLite keeps the pages as they were before the erasure in its write-ahead log (the
    `-wal` file) until a checkpoint; `secure_delete` covers the database file, not those
    frames. A TRUNCATE checkpoint writes the log into the database and empties it.
    PostgreSQL keeps updated rows' old versions (dead tuples) in the table files until a
    VACUUM lets the space be reused; `vacuum` runs one on the tables erasure touches (the
    retention job does; the README says what else the operator must do)."""
    try:
        if engine.dialect.name == "sqlite":
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                cursor = await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _, _ = await cursor.fetchone()
                await cursor.close()
            if busy:  # a reader held on past the busy timeout: the next erasure checkpoints
                log.warning("after an erasure the SQLite log could not be emptied yet (busy)")
        elif vacuum:
            async with engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql(f"VACUUM {', '.join(ERASURE_TABLES)}")
    except (OSError, SQLAlchemyError, sqlite3.Error) as error:  # the erasure itself stands
        log.warning("after an erasure the database's old copies were not purged: %s",
                    type(error).__name__)


async def expired(uow: UnitOfWork, before: datetime, limit: int = 200
                  ) -> dict[int, list[int]]:
    """Conversations last touched before `before` and not yet anonymised: user -> ids."""
    session = uow.session
    assert session is not None
    result = await session.execute(
        select(Conversation.user_id, Conversation.id).where(
            Conversation.erased_at.is_(None), Conversation.updated_at < before)
        .order_by(Conversation.id).limit(limit))
    found: dict[int, list[int]] = {}
    for user_id, conversation_id in result:
        found.setdefault(user_id, []).append(conversation_id)
    return found


async def _free_text_steps(uow: UnitOfWork, conversations: list[Conversation]
                           ) -> dict[int | None, set[str]]:
    """Per conversation, the steps whose answers are the prospect's own words. A flow
    version never snapshotted (every one that runs is: bot/service/flows.py) counts every answer
    as such: erasing too much beats keeping personal words."""
    steps: dict[int | None, set[str]] = {}
    for conversation in conversations:
        version = await uow.flow_versions.get(conversation.flow_id, conversation.flow_version)
        if version is None:
            steps[conversation.id] = set((conversation.state or {}).get("answers") or ())
            continue
        steps[conversation.id] = {step_id for step_id, step in
                                  (version.definition.get("steps") or {}).items()
                                  if step.get("kind") == "free_text"}
    return steps
