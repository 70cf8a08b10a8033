"""The outbox sender: per-chat order (only the oldest pending row of a chat is tried), the
limits of bot/outbox/limits.py, `retry_after` on 429 honoured for every send, a blocked
prospect (403) marked and never retried, other 4xx recorded as failed, network errors and 5xx
retried with capped backoff. Callback answers go in their own lane, so a button never spins
behind a queue of messages. At-least-once: a row is marked sent only after Telegram accepted
it. Telegram itself is reached through the port (port.py); bot/telegram/delivery.py is the
aiogram side of it.

May import: storage, bot.outbox, bot.jobs.periodic (what counts as an outage); no Telegram
library.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.periodic import OUTAGES
from bot.outbox import textlimits
from bot.outbox.limits import Limits, RateLimiter
from bot.outbox.port import (
    BadRequest,
    Blocked,
    Call,
    Delivery,
    NotFound,
    NotModified,
    NotSendable,
    Refused,
    Result,
    RetryAfter,
    Sent,
    Unavailable,
    Upload,
)
from storage import privacy
from storage.models import Event, OutboxMessage, utcnow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0
MAX_ATTEMPTS = 20  # 5xx for one row while other calls go through: about 15 minutes of tries
TAP_ANSWER_TTL = timedelta(seconds=60)  # a tap's answer after that is of no use
BATCH = 200


@dataclass
class Counters:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    rate_limited: int = 0
    dropped: int = 0  # given up on purpose (README, "What happens to an update")


class Sender:
    """Delivers the outbox through `delivery` (bot.telegram.delivery.sender_for builds one
    over an aiogram Bot)."""

    def __init__(self, delivery: Delivery, sessions: async_sessionmaker[AsyncSession],
                 limits: Limits | None = None, clock: Callable[[], datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_unreachable: Callable[[UnitOfWork, OutboxMessage], Awaitable[None]]
                 | None = None) -> None:
        self.delivery, self.sessions = delivery, sessions
        self.clock, self.monotonic = clock, monotonic
        self.on_unreachable = on_unreachable  # a manager's private chat refused (403)
        self.limiter = RateLimiter(limits or Limits())
        self.counters = Counters()
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()  # chats with a call under way
        self.last_accepted: datetime | None = None  # Telegram's last success: no outage
        # metrics (bot/metrics.py, set by bot/app.py): told of every row Telegram accepts
        self.accepted: Callable[[OutboxMessage, datetime], None] = lambda row, at: None

    def wake(self) -> None:
        """Called after a commit that added outbox rows."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: the database being away pauses sending, it never ends it (the rows
        wait in the outbox; a dead sender would leave every message unsent until restart)."""
        backoff = 1.0
        while not stop.is_set():
            try:
                delay = await self.drain_once()
                backoff = 1.0
            except OUTAGES as error:
                log.warning("sender: the database is away (%s); again in %.0f s",
                            type(error).__name__, backoff)
                delay, backoff = backoff, min(backoff * 2, 30.0)
            except Exception:  # a row it cannot read (a dropped key), a bug: never the end
                log.exception("sender: a pass failed; again in %.0f s", backoff)
                delay, backoff = backoff, min(backoff * 2, 30.0)
            self._wake.clear()
            waiting = asyncio.create_task(self._wake.wait())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({waiting, stopping}, timeout=delay,
                               return_when=asyncio.FIRST_COMPLETED)
            for task in (waiting, stopping):
                task.cancel()

    async def drain(self, timeout: float = 30.0) -> Counters:
        """Send until nothing is pending (tests, and the benchmark): arq's burst mode."""
        deadline = self.monotonic() + timeout
        while self.monotonic() < deadline:
            delay = await self.drain_once()
            async with UnitOfWork(self.sessions) as uow:
                if await uow.outbox.pending_count() == 0:
                    return self.counters
            await asyncio.sleep(min(delay, max(0.0, deadline - self.monotonic())))
        raise TimeoutError(f"outbox not drained within {timeout} s")

    async def drain_once(self) -> float:
        """One pass: send every chat's next message that the limits allow now. Returns how
        long to wait before the next pass is worth it."""
        now_wall = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            heads = await uow.outbox.heads(now_wall, BATCH)
            next_due = await uow.outbox.next_due()
        waits, tasks = [1.0], []
        if next_due is not None and next_due > now_wall:
            waits.append((next_due - now_wall).total_seconds())
        for row in sorted(heads, key=lambda r: (r.lane != "tap", r.id)):
            if row.chat_id in self._in_flight and row.lane != "tap":
                continue
            now = self.monotonic()
            counted = row.lane != "tap"
            wait = self.limiter.wait(row.chat_id, now, counted)
            if wait > 0:
                waits.append(wait)
                continue
            self.limiter.take(row.chat_id, now, counted)
            if counted:
                self._in_flight.add(row.chat_id)
            tasks.append(asyncio.create_task(self._deliver(row)))
        if tasks:
            await asyncio.gather(*tasks)
            return 0.0
        self.limiter.forget_idle(self.monotonic())
        return max(0.0, min(waits))

    async def _deliver(self, row: OutboxMessage) -> None:
        try:
            rest = None
            try:
                call, rest = await self._call_for(row)
                if call is None:
                    await self._dropped(row, "the message to edit was never sent")
                    return
                result = await self.delivery.deliver(call)
            except (TimeoutError, OSError) as error:
                result = Unavailable(str(error))
            except OUTAGES:
                raise  # the row stays pending; run() waits for the database
            except Exception as error:  # a bug in one row must not stop every other message
                result = NotSendable(error)
            await self._act(row, result, rest)
        finally:
            self._in_flight.discard(row.chat_id)

    async def _act(self, row: OutboxMessage, result: Result, rest: dict | None) -> None:
        """What Telegram's answer to a row's call means for the row (port.py's results)."""
        match result:
            case Sent(message_id=message_id):
                self.last_accepted = self.clock()
                self.accepted(row, self.last_accepted)  # metrics: reply/hand-off latency
                if rest is not None:  # a long text: its next part goes on the next pass
                    await self._rest(row, rest)
                else:
                    await self._finish(row, "sent", message_id=message_id)
            case NotModified():
                await self._finish(row, "sent")
            case RetryAfter(seconds=seconds):
                self.counters.rate_limited += 1
                self.limiter.pause(self.monotonic(), seconds)
                log.warning("429 from Telegram: every send paused for %g s", seconds)
            case Blocked(message=message):
                await self._blocked(row, message)
            case BadRequest(message=message) if result.too_long:
                await self._too_long(row, message)
            case Unavailable(reason=reason):
                await self._retry(row, reason)
            case NotSendable(error=error):
                log.error("outbox row %s cannot be sent", row.id, exc_info=error)
                await self._failed(row, f"not sendable: {type(error).__name__}")
            case BadRequest(message=message) | NotFound(message=message) | Refused(
                    message=message):
                await self._failed(row, message)

    async def _call_for(self, row: OutboxMessage) -> tuple[Call | None, dict | None]:
        """The Bot API call for a row, within Telegram's length limits, and what of the
        row remains to send after it (a long text's next parts), if anything. None if the
        message an edit is for was never sent."""
        payload = dict(row.payload)
        method = row.method
        if "export_of" in payload:
            return await self._export(payload), None
        if row.method.startswith("edit") and "message_id" not in payload:
            async with UnitOfWork(self.sessions) as uow:
                if row.edit_of is not None:
                    original = await uow.outbox.get(row.edit_of)
                elif row.conversation_id is not None and row.step is not None:
                    original = await uow.outbox.sent_for_step(row.conversation_id, row.step,
                                                              row.id)
                else:
                    original = None
            if original is None or original.telegram_message_id is None:
                return None, None
            payload["message_id"] = original.telegram_message_id
            if original.method == "sendDocument":  # a file's text is its caption
                method = "editMessageCaption"
                payload["caption"] = payload.pop("text")
        method, payload, rest = textlimits.fit(method, payload)
        return Call(method, payload), rest

    async def _export(self, payload: dict) -> Call:
        """/mydata: everything stored about the user, read now, sent only to their own
        private chat (whose id is their user id)."""
        user_id = int(payload.pop("export_of"))
        if int(payload["chat_id"]) != user_id:
            raise ValueError("a data export goes only to its owner's private chat")
        async with UnitOfWork(self.sessions) as uow:
            data = await privacy.export(uow, user_id, self.clock())
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()
        return Call("sendDocument", payload, Upload(f"my-data-{user_id}.json", body))

    async def _finish(self, row: OutboxMessage, status: str, message_id: int | None = None,
                      error: str | None = None) -> None:
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is None:
                return
            stored.status, stored.error, stored.attempts = status, error, stored.attempts + 1
            if status == "sent":
                stored.sent_at, stored.telegram_message_id = self.clock(), message_id
                self.counters.sent += 1
            await uow.commit()

    async def _rest(self, row: OutboxMessage, rest: dict) -> None:
        """A part of a long text was accepted: the row keeps what remains, and stays the
        chat's next (the limits pace the parts like any message; a retry resends no part
        already accepted)."""
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is None:
                return
            stored.payload, stored.error = rest, None
            await uow.commit()
        self.wake()

    async def _too_long(self, row: OutboxMessage, reason: str) -> None:
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
                stored.attempts += 1
                self.counters.retried += 1
                await uow.commit()
        if payload is None:
            await self._failed(row, reason)
        else:
            self.wake()

    async def _failed(self, row: OutboxMessage, reason: str) -> None:
        self.counters.failed += 1
        log.warning("outbox row %s (%s) failed: %s", row.id, row.method, reason)
        await self._finish(row, "failed", error=reason[:500])
        async with UnitOfWork(self.sessions) as uow:
            uow.events.add(Event(user_id=row.chat_id, conversation_id=row.conversation_id,
                                 kind="send_failed", data={"method": row.method,
                                                           "error": reason[:200]},
                                 created_at=self.clock()))
            await uow.commit()

    async def _blocked(self, row: OutboxMessage, message: str) -> None:
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
            await uow.outbox.drop_chat(row.chat_id, "blocked by the prospect")
            prospect = await uow.prospects.get(row.chat_id)
            if prospect is not None:
                prospect.blocked = True
                uow.events.add(Event(user_id=prospect.user_id, kind="blocked",
                                     created_at=self.clock()))
            await uow.commit()

    async def _unreachable_manager(self, row: OutboxMessage, message: str) -> None:
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

    async def _retry(self, row: OutboxMessage, error: str) -> None:
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
                stored.error = error[:500]
                self.counters.retried += 1
                await uow.commit()
                return
        if expired:
            await self._dropped(row, f"the tap is over {TAP_ANSWER_TTL.seconds} s old")
        else:
            await self._failed(row, f"gave up after {MAX_ATTEMPTS} tries: {error}")

    async def _dropped(self, row: OutboxMessage, reason: str) -> None:
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
