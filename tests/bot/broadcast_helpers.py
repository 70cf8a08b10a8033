"""What the broadcast job's tests share: a broadcast made from a file's dict and started on a
chosen clock, the job run at a moment, the outbox's rows and the recipients read back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.jobs.broadcasts import BroadcastConfig, deliver, start
from dialogs.broadcasts.schema import from_dict, to_dict
from storage.schema.broadcasts import BroadcastRecipient
from storage.schema.tables import OutboxMessage
from storage.work.uow import UnitOfWork

# 12:00 UTC: 15:00 in Moscow, 22:00 in Vladivostok (quiet there), 12:00 in London
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ANYTIME = BroadcastConfig(quiet="off", weekly_cap=0)
TEXTS = {"ru": "{name}, скидка 10 %", "uk": "{name}, знижка 10 %", "en": "{name}, 10 % off"}


def file(name: str = "offer", segment: dict | None = None, **message: Any) -> dict:
    """A broadcast file as a dict (checked by the schema as the CLI's parse does)."""
    return to_dict(from_dict({"name": name, "segment": segment or {},
                              "message": {"text": TEXTS, "fallback": "en", **message}}))


async def made(sessions, definition: dict, *, send_at: datetime | None = None,
               now: datetime = NOON, config: BroadcastConfig = ANYTIME,
               started: bool = True) -> int:
    """A broadcast created (a draft) and, unless `started` is False, sent now: its segment
    chosen and its recipients written, as `leadbot broadcast send` does."""
    async with UnitOfWork(sessions) as uow:
        broadcast = await uow.broadcasts.create(definition["name"], definition, "d" * 64,
                                                "cli", send_at, now=now)
        if started:
            await start(uow.session, broadcast, now, config)
        await uow.commit()
        return broadcast.id


async def run(sessions, now: datetime, config: BroadcastConfig = ANYTIME) -> int:
    """One run of the job at `now`, again until it queues no more (the window permits)."""
    total = 0
    while (queued := (await deliver(sessions, now, config))[0]):
        total += queued
    return total


async def recipients(sessions, broadcast_id: int) -> dict[int, BroadcastRecipient]:
    async with sessions() as session:
        rows = (await session.execute(select(BroadcastRecipient).where(
            BroadcastRecipient.broadcast_id == broadcast_id))).scalars()
        return {row.user_id: row for row in rows}


async def outbox(sessions, chat_id: int | None = None) -> list[OutboxMessage]:
    async with sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.lane == "bulk")
        if chat_id is not None:
            query = query.where(OutboxMessage.chat_id == chat_id)
        return list((await session.execute(query.order_by(OutboxMessage.id))).scalars())


async def status(sessions, broadcast_id: int) -> str:
    async with UnitOfWork(sessions) as uow:
        return (await uow.broadcasts.get(broadcast_id)).status
