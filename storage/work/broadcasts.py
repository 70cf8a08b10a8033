"""Broadcast rows and their recipients (`uow.broadcasts`): made from a file (`create`), moved
through their statuses (`set_status`), their recipients written in batches and taken when due
(`due`, locked: another process's writer skips them on PostgreSQL), queued or skipped, and
what a recipient did (`tap`, `unsubscribed`). The writer (bot/jobs/broadcasts.py) paces
itself with `pending_in_outbox` and the weekly marketing cap with `sent_since`.

What happened to a queued recipient is its outbox row's status: nothing here copies it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Select, and_, bindparam, case, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from storage.schema.broadcasts import SKIP_REASONS, Broadcast, BroadcastRecipient
from storage.schema.tables import OutboxMessage
from storage.work.repository import Repository

# what a broadcast may become from each status
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("scheduled", "sending"),
    "scheduled": ("sending", "cancelled"),
    "sending": ("paused", "cancelled", "done"),
    "paused": ("sending", "cancelled"),
    "cancelled": (),
    "done": (),
}
IN_OUTBOX = ("pending", "sending")  # an outbox row not yet sent (or never confirmed)
BATCH = 1000
# what became of a queued recipient, by its outbox row (`outcome`)
OUTCOMES = ("delivered", "blocked", "failed", "dropped", "unknown", "waiting")
BLOCKED_BY_PROSPECT = "blocked by the prospect"  # Outbox.drop_chat's reason after a 403


class BroadcastError(ValueError):
    """A broadcast that cannot be made or moved so (the message says why)."""


class Person(Protocol):
    """A recipient to write: the segment's Recipient (storage/reports/segment.py) is one."""

    user_id: int
    chat_id: int
    language: str | None


class Broadcasts(Repository):
    async def create(self, name: str, definition: dict[str, Any], digest: str,
                     created_by: str, send_at: datetime | None, *,
                     now: datetime) -> Broadcast:
        """A new draft. A draft of the same name is replaced (the file edited before it
        went anywhere); any other broadcast of that name is an error: a name is the
        source its flows and leads are counted by, and it is used once."""
        existing = await self.get_by_name(name)
        if existing is not None and existing.status != "draft":
            raise BroadcastError(
                f"a broadcast named {name!r} exists already ({existing.status}): a name is "
                "used once; give this one another name")
        if existing is not None:
            await self.session.execute(BroadcastRecipient.__table__.delete().where(
                BroadcastRecipient.broadcast_id == existing.id))
            existing.definition, existing.digest = definition, digest
            existing.created_by, existing.send_at = created_by, send_at
            existing.created_at, existing.total, existing.left_out = now, 0, {}
            await self.session.flush()
            return existing
        broadcast = Broadcast(name=name, definition=definition, digest=digest,
                              created_by=created_by, send_at=send_at, created_at=now)
        self.session.add(broadcast)
        await self.session.flush()  # its id
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def get_by_name(self, name: str) -> Broadcast | None:
        result = await self.session.execute(select(Broadcast).where(Broadcast.name == name))
        return result.scalar_one_or_none()

    async def set_status(self, broadcast: Broadcast, status: str, *, now: datetime) -> None:
        """Moves a broadcast on (TRANSITIONS). The move is made only from the status the
        caller read: another process that moved it meanwhile makes this an error, not a
        second move. Started when it first becomes `sending`; finished when `done` or
        `cancelled` (a cancelled broadcast's pending recipients are skipped)."""
        allowed = TRANSITIONS.get(broadcast.status, ())
        if status not in allowed:
            raise BroadcastError(
                f"broadcast {broadcast.name!r} is {broadcast.status}: it cannot become "
                f"{status} (it can become: {', '.join(allowed) or 'nothing, it is over'})")
        values: dict[str, Any] = {"status": status}
        if status == "sending" and broadcast.started_at is None:
            values["started_at"] = now
        if status in ("done", "cancelled"):
            values["finished_at"] = now
        moved = await self.session.execute(
            update(Broadcast).where(Broadcast.id == broadcast.id,
                                    Broadcast.status == broadcast.status).values(**values))
        if not moved.rowcount:
            raise BroadcastError(f"broadcast {broadcast.name!r} was changed meanwhile; "
                                 "read it again")
        for key, value in values.items():
            set_committed_value(broadcast, key, value)
        if status == "cancelled":
            await self.session.execute(
                update(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id,
                                                 BroadcastRecipient.status == "pending")
                .values(status="skipped", reason="cancelled"))

    async def write_recipients(self, broadcast: Broadcast, rows: Iterable[Person], *,
                               due_at: datetime, batch: int = BATCH) -> int:
        """The people it is for, as pending recipients due at `due_at`, written `batch` at
        a time; a person written before (a materialisation begun again) is left as it is.
        `total` becomes the number of recipients. Returns it."""
        table = BroadcastRecipient.__table__
        dialect = postgresql if self.session.get_bind().dialect.name != "sqlite" else sqlite
        chunk: list[dict[str, Any]] = []

        async def flush() -> None:
            if chunk:
                await self.session.execute(
                    dialect.insert(table).on_conflict_do_nothing(
                        index_elements=["broadcast_id", "user_id"]), chunk)
                chunk.clear()

        for row in rows:
            chunk.append({"broadcast_id": broadcast.id, "user_id": row.user_id,
                          "chat_id": row.chat_id, "language": (row.language or "")[:8],
                          "status": "pending", "reason": None, "due_at": due_at,
                          "outbox_id": None, "queued_at": None, "tapped": [],
                          "unsubscribed_at": None})
            if len(chunk) >= batch:
                await flush()
        await flush()
        total = int((await self.session.execute(
            select(func.count()).select_from(table)
            .where(table.c.broadcast_id == broadcast.id))).scalar_one())
        await self.session.execute(
            update(Broadcast).where(Broadcast.id == broadcast.id).values(total=total))
        set_committed_value(broadcast, "total", total)
        return total

    async def due(self, broadcast_id: int, now: datetime, limit: int = 100
                  ) -> list[BroadcastRecipient]:
        """Pending recipients due by `now`, locked: another process's writer skips them
        (PostgreSQL); each is queued or skipped by one process."""
        result = await self.session.execute(
            select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id,
                                             BroadcastRecipient.status == "pending",
                                             BroadcastRecipient.due_at <= now)
            .order_by(BroadcastRecipient.due_at, BroadcastRecipient.id).limit(limit)
            .with_for_update(skip_locked=True))
        return list(result.scalars())

    def queue(self, recipient: BroadcastRecipient, outbox_id: int, now: datetime) -> None:
        """The recipient's outbox row is written (in this transaction)."""
        recipient.status, recipient.outbox_id, recipient.queued_at = "queued", outbox_id, now

    def skip(self, recipient: BroadcastRecipient, reason: str) -> None:
        if reason not in SKIP_REASONS:
            raise BroadcastError(f"unknown reason to skip a recipient: {reason!r}")
        recipient.status, recipient.reason = "skipped", reason

    async def still_pending(self, ids: list[int]) -> set[int]:
        """Which of these recipients are still pending (not skipped meanwhile by an
        erasure, a cancel, a retention)."""
        found: set[int] = set()
        for start in range(0, len(ids), BATCH):
            found.update((await self.session.execute(
                select(BroadcastRecipient.id).where(
                    BroadcastRecipient.id.in_(ids[start:start + BATCH]),
                    BroadcastRecipient.status == "pending"))).scalars())
        return found

    async def settle(self, *, queued: list[tuple[int, int]], skipped: list[tuple[int, str]],
                     later: list[tuple[int, datetime]], now: datetime) -> None:
        """A batch of recipients by id, one statement each kind: queued (with the id of
        the outbox row written for them in this transaction), skipped (why), or due later
        (when). Only pending ones move: a recipient is settled once."""
        if any(reason not in SKIP_REASONS for _, reason in skipped):
            raise BroadcastError(f"unknown reason to skip a recipient: {skipped!r}")
        table = BroadcastRecipient.__table__
        pending = (table.c.id == bindparam("row"), table.c.status == "pending")
        for rows, values in (
                ([{"row": i, "box": o} for i, o in queued],
                 {"status": "queued", "outbox_id": bindparam("box"), "queued_at": now}),
                ([{"row": i, "why": r} for i, r in skipped],
                 {"status": "skipped", "reason": bindparam("why")}),
                ([{"row": i, "when": w} for i, w in later], {"due_at": bindparam("when")})):
            if rows:
                await self.session.execute(update(table).where(*pending).values(values), rows)

    async def pending(self, broadcast_id: int) -> int:
        """Its recipients still to queue."""
        return int((await self.session.execute(
            select(func.count()).select_from(BroadcastRecipient)
            .where(BroadcastRecipient.broadcast_id == broadcast_id,
                   BroadcastRecipient.status == "pending"))).scalar_one())

    async def pending_in_outbox(self, broadcast_id: int,
                                statuses: Iterable[str] = IN_OUTBOX) -> int:
        """Its queued recipients whose outbox row is not sent yet (pending, or sending and
        never confirmed; or only those in `statuses`): the writer keeps the pending ones
        under its window (a row left `sending` by a crash stays so for ever: it must not
        hold a broadcast back from `done`)."""
        return int((await self.session.execute(
            select(func.count()).select_from(in_outbox(broadcast_id, statuses).subquery())
        )).scalar_one())

    async def sent_since(self, user_id: int, since: datetime) -> list[datetime]:
        """When broadcasts went out to this person since `since` (the weekly marketing cap,
        with FollowUps.sent_since). A row marked sending and never confirmed may have
        arrived, and one still pending in the outbox is on its way (as a follow-up counts
        once queued): both count, at the time they were queued. Not counting the pending
        ones let two broadcasts queued within seconds both reach a person with room for
        one."""
        when = func.coalesce(OutboxMessage.sent_at, BroadcastRecipient.queued_at)
        result = await self.session.execute(
            select(when).select_from(BroadcastRecipient)
            .join(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
            .where(BroadcastRecipient.user_id == user_id,
                   OutboxMessage.status.in_(("sent", "sending", "pending")), when >= since))
        return sorted(_aware(t) for t in result.scalars() if t is not None)

    async def sent_since_of(self, user_ids: list[int], since: datetime
                            ) -> dict[int, list[datetime]]:
        """`sent_since` for several people in one query (the writer's batch)."""
        found: dict[int, list[datetime]] = {}
        if not user_ids:
            return found
        when = func.coalesce(OutboxMessage.sent_at, BroadcastRecipient.queued_at)
        result = await self.session.execute(
            select(BroadcastRecipient.user_id, when).select_from(BroadcastRecipient)
            .join(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
            .where(BroadcastRecipient.user_id.in_(user_ids),
                   OutboxMessage.status.in_(("sent", "sending", "pending")), when >= since))
        for user_id, at in result.all():
            if at is not None:
                found.setdefault(user_id, []).append(_aware(at))
        return found

    async def recipient(self, broadcast_id: int, user_id: int) -> BroadcastRecipient | None:
        result = await self.session.execute(select(BroadcastRecipient).where(
            BroadcastRecipient.broadcast_id == broadcast_id,
            BroadcastRecipient.user_id == user_id).with_for_update())
        return result.scalar_one_or_none()

    async def tap(self, broadcast_id: int, user_id: int, index: int) -> bool | None:
        """A tap on button `index` of the broadcast's message: counted on the recipient.
        None: not one of its recipients; True: the first tap of that button; False: again."""
        recipient = await self.recipient(broadcast_id, user_id)
        if recipient is None:
            return None
        first = index not in (recipient.tapped or [])
        recipient.tapped = [*(recipient.tapped or []), index]
        return first

    async def tap_link(self, recipient_id: int, broadcast_id: int,
                       index: int) -> BroadcastRecipient | None:
        """A link button's tap, through the bot (bot/web/taps.py): counted on the recipient,
        once per button (a link opened again, or by whoever it was forwarded to, adds
        nothing). The recipient, if this was its first tap of the button; else None (not
        that broadcast's recipient, never sent the message, tapped before, or unsubscribed
        from the broadcast: no tracking after that)."""
        result = await self.session.execute(select(BroadcastRecipient).where(
            BroadcastRecipient.id == recipient_id,
            BroadcastRecipient.broadcast_id == broadcast_id).with_for_update())
        recipient = result.scalar_one_or_none()
        if recipient is None or recipient.outbox_id is None or index in (
                recipient.tapped or []) or recipient.unsubscribed_at is not None:
            return None
        recipient.tapped = [*(recipient.tapped or []), index]
        return recipient

    async def unsubscribed(self, broadcast_id: int, user_id: int, now: datetime) -> bool:
        """The recipient tapped Unsubscribe (the consent withdrawal is rights.withdraw's).
        False when they are not a recipient or had unsubscribed already."""
        result = await self.session.execute(
            update(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id,
                                             BroadcastRecipient.user_id == user_id,
                                             BroadcastRecipient.unsubscribed_at.is_(None))
            .values(unsubscribed_at=now))
        return bool(result.rowcount)

    async def unsubscribed_from(self, chat_id: int, message_id: int | None,
                                now: datetime) -> bool:
        """The Unsubscribe tapped under a message: when that message was a broadcast's,
        its recipient counts as unsubscribed from it. False otherwise."""
        if message_id is None:
            return False
        found = (await self.session.execute(
            select(BroadcastRecipient.broadcast_id, BroadcastRecipient.user_id)
            .join(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
            .where(OutboxMessage.chat_id == chat_id,
                   OutboxMessage.telegram_message_id == message_id))).first()
        return found is not None and await self.unsubscribed(found[0], found[1], now)

    async def skip_person(self, user_id: int, reason: str) -> int:
        """This person's pending recipients of every broadcast skipped (erasure: "erased").
        Returns how many."""
        result = await self.session.execute(
            update(BroadcastRecipient).where(BroadcastRecipient.user_id == user_id,
                                             BroadcastRecipient.status == "pending")
            .values(status="skipped", reason=reason))
        return result.rowcount or 0

    # last in the class: `list` names this method in the class body from here on
    async def list(self, statuses: Iterable[str] | None = None) -> list[Broadcast]:
        """Every broadcast (or those in these statuses), the newest first."""
        query = select(Broadcast).order_by(Broadcast.id.desc())
        if statuses is not None:
            query = query.where(Broadcast.status.in_(list(statuses)))
        return list((await self.session.execute(query)).scalars())


def in_outbox(broadcast_id: int, statuses: Iterable[str]) -> Select:
    """A broadcast's outbox rows in `statuses` (id, status, owner), found from the outbox's
    side: the few rows not sent yet, each looked up among its recipients by `outbox_id`.
    Counted from the recipients' side, every recipient queued so far was read, in the
    writer's transaction every second: a cost that grew with the broadcast."""
    return (select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.owner)
            .where(OutboxMessage.status.in_(list(statuses)), OutboxMessage.purpose == "bulk",
                   exists().where(BroadcastRecipient.outbox_id == OutboxMessage.id,
                                  BroadcastRecipient.broadcast_id == broadcast_id,
                                  BroadcastRecipient.status == "queued")))


def outcome() -> Any:
    """What became of a queued recipient, in SQL over its outbox row: `delivered` (sent),
    `blocked` (a 403: the sender drops the row with Telegram's "Forbidden: ..." and the
    chat's other queued rows with BLOCKED_BY_PROSPECT), `failed`, `dropped` (consent
    withdrawn, erased, stale), `unknown` (marked sending and never confirmed, or its call
    never answered: maybe delivered, never sent again), `waiting` (still pending)."""
    error = func.coalesce(OutboxMessage.error, "")
    refused = or_(error.like("Forbidden%"), error.like("%403%"), error == BLOCKED_BY_PROSPECT)
    return case(
        (OutboxMessage.status == "sent", literal("delivered")),
        (and_(OutboxMessage.status.in_(("failed", "dropped")), refused), literal("blocked")),
        # a call Telegram never answered (a timeout, a lost connection): maybe delivered
        (and_(OutboxMessage.status == "failed", error.like("unknown:%")), literal("unknown")),
        (OutboxMessage.status == "failed", literal("failed")),
        (OutboxMessage.status == "dropped", literal("dropped")),
        (OutboxMessage.status == "sending", literal("unknown")),
        else_=literal("waiting"))


def _aware(value: datetime) -> datetime:
    """A time read through `coalesce`: UTC, aware, whatever the driver gave."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def of_person(session: Any, user_id: int) -> list[dict[str, Any]]:
    """The broadcasts meant for one person, for /mydata: the broadcast's name, what became
    of it (pending, skipped and why, or the outcome of its message) and when (sent, else
    queued, else due), the buttons tapped and when they unsubscribed."""
    what = outcome()
    result = await session.execute(
        select(Broadcast.name, BroadcastRecipient.status, BroadcastRecipient.reason,
               what, OutboxMessage.sent_at, BroadcastRecipient.queued_at,
               BroadcastRecipient.due_at, BroadcastRecipient.tapped,
               BroadcastRecipient.unsubscribed_at)
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .outerjoin(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
        .where(BroadcastRecipient.user_id == user_id).order_by(BroadcastRecipient.id))
    found = []
    for name, status, reason, became, sent_at, queued_at, due_at, tapped, left in result:
        when = sent_at or queued_at or due_at
        found.append({
            "name": name,
            "status": became if status == "queued" else status,
            **({"reason": reason} if status == "skipped" else {}),
            "when": _aware(when).isoformat() if when is not None else None,
            "tapped": list(tapped or []),
            "unsubscribed_at": _aware(left).isoformat() if left is not None else None})
    return found
