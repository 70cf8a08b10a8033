"""The prospect's rights over what is stored: access (GDPR Art. 15 / 20: `export`),
erasure (Art. 17: `erase`, also the retention job's tool) and withdrawing marketing consent
(Art. 7(3), 38-FZ Art. 18: `withdraw`). All inside the caller's transaction.

Erasure anonymises rather than deletes: name, phone, email and free-text answers go from
every place they were copied to (the lead, the answers, the conversation's state, the
outbox, follow-ups, events); the lead stays without them so the funnel still counts it, and
an `erased` event is the receipt. The consent ledger is append-only: withdrawals are new
rows, and nothing personal was ever in it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, false, func, literal_column, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import SQLModel

from storage.deliveries import rows as crm
from storage.schema import sealing
from storage.schema.columns import Sealed, SealedJSON, StateJSON
from storage.schema.tables import (
    Answer,
    Consent,
    Conversation,
    Event,
    FollowUp,
    Handoff,
    Lead,
    OutboxMessage,
    Prospect,
)
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
ERASED = "[erased]"
# where erasure writes over personal data (the tables `erase` changes)
ERASURE_TABLES = ("leads", "answers", "conversations", "outbox", "follow_ups", "handoffs",
                  "events")
SEALED = re.compile(re.escape(sealing.PREFIX) + r"[A-Za-z0-9_=-]+")
PURPOSES = ("processing", "marketing")


@dataclass(frozen=True)
class Receipt:
    conversations: int
    leads: int
    answers: int
    messages: int  # outbox rows scrubbed (queued ones also dropped)
    follow_ups: int

    def as_dict(self) -> dict[str, int]:
        return {"conversations": self.conversations, "leads": self.leads,
                "answers": self.answers, "messages": self.messages,
                "follow_ups": self.follow_ups}


def _row(model: Any) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    data.pop("phone_hash", None)  # derived from the phone, says nothing more
    return data


async def export(uow: UnitOfWork, user_id: int, now: datetime) -> dict[str, Any] | None:
    """Everything stored about one Telegram user, as JSON-ready data (None: nothing)."""
    session = uow.session
    assert session is not None
    prospect = await session.get(Prospect, user_id)
    if prospect is None:
        return None

    async def rows(model: Any, *where: Any) -> list[dict[str, Any]]:
        result = await session.execute(select(model).where(*where).order_by(model.id))
        return [_row(row) for row in result.scalars()]

    conversations = await rows(Conversation, Conversation.user_id == user_id)
    ids = [c["id"] for c in conversations]
    leads = await rows(Lead, Lead.user_id == user_id)
    handoffs = await rows(Handoff, Handoff.user_id == user_id)
    own_cards = await _own_cards(session, [h["id"] for h in handoffs])
    return {
        "exported_at": now.isoformat(),
        "telegram_user_id": user_id,
        "prospect": _row(prospect),
        "conversations": conversations,
        "answers": await rows(Answer, Answer.conversation_id.in_(ids)),
        "leads": leads,
        "consents": await rows(Consent, Consent.user_id == user_id),
        "follow_ups": await rows(FollowUp, FollowUp.user_id == user_id),
        "events": await rows(Event, Event.user_id == user_id),
        "handoffs": handoffs,
        # every message to them or about them (the managers' cards, copies, relayed words);
        # a digest of several leads is left out: their card text above is theirs
        "messages": await rows(OutboxMessage, _about(user_id, ids, [lead["id"] for lead in leads],
                                                     own_cards)),
    }


async def granted(uow: UnitOfWork, user_id: int) -> dict[str, Consent]:
    """The consents in force: purpose -> the row that granted it (a later withdrawal
    ends it)."""
    current: dict[str, Consent] = {}
    for row in await uow.consents.for_user(user_id):
        if row.granted:
            current[row.purpose] = row
        else:
            current.pop(row.purpose, None)
    return current


async def withdraw(uow: UnitOfWork, user_id: int, purposes: Iterable[str], *, now: datetime,
                   text_sha256: str, language: str, update_id: int | None) -> list[str]:
    """Ledger rows withdrawing each purpose in force; its effects at once: marketing
    follow-ups and queued marketing messages cancelled, the consent gone from every
    conversation's state (so no flow carries it on). Returns the purposes withdrawn."""
    session = uow.session
    assert session is not None
    uow.outbox.changed = True  # queued marketing is dropped below
    in_force = await granted(uow, user_id)
    withdrawn = [p for p in purposes if p in in_force]
    for purpose in withdrawn:
        uow.stage(Consent, user_id=user_id, conversation_id=in_force[purpose].conversation_id,
                  purpose=purpose, granted=False,
                  policy_version=in_force[purpose].policy_version, text_sha256=text_sha256,
                  language=language, update_id=update_id, created_at=now)
    # /stop ends the marketing follow-ups and the abandoned-quiz reminder (not marketing,
    # but still a message they did not ask for now); withdrawing processing ends them all
    marketing_only = [or_(FollowUp.marketing.is_(True), FollowUp.kind == "reminder")
                      ] if "processing" not in purposes else []
    await session.execute(
        update(FollowUp).where(FollowUp.user_id == user_id,
                               FollowUp.status.in_(("pending", "waiting")),
                               *marketing_only).values(status="cancelled"))
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.chat_id == user_id,
                                    OutboxMessage.status == "pending",
                                    OutboxMessage.marketing.is_(True))
        .values(status="dropped", error="consent withdrawn"))
    for conversation in await _conversations(uow, user_id):
        consents = dict(conversation.state.get("consents") or {})
        if any(p in consents for p in purposes):
            for purpose in purposes:
                consents.pop(purpose, None)
            conversation.state = {**conversation.state, "consents": consents}
    return withdrawn


async def erase(uow: UnitOfWork, user_id: int, *, now: datetime, reason: str,
                conversation_ids: Iterable[int] | None = None) -> Receipt:
    """Anonymise one prospect (all their conversations, or the ones given: retention)."""
    session = uow.session
    assert session is not None
    uow.outbox.changed = True  # queued rows about them are scrubbed and dropped
    conversations = await _conversations(uow, user_id, conversation_ids)
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
    personal_answers = [a for a in answers if a.step in free_text.get(a.conversation_id, ())]
    for answer in personal_answers:
        if isinstance(answer.value, str) and answer.value:
            secrets.add(answer.value)
        answer.value, answer.label = None, ERASED
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

    messages = 0
    # Every message about these leads, whoever it went to (the prospect, the managers'
    # group, a manager's private chat): by conversation, by lead, by the card it edits.
    cards = {h.card_id for h in handoffs if h.card_id is not None}
    shared = await _shared_cards(session, cards, {h.id for h in handoffs})
    outbox = (await session.execute(select(OutboxMessage).where(_about(
        user_id if conversation_ids is None else None, ids, [lead.id for lead in leads],
        cards)))).scalars()
    for row in outbox:
        payload = _scrub(row.payload, secrets)
        if row.purpose == "relay" and "text" in payload:  # relayed words
            payload = {**payload, "text": ERASED}
        queued = row.status in ("pending", "waiting")  # waiting: for a manager's chat
        if payload != row.payload or queued:
            row.payload = payload
            messages += 1
        if queued and row.method != "answerCallbackQuery" and not (
                {row.id, row.edit_of} & shared):  # a digest still shows other leads
            row.status, row.error = "dropped", "personal data erased"
    follow_ups = 0
    for follow_up in (await session.execute(select(FollowUp).where(
            FollowUp.conversation_id.in_(ids)))).scalars():
        text, markup = _scrub(follow_up.text, secrets), _scrub(follow_up.markup, secrets)
        queued = follow_up.status in ("pending", "waiting")  # waiting: later in a sequence
        if text != follow_up.text or markup != follow_up.markup or queued:
            follow_up.text, follow_up.markup, follow_ups = text, markup, follow_ups + 1
        if queued and conversation_ids is None:
            follow_up.status = "cancelled"
    for handoff in handoffs:
        handoff.card_text = ERASED if handoff.card_text else None
    for event in (await session.execute(select(Event).where(Event.user_id == user_id))
                  ).scalars():
        data = _scrub(event.data, secrets)
        if data != event.data:
            event.data = data
    receipt = Receipt(len(conversations), len(leads), len(personal_answers), messages,
                      follow_ups)
    uow.stage(Event, user_id=user_id, kind="erased", data={"reason": reason,
                                                           **receipt.as_dict()},
              created_at=now)
    return receipt


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


def sealed_columns() -> list[tuple[Any, tuple[str, ...]]]:
    """Every table with values encrypted under LEADBOT_PII_KEY, and those columns: read from
    the column types, so a new sealed column is rotated and checked without a list here to
    keep up to date."""
    found = []
    for mapper in sorted(SQLModel._sa_registry.mappers, key=lambda m: m.local_table.name):
        names = tuple(c.name for c in mapper.local_table.columns
                      if isinstance(c.type, Sealed | SealedJSON | StateJSON))
        if names:
            found.append((mapper.class_, names))
    return found


async def sealed_samples(uow: UnitOfWork) -> list[str]:
    """One encrypted value as stored (read around the column types) from each table that
    holds any: what LEADBOT_PII_KEY must open."""
    session = uow.session
    assert session is not None
    samples = []
    for model, names in sealed_columns():
        columns = [cast(model.__table__.c[name], Text) for name in names]
        row = (await session.execute(
            select(*columns).select_from(model.__table__)
            .where(or_(*(c.like(f"%{sealing.PREFIX}%") for c in columns))).limit(1))).first()
        if row is not None:
            samples.append(next(SEALED.search(v).group(0) for v in row
                                if v and SEALED.search(v)))
    return samples


async def unsealed_count(uow: UnitOfWork) -> int:
    """Leads whose personal data is stored in plain text."""
    session = uow.session
    assert session is not None
    result = await session.execute(
        select(func.count()).select_from(Lead.__table__).where(or_(*(
            literal_column(c).isnot(None) & ~literal_column(c).like(f"{sealing.PREFIX}%")
            for c in ("name", "phone", "email")))))
    return int(result.scalar_one())


async def reseal(uow: UnitOfWork, batch: int = 500) -> int:
    """Every sealed column of every table (`sealed_columns`) written again with the newest
    key of LEADBOT_PII_KEY (plain values get encrypted): key rotation and encrypting a
    database that started without a key. Returns the rows rewritten."""
    session = uow.session
    assert session is not None
    done = 0
    for model, columns in sealed_columns():
        last = 0
        while True:
            rows = list((await session.execute(
                select(model).where(model.id > last).order_by(model.id).limit(batch))
            ).scalars())
            if not rows:
                break
            for row in rows:
                if model is Lead:
                    row.phone_hash = sealing.lookup_hash(row.phone)
                for column in columns:
                    flag_modified(row, column)
                done += 1
            last = rows[-1].id
            await session.flush()
    return done


def _about(user_id: int | None, conversation_ids: list[int], lead_ids: list[int],
           cards: Iterable[int]) -> Any:
    """Outbox rows to or about a prospect: their conversations', their private chat's (when
    `user_id` is given), and every row about their leads: by lead, or a card (or an edit of
    one) that shows them."""
    cards = list(cards)
    return or_(OutboxMessage.conversation_id.in_(conversation_ids),
               OutboxMessage.chat_id == user_id if user_id is not None else false(),
               OutboxMessage.lead_id.in_(lead_ids), OutboxMessage.id.in_(cards),
               OutboxMessage.edit_of.in_(cards))


async def _shared_cards(session: Any, cards: set[int], handoff_ids: set[int]) -> set[int]:
    """Of these cards, the digests that also show other prospects' leads."""
    if not cards:
        return set()
    result = await session.execute(select(Handoff.card_id).where(
        Handoff.card_id.in_(cards), Handoff.id.notin_(handoff_ids)))
    return {card_id for (card_id,) in result}


async def _own_cards(session: Any, handoff_ids: list[int]) -> set[int]:
    """The cards that show only these hand-offs (not a digest with other prospects)."""
    if not handoff_ids:
        return set()
    cards = {card_id for (card_id,) in await session.execute(
        select(Handoff.card_id).where(Handoff.id.in_(handoff_ids),
                                      Handoff.card_id.isnot(None)))}
    return cards - await _shared_cards(session, cards, set(handoff_ids))


async def _conversations(uow: UnitOfWork, user_id: int,
                         ids: Iterable[int] | None = None) -> list[Conversation]:
    session = uow.session
    assert session is not None
    query = select(Conversation).where(Conversation.user_id == user_id)
    if ids is not None:
        query = query.where(Conversation.id.in_(list(ids)))
    return list((await session.execute(query.order_by(Conversation.id))).scalars())


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


def _scrub(value: Any, secrets: set[str]) -> Any:
    """`value` (JSON) with every occurrence of each secret replaced by [erased]."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, ERASED)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
