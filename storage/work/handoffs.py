"""Hand-off rows: leads handed to the managers, the claim (the first wins), the SLA timers
that are due, round robin and load, and the cards and digests that show them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from storage.schema.tables import Handoff, OutboxMessage
from storage.work.repository import Repository


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
        """The newest card not yet sent to a managers' chat and not yet called: a new lead
        may join it. Locked (PostgreSQL): two leads joining it at once take turns, the
        second reading the first's rewrite; a sender marking it called waits, then sends it
        as rewritten (outbox.py call). On PostgreSQL a row called while this waited for
        its lock is not found at all (nothing older is looked for): the lead gets a card
        of its own."""
        return (await self.session.execute(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id,
                                        OutboxMessage.status == "pending",
                                        OutboxMessage.called_at.is_(None),
                                        OutboxMessage.purpose == "card",
                                        OutboxMessage.method == "sendMessage")
            .order_by(OutboxMessage.id.desc()).limit(1).with_for_update()
            .execution_options(populate_existing=True))).scalar_one_or_none()

    async def waiting_edit(self, card_id: int) -> OutboxMessage | None:
        """An edit of a sent card still waiting to go, not yet called: rewritten rather
        than queued again. Locked, as waiting_card."""
        return (await self.session.execute(
            select(OutboxMessage).where(OutboxMessage.edit_of == card_id,
                                        OutboxMessage.status == "pending",
                                        OutboxMessage.called_at.is_(None))
            .order_by(OutboxMessage.id.desc()).limit(1).with_for_update()
            .execution_options(populate_existing=True))).scalar_one_or_none()

    async def replied_to(self, chat_id: int, message_id: int) -> Handoff | None:
        """The hand-off whose lead (or relayed message) a manager replied to in their chat."""
        lead_id = await self.session.scalar(select(OutboxMessage.lead_id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.telegram_message_id == message_id,
            OutboxMessage.purpose.in_(("lead", "relay"))).limit(1))
        if lead_id is None:
            return None
        return await self.session.scalar(select(Handoff).where(Handoff.lead_id == lead_id))

    async def asked(self, chat_id: int, message_id: int, purpose: str) -> int | None:
        """The lead a question of the bot's was about, replied to in `chat_id` (`purpose`
        "amount": a won sale's amount asked of its manager)."""
        return await self.session.scalar(select(OutboxMessage.lead_id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.telegram_message_id == message_id,
            OutboxMessage.purpose == purpose, OutboxMessage.lead_id.is_not(None)).limit(1))

    async def lead_message(self, chat_id: int, lead_id: int) -> int | None:
        """The Telegram id of the lead in a manager's private chat (the message with its
        status buttons), to edit it."""
        return await self.session.scalar(select(OutboxMessage.telegram_message_id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.lead_id == lead_id,
            OutboxMessage.purpose == "lead", OutboxMessage.method == "sendMessage",
            OutboxMessage.telegram_message_id.is_not(None))
            .order_by(OutboxMessage.id.desc()).limit(1))

    async def locked(self, lead_id: int) -> Handoff | None:
        """The lead's hand-off, its row locked (PostgreSQL) and read after the lock: a
        status tap and an amount for the same lead follow one another."""
        return (await self.session.execute(
            select(Handoff).where(Handoff.lead_id == lead_id).with_for_update()
            .execution_options(populate_existing=True))).scalar_one_or_none()

    async def of_lead(self, lead_id: int | None) -> Handoff | None:
        if lead_id is None:
            return None
        return await self.session.scalar(select(Handoff).where(Handoff.lead_id == lead_id))
