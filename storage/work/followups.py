"""Follow-up rows: nurture sequences and the abandoned-quiz reminder (bot/jobs/followups.py
sends them; dialogs/rules/nurture.py decides when)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, update

from storage.db import trip
from storage.schema.tables import FollowUp, Handoff
from storage.work.repository import Repository

_T = FollowUp.__table__
# the reminder moved on every turn: built once, its compiled form cached by the engine
MOVE_REMINDER = (
    update(_T).where(_T.c.conversation_id == bindparam("cid"), _T.c.key == bindparam("k"),
                     _T.c.status == "pending")
    .values(due_at=bindparam("due", type_=_T.c.due_at.type),
            text=bindparam("t", type_=_T.c.text.type),
            markup=bindparam("m", type_=_T.c.markup.type)))


class FollowUps(Repository):
    async def due(self, now: datetime, limit: int = 100) -> list[FollowUp]:
        """Due follow-ups, locked; another process's job skips them (PostgreSQL): each row
        is taken by one process, and sent once."""
        result = await self.session.execute(
            select(FollowUp).where(FollowUp.status == "pending", FollowUp.due_at <= now)
            .order_by(FollowUp.due_at, FollowUp.id).limit(limit)
            .with_for_update(skip_locked=True))
        return list(result.scalars())

    async def next_due(self) -> datetime | None:
        """When the next pending follow-up falls due (the job waits until then)."""
        result = await self.session.execute(
            select(func.min(FollowUp.due_at)).where(FollowUp.status == "pending"))
        return result.scalar_one_or_none()

    async def move_reminder(self, conversation_id: int, key: str, due_at: datetime,
                            text: str, markup: dict | None) -> bool:
        """Moves the pending reminder (one statement, no ORM object on the hot path).
        False when there is none pending: `schedule` decides then."""
        return bool(await trip.execute(self.session, MOVE_REMINDER, [{
            "cid": conversation_id, "k": key, "due": due_at, "t": text, "m": markup}]))

    async def schedule(self, follow_up: FollowUp, *,
                       moved_already_tried: bool = False) -> None:
        """One follow-up per key per conversation; scheduling again moves it. The reminder
        is sent once: once sent (or stopped) it is not scheduled again."""
        if follow_up.kind == "reminder" and not moved_already_tried and await (
                self.move_reminder)(
                follow_up.conversation_id, follow_up.key, follow_up.due_at, follow_up.text,
                follow_up.markup):  # moved on every turn: one statement when it can
            return
        result = await self.session.execute(select(FollowUp).where(
            FollowUp.conversation_id == follow_up.conversation_id,
            FollowUp.key == follow_up.key))
        existing = result.scalar_one_or_none()
        if existing is None:
            self.session.add(follow_up)
        elif follow_up.kind == "reminder" and existing.status not in ("pending", "waiting"):
            return
        else:
            for name in ("due_at", "text", "status", "markup", "delay_seconds", "zone",
                         "quiet", "stop_on_message", "sequence", "position"):
                setattr(existing, name, getattr(follow_up, name))

    async def following(self, row: FollowUp) -> FollowUp | None:
        """The message of the same sequence that waits for this one."""
        if row.sequence is None:
            return None
        result = await self.session.execute(select(FollowUp).where(
            FollowUp.conversation_id == row.conversation_id,
            FollowUp.sequence == row.sequence, FollowUp.status == "waiting",
            FollowUp.position > row.position).order_by(FollowUp.position).limit(1))
        return result.scalar_one_or_none()

    async def sent_since(self, user_id: int, since: datetime) -> list[datetime]:
        """When this prospect's marketing follow-ups went out since `since` (the cap)."""
        result = await self.session.execute(select(FollowUp.sent_at).where(
            FollowUp.user_id == user_id, FollowUp.marketing.is_(True),
            FollowUp.status.in_(("sent", "answered")), FollowUp.sent_at >= since))
        return [t for t in result.scalars() if t is not None]

    async def sent_since_of(self, user_ids: list[int], since: datetime
                            ) -> dict[int, list[datetime]]:
        """`sent_since` for several prospects in one query (a broadcast's batch)."""
        found: dict[int, list[datetime]] = {}
        if user_ids:
            result = await self.session.execute(
                select(FollowUp.user_id, FollowUp.sent_at).where(
                    FollowUp.user_id.in_(user_ids), FollowUp.marketing.is_(True),
                    FollowUp.status.in_(("sent", "answered")), FollowUp.sent_at >= since))
            for user_id, at in result.all():
                if at is not None:
                    found.setdefault(user_id, []).append(at)
        return found

    async def stop(self, conversation_ids: list[int], *, on_message: bool = False,
                   kind: str | None = None) -> int:
        """Ends what is still to come for these conversations (all of it, only what a
        message from the prospect ends, or one kind). Returns how many rows."""
        if not conversation_ids:
            return 0
        only = [FollowUp.stop_on_message.is_(True)] if on_message else []
        only += [FollowUp.kind == kind] if kind else []
        result = await self.session.execute(
            update(FollowUp).where(FollowUp.conversation_id.in_(conversation_ids),
                                   FollowUp.status.in_(("pending", "waiting")), *only)
            .values(status="cancelled"))
        return result.rowcount or 0

    async def sent_status(self, conversation_id: int, key: str) -> str | None:
        """The status of this conversation's follow-up `key` once it went out to the person
        ("sent": open; "answered"); None when it was never sent (pending, waiting, cancelled,
        dropped, or no such row)."""
        result = await self.session.execute(select(FollowUp.status).where(
            FollowUp.conversation_id == conversation_id, FollowUp.key == key,
            FollowUp.status.in_(("sent", "answered"))))
        return result.scalar_one_or_none()

    async def answered(self, conversation_id: int, key: str) -> None:
        """The follow-up's question answered: it is closed, a second tap is refused."""
        await self.session.execute(update(FollowUp).where(
            FollowUp.conversation_id == conversation_id, FollowUp.key == key,
            FollowUp.status == "sent").values(status="answered"))

    async def handoff_status(self, conversation_id: int) -> str | None:
        """The status of this conversation's hand-off, if its lead was handed off."""
        result = await self.session.execute(select(Handoff.status).where(
            Handoff.conversation_id == conversation_id).limit(1))
        return result.scalar_one_or_none()

    async def started(self, conversation_id: int) -> datetime | None:
        """When this conversation's nurture began (its sequences were scheduled)."""
        result = await self.session.execute(select(func.min(FollowUp.created_at)).where(
            FollowUp.conversation_id == conversation_id, FollowUp.kind == "sequence"))
        return result.scalar_one_or_none()
