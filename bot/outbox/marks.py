"""Rows Telegram accepted, marked sent in the database in batches: one transaction for every
row accepted since the last one, never a row before its acceptance. A crash between the
acceptance and the mark sends that row again after the restart (at-least-once, as before:
the window is one batch's commit, milliseconds). Cosmetic edits dropped for want of budget
are marked in the same batch, with their events.

May import: storage (SQLAlchemy too), bot.outbox.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox.pending import Row
from storage.db import trip
from storage.schema.tables import Event, OutboxMessage

TABLE = OutboxMessage.__table__
# built once: a batch is one trip to the database (storage/db/trip.py)
MARK = update(TABLE).where(TABLE.c.id == bindparam("row_id")).values(
    status=bindparam("new_status"), sent_at=bindparam("at"),
    telegram_message_id=bindparam("message_id"), error=bindparam("why"),
    attempts=TABLE.c.attempts + 1)
DROPPED = insert(Event.__table__).values(
    **{name: bindparam(name) for name in ("user_id", "conversation_id", "kind", "created_at",
                                          "data")})


@dataclass(frozen=True, slots=True)
class Mark:
    row: Row
    status: str  # "sent" or "dropped"
    at: datetime
    message_id: int | None = None
    error: str | None = None


class Marks:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.waiting: list[Mark] = []
        self.lock = asyncio.Lock()
        self.ready = asyncio.Event()

    def add(self, mark: Mark) -> None:
        self.waiting.append(mark)
        self.ready.set()

    async def flush(self) -> list[Mark]:
        """Marks every row waiting, in one transaction; returns them once committed (only
        then may they leave the sender's memory). Raises what the database raises; the marks
        stay waiting for the next try."""
        async with self.lock:
            batch, self.waiting = self.waiting, []
            self.ready.clear()
            if not batch:
                return []
            try:
                await self._write(batch)
            except BaseException:
                self.waiting[:0] = batch
                self.ready.set()
                raise
            return batch

    async def _write(self, batch: list[Mark]) -> None:
        steps: list[trip.Step] = [(MARK, [
            {"row_id": m.row.id, "new_status": m.status,
             "at": m.at if m.status == "sent" else None,
             "message_id": m.message_id, "why": m.error} for m in batch])]
        dropped = [m for m in batch if m.status == "dropped"]
        if dropped:
            steps.append((DROPPED, [
                {"user_id": m.row.chat_id, "conversation_id": m.row.conversation_id,
                 "kind": "send_dropped", "created_at": m.at,
                 "data": {"method": m.row.method, "reason": m.error}} for m in dropped]))
        await trip.write(self.sessions.kw["bind"], steps)
