"""What the sender does with a row Telegram did not simply accept (and with the /mydata
export it builds when sent): each in its own transaction, as these are rare. A row left
pending (a retry's backoff, a long text's next part) is handed back to the database: the
sender's scan finds it when due, in its chat's order.

A broadcast's row (the bulk lane, bulk.py) is marked `sending` before its call: here it
is pending again only where Telegram surely took nothing (a 5xx, a text too long).

May import: storage, bot.outbox; no Telegram library.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox import textlimits
from bot.outbox.pending import Row
from bot.outbox.port import Call, Upload
from storage.privacy import rights, shown
from storage.schema.tables import Event, OutboxMessage
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
MAX_ATTEMPTS = 20  # 5xx for one row while other calls go through: about 15 minutes of tries
TAP_ANSWER_TTL = timedelta(seconds=60)  # a tap's answer after that is of no use


@dataclass
class Counters:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    rate_limited: int = 0
    dropped: int = 0  # given up on purpose (docs/updates.md)
    bulk_sent: int = 0  # of `sent`: broadcasts' messages (the bulk lane)
    unknown: int = 0  # bulk messages whose call had no answer: maybe delivered, not retried


class Outcomes:
    """The slow path of bot/outbox/sender.py's Sender (its base class)."""

    sessions: async_sessionmaker[AsyncSession]
    counters: Counters
    clock: Callable[[], datetime]
    on_unreachable: Callable[[UnitOfWork, OutboxMessage], Awaitable[None]] | None
    last_accepted: datetime | None

    def wake(self) -> None:
        raise NotImplementedError

    async def _export(self, payload: dict) -> Call:
        """/mydata: everything stored about the user, read now, sent only to their own
        private chat (whose id is their user id)."""
        user_id = int(payload.pop("export_of"))
        if int(payload["chat_id"]) != user_id:
            raise ValueError("a data export goes only to its owner's private chat")
        async with UnitOfWork(self.sessions) as uow:
            data = await rights.export(uow, user_id, self.clock())
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()
        return Call("sendDocument", payload, Upload(f"my-data-{user_id}.json", body))

    async def _finish(self, row: Row, status: str, message_id: int | None = None,
                      error: str | None = None) -> None:
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is None:
                return
            stored.status, stored.error, stored.attempts = status, error, stored.attempts + 1
            if status == "sent":
                stored.sent_at, stored.telegram_message_id = self.clock(), message_id
                self.counters.sent += 1
                self.counters.bulk_sent += stored.lane == "bulk"
            elif stored.purpose == "erasure":  # an erasure's edit refused: in its receipt
                await shown.unedited(uow, stored, shown.reason(error or ""))
            await uow.commit()

    async def _rest(self, row: Row, rest: dict) -> None:
        """A part of a long text was accepted: the row keeps what remains, and stays the
        chat's next (the limits pace the parts like any message; a retry resends no part
        already accepted)."""
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is None:
                return
            stored.payload, stored.error = rest, None
            if stored.status == "sending":  # a bulk row: each part is sent at most once
                stored.status = "pending"
            await uow.commit()
        self.wake()

    async def _too_long(self, row: Row, reason: str) -> None:
        """Telegram found a text too long that we counted within its limit: tried again at
        once, held to half the limit (a long message in more parts, an edit or alert
        shorter), never given up while that could help."""
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is None:
                return
            payload = textlimits.smaller(stored.payload)
            if payload is not None:
                stored.payload, stored.error = payload, reason[:500]
                if stored.status == "sending":  # a bulk row Telegram refused: to send
                    stored.status = "pending"
                stored.attempts += 1
                self.counters.retried += 1
                await uow.commit()
        if payload is None:
            await self._failed(row, reason)
        else:
            self.wake()

    async def _failed(self, row: Row, reason: str) -> None:
        self.counters.failed += 1
        log.warning("outbox row %s (%s) failed: %s", row.id, row.method, reason)
        await self._finish(row, "failed", error=reason[:500])
        async with UnitOfWork(self.sessions) as uow:
            uow.events.add(Event(user_id=row.chat_id, conversation_id=row.conversation_id,
                                 kind="send_failed", data={"method": row.method,
                                                           "error": reason[:200]},
                                 created_at=self.clock()))
            await uow.commit()

    async def _blocked(self, row: Row, message: str) -> None:
        self.counters.blocked += 1
        if row.purpose in ("lead", "relay") and self.on_unreachable is not None:
            await self._unreachable_manager(row, message)
            return
        if row.chat_id < 0:  # a group: the managers' chat, and the bot was removed from it
            log.error("the bot may no longer write to chat %s (%s): was it removed from the "
                      "group? Its messages are dropped; SLA escalation still runs",
                      row.chat_id, message)
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is not None:
                stored.status, stored.error = "dropped", message[:500]
                stored.attempts += 1
            # erasures' edits of messages in this chat: none can go, each receipt says so
            refused = [stored] if stored is not None and stored.purpose == "erasure" else []
            for edit in [*refused, *await shown.pending_edits(uow, row.chat_id)]:
                await shown.unedited(uow, edit, "removed")
            await uow.outbox.drop_chat(row.chat_id, "blocked by the prospect")
            prospect = await uow.prospects.get(row.chat_id)
            if prospect is not None:
                prospect.blocked = True
                uow.events.add(Event(user_id=prospect.user_id, kind="blocked",
                                     created_at=self.clock()))
            await uow.commit()

    async def _unreachable_manager(self, row: Row, message: str) -> None:
        """A manager who never started a private chat with the bot (Telegram refuses to
        write first): their messages wait, not dropped, until they press Start."""
        assert self.on_unreachable is not None
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is None:
                return
            first = await uow.outbox.waiting_count(row.chat_id) == 0
            stored.status, stored.error = "waiting", message[:500]
            stored.attempts += 1
            if first:
                await self.on_unreachable(uow, stored)
            await uow.commit()
        self.wake()

    async def _retry(self, row: Row, error: str) -> None:
        """Network errors and 5xx: tried again with backoff (capped at a minute) for as long
        as the message still makes sense. An outage of the Bot API gives nothing up: a
        card, a question, a follow-up wait for it to end. Given up on purpose, each with
        an event: a tap's answer once the tap is older than TAP_ANSWER_TTL (the spinner
        stopped long ago and Telegram refuses answers that late), and a row that fails
        MAX_ATTEMPTS times while Telegram accepts other calls (it is the row, not an
        outage)."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is None:
                return
            stored.attempts += 1
            if stored.lane == "tap" and now - stored.created_at > TAP_ANSWER_TTL:
                expired = True
            elif stored.attempts >= MAX_ATTEMPTS and self.last_accepted is not None and (
                    now - self.last_accepted < timedelta(seconds=2 * MAX_BACKOFF)):
                expired = False
            else:
                delay = min(MAX_BACKOFF, 0.5 * 2 ** min(stored.attempts - 1, 10))
                stored.not_before = now + timedelta(seconds=delay)
                if stored.status == "sending":  # a bulk row Telegram answered (5xx) and
                    stored.status = "pending"  # did not take: to send again
                stored.error = error[:500]
                self.counters.retried += 1
                await uow.commit()
                return
        if expired:
            await self._dropped(row, f"the tap is over {TAP_ANSWER_TTL.seconds} s old")
        else:
            await self._failed(row, f"gave up after {MAX_ATTEMPTS} tries: {error}")

    async def _dropped(self, row: Row, reason: str) -> None:
        """A message that no longer makes sense: dropped on purpose, with an event."""
        self.counters.dropped += 1
        log.warning("outbox row %s (%s) dropped: %s", row.id, row.method, reason)
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is not None:
                stored.status, stored.error = "dropped", reason[:500]
                stored.attempts += 1
            uow.events.add(Event(user_id=row.chat_id, conversation_id=row.conversation_id,
                                 kind="send_dropped", data={"method": row.method,
                                                            "reason": reason[:200]},
                                 created_at=self.clock()))
            await uow.commit()
