"""Outbox rows: the messages to send, each written in the transaction that decided it (the
sender takes them after the commit: bot/outbox/), and the events about delivering them,
pruned with them.

A row's status: `pending` (to send), `sending` (a broadcast's row in the bulk lane, marked
before its call and never sent again: docs/broadcasts.md), `sent`, `failed`, `dropped`,
`waiting` (a manager's private chat not opened yet)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from storage.db import trip
from storage.schema.tables import Conversation, Event, Handoff, Lead, OutboxMessage
from storage.work.repository import Repository

DELIVERY_EVENTS = ("send_failed", "send_dropped")  # about an outbox row, not the funnel


def _scan(owned: bool) -> tuple[Select, Select]:
    """The sender's scan (Outbox.heads, Outbox.next_due), built once: it runs every second
    and after every batch of marks. `owned`: of one sender's rows (several processes)."""
    pending = OutboxMessage.status == "pending"
    mine = (OutboxMessage.owner == bindparam("_owner"),) if owned else ()
    oldest = (select(func.min(OutboxMessage.id)).where(pending)
              .group_by(OutboxMessage.chat_id, OutboxMessage.lane))
    heads = (select(OutboxMessage)
             .where(OutboxMessage.id.in_(oldest), OutboxMessage.not_before <= bindparam("_now"),
                    *mine)
             .order_by((OutboxMessage.lane == "bulk").asc(), OutboxMessage.id)
             .limit(bindparam("_limit", type_=Integer)))
    return heads, select(func.min(OutboxMessage.not_before)).where(pending, *mine)


SCAN = {owned: _scan(owned) for owned in (False, True)}


class Events(Repository):
    """The funnel's touches; written with add(), or staged by the unit of work."""

    async def prune_delivery(self, before: datetime) -> int:
        """Events about delivering a message, older than `before`: they go with the outbox
        rows they are about. Every event of the funnel (steps, answers, consents, outcomes,
        hand-offs, claims, statuses, relays, erasures) is kept."""
        result = await self.session.execute(delete(Event).where(
            Event.kind.in_(DELIVERY_EVENTS), Event.created_at < before))
        return result.rowcount or 0


class Outbox(Repository):
    # rows added or changed other than by staging (add_now, a status changed in place): the
    # sender's memory of queued rows is then stale, and it reads the outbox again
    changed = False

    async def add_now(self, message: OutboxMessage) -> OutboxMessage:
        self.changed = True
        self.session.add(message)
        await self.session.flush()
        return message

    async def sent_for_step(self, conversation_id: int, step: str,
                            before: int) -> OutboxMessage | None:
        """The latest message that asked `step` and reached Telegram: what an edit of that
        question changes."""
        result = await self.session.execute(
            select(OutboxMessage).where(
                OutboxMessage.conversation_id == conversation_id, OutboxMessage.step == step,
                OutboxMessage.id < before, OutboxMessage.status == "sent",
                OutboxMessage.method.in_(("sendMessage", "sendDocument")))
            .order_by(OutboxMessage.id.desc()).limit(1))
        return result.scalar_one_or_none()

    async def heads(self, now: datetime, limit: int,
                    owner: int | None = None) -> list[OutboxMessage]:
        """The oldest pending message of each chat's lane (per-chat order), if it is due;
        with `owner` (several processes), of the chats whose oldest is that sender's. The
        bulk lane's last: a broadcast's thousand rows never crowd a card or a follow-up out
        of a batch."""
        result = await self.session.execute(SCAN[owner is not None][0], {
            "_now": now, "_limit": limit, "_owner": owner})
        return list(result.scalars())

    async def call(self, message_id: int, now: datetime,
                   owner: int | None = None) -> tuple[dict, int | None] | None:
        """A card or a card's edit about to be sent, marked called (committed before its
        call): never rewritten in place from then on (bot/handoff/cards.py). Its payload
        and lead as stored, read in the same statement: a rewrite that committed before it
        is what goes. None: not pending any more or, with `owner`, not that sender's."""
        query = update(OutboxMessage).where(OutboxMessage.id == message_id,
                                            OutboxMessage.status == "pending")
        if owner is not None:
            query = query.where(OutboxMessage.owner == owner)
        result = await self.session.execute(
            query.values(called_at=func.coalesce(OutboxMessage.called_at, now))
            .returning(OutboxMessage.payload, OutboxMessage.lead_id))
        stored = result.one_or_none()
        return None if stored is None else (stored[0], stored[1])

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def locked(self, message_id: int) -> OutboxMessage | None:
        """A row read under its lock (PostgreSQL; SQLite's writer holds the database):
        rewritten by one transaction at a time, each seeing the one before."""
        return (await self.session.execute(
            select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
            .execution_options(populate_existing=True))).scalar_one_or_none()

    async def pending_count(self) -> int:
        result = await self.session.execute(
            select(func.count()).where(OutboxMessage.status == "pending"))
        return int(result.scalar_one())

    async def next_due(self, owner: int | None = None) -> datetime | None:
        result = await self.session.execute(SCAN[owner is not None][1], {"_owner": owner})
        return result.scalar_one_or_none()

    async def pending_chats(self, chat_ids: list[int]) -> set[int]:
        """Which of these chats still have a message pending (due or not)."""
        if not chat_ids:
            return set()
        result = await self.session.execute(
            select(OutboxMessage.chat_id).where(OutboxMessage.status == "pending",
                                                OutboxMessage.chat_id.in_(chat_ids))
            .group_by(OutboxMessage.chat_id))
        return set(result.scalars())

    async def waiting_count(self, chat_id: int) -> int:
        result = await self.session.execute(select(func.count()).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.status == "waiting"))
        return int(result.scalar_one())

    async def release_waiting(self, chat_id: int) -> int:
        """Messages that waited for this chat to open (a manager pressed Start): sent now."""
        self.changed = True
        result = await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.chat_id == chat_id,
                                        OutboxMessage.status == "waiting")
            .values(status="pending", error=None))
        return result.rowcount or 0

    async def prune(self, before: datetime, limit: int) -> int:
        """Deletes up to `limit` rows that were sent, failed or dropped before `before`,
        except those still needed: lead cards (claims and erasure edit them) and a
        manager's lead messages (a reply to one reaches the prospect), any row an edit
        points at, the question an unfinished conversation waits on (a tap on it edits
        it), and every message about a person that was shown in someone else's chat (a
        relay, a reminder, an escalation, a status) until that person is erased: erasure
        edits each in Telegram, and finds it here. Returns how many."""
        row, other = aliased(OutboxMessage), aliased(OutboxMessage)
        cards = select(Handoff.card_id).where(Handoff.card_id.is_not(None))
        edited = select(other.edit_of).where(other.edit_of.is_not(None))
        waited_on = exists().where(Conversation.id == row.conversation_id,
                                   Conversation.step == row.step,
                                   Conversation.finished.is_(False))
        shown_to_others = and_(row.status == "sent", or_(
            exists().where(Conversation.id == row.conversation_id,
                           Conversation.erased_at.is_(None),
                           row.chat_id != Conversation.chat_id,
                           row.chat_id != Conversation.user_id),
            exists().where(Lead.id == row.lead_id, Lead.erased_at.is_(None),
                           row.chat_id != Lead.user_id)))
        doomed = select(row.id).where(
            row.status.in_(("sent", "failed", "dropped")), row.created_at < before,
            row.purpose.is_(None), row.id.not_in(cards), row.id.not_in(edited),
            ~waited_on, ~shown_to_others).limit(limit)
        result = await self.session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(doomed)))
        return result.rowcount or 0

    async def drop_chat(self, chat_id: int, reason: str) -> int:
        """A prospect who blocked the bot: nothing queued for them is ever tried again."""
        self.changed = True
        result = await self.session.execute(
            update(OutboxMessage).where(OutboxMessage.chat_id == chat_id,
                                        OutboxMessage.status == "pending")
            .values(status="dropped", error=reason))
        return result.rowcount or 0


def _starting(owned: bool) -> Update:
    table = OutboxMessage.__table__
    query = update(table).where(table.c.id == bindparam("_id"), table.c.status == "pending")
    if owned:
        query = query.where(table.c.owner == bindparam("_owner"))
    return query.values(status="sending")


START_SENDING = (_starting(False), _starting(True))


async def start_sending(engine: AsyncEngine, message_id: int, owner: int | None = None
                        ) -> bool:
    """A bulk row about to be sent, marked `sending` in a transaction of its own, committed
    before its call (at most once, as a row found `sending` is never sent again), in one
    trip to the database (storage/db/trip.py). False: it is not pending any more (dropped,
    erased, sent) or, with `owner`, not that sender's: not to send."""
    values = {"_id": message_id} if owner is None else {"_id": message_id, "_owner": owner}
    (matched,) = await trip.write(engine, [(START_SENDING[owner is not None], [values])])
    return matched == 1
