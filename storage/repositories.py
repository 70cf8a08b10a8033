"""Repositories: load and add rows within the caller's transaction. They never commit;
the unit of work does (cosmicpython's adapters/repository.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, Update, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.schema.tables import (
    Consent,
    Conversation,
    Event,
    FlowVersion,
    Handoff,
    Lead,
    OutboxMessage,
    ProcessedUpdate,
    Prospect,
)


def _prebuilt_update(table: Table, key: str, *columns: str) -> Update:
    """An UPDATE of these columns of the row whose `key` is `:_key`, built once: the hot
    path's statements are not rebuilt per update (the engine caches their compiled form)."""
    return update(table).where(table.c[key] == bindparam("_key")).values(
        **{name: bindparam(f"_{name}", type_=table.c[name].type) for name in columns})


RECORD_UPDATE = insert(ProcessedUpdate.__table__).values(
    update_id=bindparam("_id", type_=ProcessedUpdate.__table__.c.update_id.type),
    processed_at=bindparam("_at", type_=ProcessedUpdate.__table__.c.processed_at.type))
STATE_COLUMNS = ("state", "step", "finished", "progress", "updated_at")
SAVE_STATE = _prebuilt_update(Conversation.__table__, "id", *STATE_COLUMNS)


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)


class Updates(Repository):
    async def seen(self, update_id: int) -> bool:
        return await self.session.get(ProcessedUpdate, update_id) is not None

    async def record(self, update_id: int, now: datetime) -> None:
        """Raises IntegrityError when the update was recorded before (a redelivery)."""
        await self.session.execute(RECORD_UPDATE, {"_id": update_id, "_at": now})

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
        return result.rowcount or 0


class Prospects(Repository):
    async def lock(self, user_id: int) -> Prospect | None:
        """The prospect's row, locked until commit: one update per prospect at a time
        across processes (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE does it there)."""
        result = await self.session.execute(
            select(Prospect).where(Prospect.user_id == user_id).with_for_update())
        return result.scalar_one_or_none()

    async def get(self, user_id: int) -> Prospect | None:
        return await self.session.get(Prospect, user_id)

    async def lock_with_conversation(self, user_id: int
                                     ) -> tuple[Prospect | None, Conversation | None]:
        """The prospect's row, locked, and their latest conversation as the update before
        this one committed it.

        PostgreSQL (READ COMMITTED) reads every table of a statement from the snapshot taken
        when the statement began; a statement that waited for the lock re-reads only the
        locked row. A conversation read in the same statement would be the one from before
        the previous update of this prospect committed, and that update's answer would be
        lost: there it is read in a second statement, after the lock. SQLite's BEGIN
        IMMEDIATE takes the lock before anything is read, so one statement does."""
        if self.session.get_bind().dialect.name != "sqlite":
            prospect = await self.lock(user_id)
            if prospect is None:
                return None, None
            result = await self.session.execute(
                select(Conversation).where(Conversation.user_id == user_id)
                .order_by(Conversation.id.desc()).limit(1))
            return prospect, result.scalar_one_or_none()
        latest = (select(func.max(Conversation.id)).where(Conversation.user_id == user_id)
                  .scalar_subquery())
        result = await self.session.execute(
            select(Prospect, Conversation)
            .outerjoin(Conversation, Conversation.id == latest)
            .where(Prospect.user_id == user_id))
        row = result.first()
        return (row[0], row[1]) if row is not None else (None, None)


class Conversations(Repository):
    async def latest(self, user_id: int) -> Conversation | None:
        result = await self.session.execute(
            select(Conversation).where(Conversation.user_id == user_id)
            .order_by(Conversation.id.desc()).limit(1))
        return result.scalar_one_or_none()

    async def variant_in(self, user_id: int, experiment: str) -> str | None:
        """The variant the prospect last had in this A/B experiment, if any."""
        result = await self.session.execute(
            select(Conversation.variant).where(Conversation.user_id == user_id,
                                               Conversation.experiment == experiment)
            .order_by(Conversation.id.desc()).limit(1))
        return result.scalar_one_or_none()

    async def add_now(self, conversation: Conversation) -> Conversation:
        self.session.add(conversation)
        await self.session.flush()  # the id, for the rows that point at it
        return conversation

    async def save_state(self, conversation_id: int, **values: object) -> None:
        """The new state: one UPDATE, without the ORM's change tracking (the hot path)."""
        if tuple(values) == STATE_COLUMNS:  # the hot path: the statement built once
            await self.session.execute(SAVE_STATE, {
                "_key": conversation_id, **{f"_{k}": v for k, v in values.items()}})
            return
        await self.session.execute(update(Conversation.__table__).where(
            Conversation.__table__.c.id == conversation_id).values(**values))


class Leads(Repository):
    async def for_conversation(self, conversation_id: int) -> Lead | None:
        result = await self.session.execute(
            select(Lead).where(Lead.conversation_id == conversation_id))
        return result.scalar_one_or_none()


class Consents(Repository):
    async def for_user(self, user_id: int) -> list[Consent]:
        result = await self.session.execute(
            select(Consent).where(Consent.user_id == user_id).order_by(Consent.id))
        return list(result.scalars())


DELIVERY_EVENTS = ("send_failed", "send_dropped")  # about an outbox row, not the funnel


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

    async def heads(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """The oldest pending message of each chat (per-chat order), if it is due."""
        oldest = (select(func.min(OutboxMessage.id)).where(OutboxMessage.status == "pending")
                  .group_by(OutboxMessage.chat_id, OutboxMessage.lane))
        result = await self.session.execute(
            select(OutboxMessage).where(OutboxMessage.id.in_(oldest),
                                        OutboxMessage.not_before <= now)
            .order_by(OutboxMessage.id).limit(limit))
        return list(result.scalars())

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def pending_count(self) -> int:
        result = await self.session.execute(
            select(func.count()).where(OutboxMessage.status == "pending"))
        return int(result.scalar_one())

    async def next_due(self) -> datetime | None:
        result = await self.session.execute(
            select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == "pending"))
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
        points at, and the question an unfinished conversation waits on (a tap on it edits
        it). Returns how many."""
        row, other = aliased(OutboxMessage), aliased(OutboxMessage)
        cards = select(Handoff.card_id).where(Handoff.card_id.is_not(None))
        edited = select(other.edit_of).where(other.edit_of.is_not(None))
        waited_on = exists().where(Conversation.id == row.conversation_id,
                                   Conversation.step == row.step,
                                   Conversation.finished.is_(False))
        doomed = select(row.id).where(
            row.status.in_(("sent", "failed", "dropped")), row.created_at < before,
            row.purpose.is_(None),
            row.id.not_in(cards), row.id.not_in(edited), ~waited_on).limit(limit)
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


class FlowVersions(Repository):
    async def get(self, flow_id: str, version: int) -> FlowVersion | None:
        return await self.session.get(FlowVersion, (flow_id, version))


class Handoffs(Repository):
    """Leads handed to the managers: the claim, the SLA timers, the cards and digests."""

    async def get(self, handoff_id: int) -> Handoff | None:
        return await self.session.get(Handoff, handoff_id)

    async def for_lead(self, lead_id: int) -> int | None:
        """The id of the lead's hand-off, if it has one (one per lead)."""
        return await self.session.scalar(select(Handoff.id).where(Handoff.lead_id == lead_id))

    async def route_of(self, handoff_id: int) -> str | None:
        return await self.session.scalar(select(Handoff.route).where(Handoff.id == handoff_id))

    async def of_user(self, user_id: int,
                      conversation_ids: list[int] | None = None) -> list[Handoff]:
        query = select(Handoff).where(Handoff.user_id == user_id)
        if conversation_ids is not None:
            query = query.where(Handoff.conversation_id.in_(conversation_ids))
        return list((await self.session.execute(query)).scalars())

    async def claim(self, handoff_id: int, user_id: int, name: str,
                    now: datetime) -> tuple[bool, Handoff | None]:
        """The first claim wins, atomically: the row is claimed only while nobody has it
        (another process's claim waits for the row lock, then finds it taken). Returns
        whether this claim won, and the hand-off as it is now."""
        table = Handoff.__table__
        won = await self.session.execute(
            update(table).where(table.c.id == handoff_id, table.c.claimed_by.is_(None))
            .values(claimed_by=user_id, claimed_by_name=name[:128], claimed_at=now,
                    status="claimed", status_at=now, due_at=None))
        handoff = (await self.session.execute(
            select(Handoff).where(Handoff.id == handoff_id)
            .execution_options(populate_existing=True))).scalar_one_or_none()
        return bool(won.rowcount), handoff

    async def due(self, now: datetime, limit: int = 50) -> list[Handoff]:
        """Unclaimed leads whose SLA step is due, locked; rows another process is handling
        are skipped (SKIP LOCKED on PostgreSQL), so two bots never remind twice."""
        return list((await self.session.execute(
            select(Handoff).where(Handoff.claimed_at.is_(None), Handoff.due_at <= now)
            .order_by(Handoff.due_at).limit(limit).with_for_update(skip_locked=True))
        ).scalars())

    async def last_assigned(self, route: str) -> int | None:
        """The manager the route's previous lead was assigned to (round robin)."""
        return (await self.session.execute(
            select(Handoff.claimed_by).where(Handoff.route == route,
                                             Handoff.assigned.is_(True))
            .order_by(Handoff.id.desc()).limit(1))).scalar_one_or_none()

    async def loads(self, manager_ids: list[int], in_hand: tuple[str, ...]) -> dict[int, int]:
        """Leads each manager has in hand (least loaded)."""
        return dict((await self.session.execute(
            select(Handoff.claimed_by, func.count()).where(
                Handoff.claimed_by.in_(manager_ids), Handoff.status.in_(in_hand))
            .group_by(Handoff.claimed_by))).all())

    async def on_card(self, card_id: int) -> list[Handoff]:
        """The leads a card (or digest) shows, in the order they joined it."""
        return list((await self.session.execute(
            select(Handoff).where(Handoff.card_id == card_id).order_by(Handoff.id))).scalars())

    async def waiting_card(self, chat_id: int) -> OutboxMessage | None:
        """The newest card not yet sent to a managers' chat: a new lead may join it."""
        return (await self.session.execute(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id,
                                        OutboxMessage.status == "pending",
                                        OutboxMessage.purpose == "card",
                                        OutboxMessage.method == "sendMessage")
            .order_by(OutboxMessage.id.desc()).limit(1))).scalar_one_or_none()

    async def waiting_edit(self, card_id: int) -> OutboxMessage | None:
        """An edit of a sent card still waiting to go: rewritten rather than queued again."""
        return (await self.session.execute(
            select(OutboxMessage).where(OutboxMessage.edit_of == card_id,
                                        OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id.desc()).limit(1))).scalar_one_or_none()

    async def replied_to(self, chat_id: int, message_id: int) -> Handoff | None:
        """The hand-off whose lead (or relayed message) a manager replied to in their chat."""
        lead_id = await self.session.scalar(select(OutboxMessage.lead_id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.telegram_message_id == message_id,
            OutboxMessage.purpose.in_(("lead", "relay"))).limit(1))
        if lead_id is None:
            return None
        return await self.session.scalar(select(Handoff).where(Handoff.lead_id == lead_id))

    async def of_lead(self, lead_id: int | None) -> Handoff | None:
        if lead_id is None:
            return None
        return await self.session.scalar(select(Handoff).where(Handoff.lead_id == lead_id))

    async def next_to_send(self, chat_id: int) -> int | None:
        """The chat's next message: the sender may be sending it right now, so it is never
        rewritten."""
        return (await self.session.execute(select(func.min(OutboxMessage.id)).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending",
            OutboxMessage.lane == "chat"))).scalar_one_or_none()
