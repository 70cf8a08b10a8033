"""The outbox sender: per-chat order (a chat's next row goes only after its previous one was
answered), the limits of bot/outbox/limits.py, `retry_after` on 429 honoured for every send,
a blocked prospect (403) marked and never retried, other 4xx recorded as failed, network
errors and 5xx retried with capped backoff (outcomes.py). Callback answers go in their own
lane, so a button never spins behind a queue of messages. At-least-once: a row is marked
sent only after Telegram accepted it. Telegram itself is reached through the port (port.py);
bot/telegram/delivery.py is the aiogram side of it.

The short path (docs/updates.md): an update's outbox rows come straight
from its commit (`submit`) into memory (pending.py), each call runs on its own (no chat waits
for another chat's slow call), accepted rows are marked sent in batches (marks.py), and an
edit finds the message it changes in memory. The database stays the truth: a scan of the
outbox (on `wake`, after a retry, and every second) finds what memory does not hold — rows
of the jobs, retries when due, everything after a restart. Priorities (pending.py's ranks):
a tap's answer, then the next question or reply, then cards and follow-ups, then cosmetic
edits, which alone are skipped, folded or dropped when the bot-wide budget is short; last,
broadcasts: the bulk lane (bulk.py), at its own share of the rate, at most once.

Several processes on one PostgreSQL (docs/scaling.md): each sends only the rows it owns
(storage/work/owners.py), while it holds its number (bot/outbox/fleet.py); a scan first
takes the rows no live sender has. Without its number (its connection to the database
lost) it starts no call: another process will send what it held.

May import: storage, bot.outbox, bot.jobs.periodic (what counts as an outage); no Telegram
library.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.periodic import OUTAGES
from bot.outbox.bulk import Bulk
from bot.outbox.calls import Calls
from bot.outbox.limits import Limits, RateLimiter
from bot.outbox.marks import Mark, Marks
from bot.outbox.outcomes import MAX_ATTEMPTS, TAP_ANSWER_TTL, Counters, Outcomes
from bot.outbox.pending import BULK, COSMETIC, MessageIds, Pending, Row
from bot.outbox.port import (
    BadRequest,
    Blocked,
    Delivery,
    NotFound,
    NotModified,
    NotSendable,
    Refused,
    Result,
    RetryAfter,
    Sent,
    Unavailable,
)
from bot.outbox.shared import Shared
from storage.schema.tables import OutboxMessage, utcnow
from storage.work import owners
from storage.work.uow import UnitOfWork

__all__ = ["BATCH", "MAX_ATTEMPTS", "TAP_ANSWER_TTL", "Counters", "Sender"]

log = logging.getLogger(__name__)

BATCH = 200  # rows a scan reads at most
SCAN_EVERY = 1.0  # seconds: the outbox is read at least this often
COSMETIC_RESERVE = 0.5  # of the bot-wide burst, kept for replies: a cosmetic edit waits below it
COSMETIC_PATIENCE = 2.0  # seconds a cosmetic edit waits for budget before it is dropped
MARK_EVERY = 0.05  # seconds accepted rows gather before their batch is marked (a write each)


class Sender(Shared, Calls, Outcomes, Bulk):
    """Delivers the outbox through `delivery` (bot/telegram/delivery.py: over aiogram's Bot)."""

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
        self.pending = Pending()  # rows in memory, by chat and lane
        self.ids = MessageIds()  # Telegram's ids of recent sends, for the edits that follow
        self.marks = Marks(sessions)  # accepted rows waiting to be marked sent, in batches
        self._kick = asyncio.Event()  # something to do: a commit, a call answered
        self._scan_wanted = asyncio.Event()  # the outbox has rows memory does not
        self._scan_due = True
        self._next_scan = 0.0
        self._calls: set[asyncio.Task] = set()
        self._in_flight: set[int] = set()  # chats with a call under way
        self._queued = 0  # counted messages in memory at the last dispatch
        self._bulk_starting = 0  # bulk rows started, their tokens not taken yet (bulk.py)
        self.last_accepted: datetime | None = None  # Telegram's last success: no outage
        # metrics (bot/metrics.py, set by bot/app.py): told of every row Telegram accepts
        self.accepted: Callable[[OutboxMessage, datetime], None] = lambda row, at: None
        # several processes (bot/outbox/fleet.py sets both): this sender's number, and who
        # is told of a 429 (every process pauses)
        self.holder: owners.Holder | None = None
        self._sends: dict[int, deque[float]] = {}  # its own sends of the last minute
        self.on_retry_after: Callable[[float], None] = lambda seconds: None

    # -- what comes in ------------------------------------------------------------------
    def wake(self) -> None:
        """After a commit with outbox rows other than an update's (jobs, hand-off): read again."""
        self._want_scan()

    def _want_scan(self) -> None:
        self._scan_due = True
        self._scan_wanted.set()

    def submit(self, rows: list[dict], reread: bool = False,
               taken_over: dict[int, list[datetime]] | None = None,
               dead: set[int] | frozenset[int] = frozenset()) -> None:
        """The short path: an update's committed outbox rows (dicts with their ids). `reread`:
        it changed queued rows in place (a block, an erasure): the outbox is read again.
        `taken_over`: chats another process sent to, with its sends; `dead`: a dead one's."""
        self.take_over(taken_over or {}, dead)
        if reread:
            self.pending.evict()
            self._want_scan()
        now = self.monotonic()
        for data in rows:
            row = Row.of(data)
            if row.key in self.pending.held:  # behind a retry: the scan brings it, in order
                self._want_scan()
            else:
                self.pending.add(row, now)
        self._kick.set()

    # -- the loop -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: the database being away pauses sending, it never ends it (the rows
        wait in the outbox; a dead sender would leave every message unsent until restart).
        Calls are started here; the outbox is read and rows marked in tasks of their own,
        so no call waits for the database. The calls in hand are finished and marked before
        it returns."""
        helpers = [asyncio.create_task(self._marking(stop)),
                   asyncio.create_task(self._scanning(stop)),
                   asyncio.create_task(self._kick_on(stop))]
        try:
            while not stop.is_set():
                self._kick.clear()
                try:
                    delay = self.dispatch()
                except Exception:  # a bug: logged, never the end of sending
                    log.exception("sender: a pass failed")
                    delay = 1.0
                if delay > 0 and not self._kick.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._kick.wait()
        finally:  # helpers end at `stop`; one cancelled mid-statement would log a traceback
            await asyncio.gather(*self._calls, return_exceptions=True)
            _, late = await asyncio.wait(helpers, timeout=5.0)  # or in a backoff: cancelled
            for helper in late:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            with contextlib.suppress(*OUTAGES):  # unmarked rows are sent again: at-least-once
                self._marked(await self.marks.flush())

    async def _kick_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._kick.set()
        self._scan_wanted.set()
        self.marks.ready.set()  # `_marking` sees `stop`; run() makes the last batch

    async def _scanning(self, stop: asyncio.Event) -> None:
        """Reads the outbox when woken (a job's rows, a retry handed back, a scanned row
        finished) and at least every SCAN_EVERY seconds."""
        backoff = 1.0
        while not stop.is_set():
            self._scan_wanted.clear()
            try:
                await self.scan()
                backoff = 1.0
                self._kick.set()
            except OUTAGES as error:
                log.warning("sender: the database is away (%s); again in %.0f s",
                            type(error).__name__, backoff)
                self._next_scan = self.monotonic() + backoff
                backoff = min(backoff * 2, 30.0)
            except Exception:  # a row it cannot read (a dropped key), a bug: never the end
                log.exception("sender: a pass failed; again in %.0f s", backoff)
                self._next_scan = self.monotonic() + backoff
                backoff = min(backoff * 2, 30.0)
            delay = max(0.0, self._next_scan - self.monotonic())
            if delay > 0 and not self._scan_due:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._scan_wanted.wait()

    async def _marking(self, stop: asyncio.Event) -> None:
        """Marks accepted rows as they come, each batch what was accepted during the last."""
        backoff = 0.5
        while not stop.is_set():
            await self.marks.ready.wait()
            if stop.is_set():
                return
            await asyncio.sleep(MARK_EVERY)  # at a human pace, one write for several rows
            try:
                self._marked(await self.marks.flush())
                backoff = 0.5
            except OUTAGES as error:
                log.warning("sender: cannot mark sent rows (%s); again in %.1f s",
                            type(error).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    def _marked(self, batch: list[Mark]) -> None:
        for mark in batch:
            self.pending.leave(mark.row.id)
            if mark.status == "sent":
                self.counters.sent += 1
                self.counters.bulk_sent += mark.row.rank == BULK
            if mark.row.from_scan and (mark.row.rank != BULK or self._bulk_low()):
                self._want_scan()  # the chat's next row, if any, is in the outbox only
        if batch:
            self._kick.set()

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
        """One pass, its calls awaited and marked: read the outbox, send each chat's next message
        the limits allow now. Returns how long until the next pass is worth it."""
        wait = await self.scan()
        delay = self.dispatch()
        calls = set(self._calls)
        if calls:
            await asyncio.gather(*calls)
        self._marked(await self.marks.flush())
        if calls:
            return 0.0
        self.limiter.forget_idle(self.monotonic())
        return max(0.0, min(wait, delay))

    async def scan(self) -> float:
        """Reads the outbox: each chat's oldest pending row, if due and not in memory
        already. Returns how long until a row not yet due is."""
        self.pending.gone.clear()  # rows that leave memory from now on: stale in this read
        self.pending.forget()
        self._scan_due = False
        now_wall, me = self.clock(), None if self.holder is None else self.holder.number
        if self.halted:  # read again later: a scanning loop that never waited froze the loop
            self._next_scan = self.monotonic() + SCAN_EVERY
            return SCAN_EVERY
        async with UnitOfWork(self.sessions) as uow:
            if me is not None:  # several processes: rows no live sender has, first
                claimed = await owners.claim(uow.session, me, now_wall,
                                             bulk=self._bulk_room())
                await uow.commit()
                self.take_over(claimed.taken_over, claimed.dead)
        async with UnitOfWork(self.sessions, reading=True) as uow:
            heads = await uow.outbox.heads(now_wall, BATCH, owner=me)
            next_due = await uow.outbox.next_due(owner=me)
            if me is not None:  # read before the short path handed them over, maybe
                fresh = sorted({h.chat_id for h in heads} - {c for c, _ in self.pending.queues})
                self.take_over(await owners.history(uow.session, fresh, me, now_wall))
            held = sorted({chat_id for chat_id, _ in self.pending.held})
            still = await uow.outbox.pending_chats(held)
        now = self.monotonic()
        for stored in heads:
            self.pending.add(Row.of(stored, from_scan=True), now)
        self.pending.held = {key for key in self.pending.held if key[0] in still}
        wait = SCAN_EVERY
        if next_due is not None and next_due > now_wall:
            wait = min(wait, (next_due - now_wall).total_seconds())
        self._next_scan = now + wait
        self.limiter.forget_idle(now)
        for chat_id in [c for c, sends in self._sends.items() if now - sends[-1] > 60]:
            del self._sends[chat_id]
        return wait

    def dispatch(self) -> float:
        """Starts a call for each queue's next row the limits allow now, the most waited-for
        first. Returns how long until one may go."""
        now = self.monotonic()
        if self.halted:
            return SCAN_EVERY
        heads = [queue[0] for (chat_id, lane), queue in self.pending.queues.items()
                 if lane == "tap" or chat_id not in self._in_flight]
        heads.sort(key=lambda r: (r.rank, r.id))
        # messages waiting to go: the bot-wide budget is short when they would eat its spare
        # (not a broadcast's: they wait for everything, a cosmetic edit too)
        self._queued = sum(len(q) for (_, lane), q in self.pending.queues.items()
                           if lane not in ("tap", "bulk"))
        waits = [SCAN_EVERY]
        for row in heads:
            counted, bulk = row.lane != "tap", row.rank == BULK
            if counted and row.chat_id in self._in_flight:  # its chat's other lane went now
                continue
            if bulk and (wait := self._bulk_may_start(now)) > 0:
                waits.append(wait)  # the bulk lane's share, or the reserve, is spent: the
                break  # other bulk heads (last in this order) wait as long
            if row.rank == COSMETIC:
                chosen = self._cosmetic(row, now)
                if chosen is None:
                    waits.append(0.05)
                    continue
                row = chosen
            wait = self.limiter.wait(row.chat_id, now, counted, bulk)
            if wait > 0:
                waits.append(wait)
                continue
            if not bulk:  # a bulk row's: once it is marked sending (bulk.py), then its call
                self.limiter.take(row.chat_id, now, counted)
            self._bulk_starting += bulk
            if counted and self.holder is not None:  # several processes: for a take-over
                self._sends.setdefault(row.chat_id, deque(maxlen=20)).append(now)
            self.pending.take(row)
            if counted:
                self._in_flight.add(row.chat_id)
            task = asyncio.create_task(self._deliver(row))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
        return max(0.0, min(waits))

    def _cosmetic(self, row: Row, now: float) -> Row | None:
        """A cosmetic edit at the head of its queue. While the bot-wide budget has half its
        burst to spare after every queued message, it goes first, in the order the prospect
        reads them (a chat's own budget never reorders them: tests and prospects alike see
        a stable order). Short of that,
        the reply behind it (the next question, committed with it) goes first: the prospect
        waits for that, not for the edit; the edit waits, and is dropped once it waited
        COSMETIC_PATIENCE (at once if a later edit of the same question supersedes it).
        None: nothing of this queue goes now."""
        queue = self.pending.queues[row.key]
        later = next((r for r in queue if r is not row and r.rank == COSMETIC
                      and (r.conversation_id, r.step) == (row.conversation_id, row.step)), None)
        if later is not None:
            self._drop(row, "folded into a later edit of the same message")
            return None
        behind = next((r for r in queue if r.rank != COSMETIC), None)
        spare = self.limiter.spare(now) - self._queued >= (
            COSMETIC_RESERVE * self.limiter.bot_burst)
        if spare:
            return row  # room for both: the edit first, as the prospect reads them
        if behind is not None:
            return behind
        if now - row.queued_at >= COSMETIC_PATIENCE:
            self._drop(row, "a cosmetic edit: the bot-wide budget went to replies")
        return None

    def _drop(self, row: Row, reason: str) -> None:
        self.pending.take(row)
        self.counters.dropped += 1
        self.marks.add(Mark(row, "dropped", self.clock(), error=reason))
        self._kick.set()

    # -- one call -----------------------------------------------------------------------
    async def _deliver(self, row: Row) -> None:
        try:
            rest = None
            if not await (self._bulk_turn(row) if row.rank == BULK else self._called(row)):
                self._hand_back(row)  # not pending any more (dropped, erased): not ours
                return
            try:
                call, rest = await self._call_for(row)
                if call is None:
                    await self._dropped(row, "the message to edit was never sent")
                    self._hand_back(row)
                    return
                result = await self.delivery.deliver(call)
            except (TimeoutError, OSError) as error:
                result = Unavailable(str(error))
            except OUTAGES:
                raise
            except Exception as error:  # a bug in one row must not stop every other message
                result = NotSendable(error)
            await self._act(row, result, rest)
        except OUTAGES as error:  # the row stays pending; the scan finds it when it is back
            log.warning("sender: the database is away (%s); row %s waits",
                        type(error).__name__, row.id)
            self._hand_back(row, hold=True)
        except Exception:
            log.exception("sender: row %s: its outcome was not recorded", row.id)
            self._hand_back(row, hold=True)
        finally:
            if row.lane != "tap":
                self._in_flight.discard(row.chat_id)
            self._kick.set()

    def _hand_back(self, row: Row, hold: bool = False) -> None:
        """The row's fate is in the database now; `hold`: it is still pending there (a
        retry), so its chat's later rows wait behind it, read from the outbox."""
        self.pending.leave(row.id)
        if hold:
            self.pending.evict(row.key, hold=True)
        self._want_scan()

    async def _act(self, row: Row, result: Result, rest: dict | None) -> None:
        """What Telegram's answer to a row's call means for the row (port.py's results)."""
        match result:
            case Sent(message_id=message_id):
                self.last_accepted = self.clock()
                self.accepted(row, self.last_accepted)  # metrics: reply/hand-off latency
                if rest is not None:  # a long text: its next part goes next, from the outbox
                    await self._rest(row, rest)
                    self._hand_back(row, hold=True)
                else:
                    self.ids.sent(row, message_id)
                    self.marks.add(Mark(row, "sent", self.last_accepted, message_id))
            case NotModified():
                self.marks.add(Mark(row, "sent", self.clock()))
            case RetryAfter(seconds=seconds):
                self.counters.rate_limited += 1
                self.limiter.pause(self.monotonic(), seconds)
                self.on_retry_after(seconds)  # the other processes pause too
                log.warning("429 from Telegram: every send paused for %g s", seconds)
                if row.rank == BULK:  # Telegram took nothing: pending again, to send
                    await self._not_sending(row)
                self.pending.put_back(row)  # nothing changed in the database: first again
            case Blocked(message=message):
                await self._blocked(row, message)
                self._hand_back(row)
                for lane in ("chat", "tap", "bulk"):
                    self.pending.evict((row.chat_id, lane))
            case Unavailable(reason=reason, answered=False) if row.rank == BULK:
                await self._unknown(row, reason)  # maybe delivered: never sent again
                self._hand_back(row)
            case BadRequest(message=message) if result.too_long:
                await self._too_long(row, message)
                self._hand_back(row, hold=True)
            case Unavailable(reason=reason):
                await self._retry(row, reason)
                self._hand_back(row, hold=True)
            case NotSendable(error=error):
                log.error("outbox row %s cannot be sent", row.id, exc_info=error)
                await self._failed(row, f"not sendable: {type(error).__name__}")
                self._hand_back(row)
            case BadRequest(message=message) | NotFound(message=message) | Refused(
                    message=message):
                await self._failed(row, message)
                self._hand_back(row)

