"""The sender's bulk lane: broadcasts' messages (docs/broadcasts.md), below every other row,
at their own share of the rate (bot/outbox/limits.py), and at most once.

At most once: Telegram has no idempotency key, and for a broadcast a lost message beats a
duplicate. So a bulk row is marked `sending` in a transaction of its own, committed before
its call (`_bulk_turn`); a row found `sending` is never sent again (the scan reads `pending`
rows only), whatever happened to the process. Only its tokens are taken after that commit,
right before the call: a slow commit never bunches broadcast calls at Telegram. A bulk row
is pending again only where Telegram surely took nothing (a 429, a 5xx, a text too long:
outcomes.py), and failed as `unknown: …` where no answer came (a timeout).

Why one commit per row, not a batch ahead of the tokens: a row marked `sending` ahead of its
turn would sit in memory while a /stop, a block or an erasure changed the outbox (they
change `pending` rows only) and be sent all the same; one row's commit is a millisecond or
two on either database, at 20 a second (docs/broadcasts.md gives the measurement).

Behind the updates being handled, too: while this process handles an update, a broadcast
message waits to start (up to BULK_YIELD), so that a crowd's burst (thirty prospects
tapping at once) has the event loop and the CPU before a broadcast's marks and calls do.
bench/broadcast.py showed the crowd's slowest replies where a wave of them started at once,
each of its replies also waiting for broadcast messages started in between
(docs/performance.md).

May import: storage, bot.outbox; no Telegram library.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox.limits import RateLimiter
from bot.outbox.outcomes import Counters
from bot.outbox.pending import Pending, Row
from storage.work import outbox, owners
from storage.work.uow import UnitOfWork

BULK_AHEAD = 2.0  # seconds of its bulk share a sender takes a broadcast's rows for at once
BULK_YIELD = 0.25  # seconds at most a broadcast message waits for updates being handled
BULK_POLL = 0.01  # how often, meanwhile, it looks whether they are done


class Bulk:
    """A base class of the Sender."""

    sessions: async_sessionmaker[AsyncSession]
    holder: owners.Holder | None
    limiter: RateLimiter
    pending: Pending
    counters: Counters
    monotonic: Callable[[], float]
    _bulk_starting: int  # bulk rows started, not yet marked `sending` and given tokens
    _bulk_held: float | None = None  # since when a bulk row waits for the updates
    busy: Callable[[], int] = staticmethod(lambda: 0)  # updates being handled (bot/app.py)
    # the other base's (outcomes.py), not defined here so that it is not shadowed
    _failed: Callable[[Row, str], Awaitable[None]]

    def _bulk_room(self) -> int:
        """A broadcast's chats this sender may take from the outbox now (several
        processes): what its share sends in BULK_AHEAD seconds, less what it holds, so
        that the other senders take the rest and each sends its share."""
        held = sum(len(q) for (_, lane), q in self.pending.queues.items() if lane == "bulk")
        return max(0, int(self.limiter.bulk_rate * BULK_AHEAD) + 1 - held)

    def _bulk_low(self) -> bool:
        """Fewer than half of the bulk rows it may hold are in memory: a broadcast message
        marked sent asks for a scan only then (a scan a message, 20 a second, cost the
        crowd's replies on SQLite), or at the scan every SCAN_EVERY."""
        return self._bulk_room() * 2 > self.limiter.bulk_rate * BULK_AHEAD

    def _bulk_may_start(self, now: float) -> float:
        """Seconds before another bulk row may start (its mark, then its tokens): the
        rows started and not yet given their tokens count as taken, and while an update is
        being handled, the bulk lane waits for it (BULK_YIELD at most)."""
        wait = self.limiter.bulk_wait(now, ahead=self._bulk_starting)
        if wait > 0:
            return wait
        if self.busy():  # an update's turn first, for BULK_YIELD at most: a burst's, and
            if self._bulk_held is None:  # under updates that never stop, once, not before
                self._bulk_held = now  # each message (it would crawl at 4 a second)
            if now - self._bulk_held < BULK_YIELD:
                return BULK_POLL
        else:
            self._bulk_held = None
        return 0.0

    async def _bulk_turn(self, row: Row) -> bool:
        """A bulk row started by dispatch: marked `sending` (committed), then its tokens
        taken, waiting for them if replies took them meanwhile. False: the row is not
        pending any more (dropped, erased, another sender's): it is not sent."""
        try:
            if not await self._start_sending(row):
                return False
            while (wait := self.limiter.wait(row.chat_id, self.monotonic(), bulk=True)) > 0:
                await asyncio.sleep(wait)
            self.limiter.take(row.chat_id, self.monotonic(), bulk=True)
            return True
        finally:
            self._bulk_starting -= 1

    async def _start_sending(self, row: Row) -> bool:
        me = None if self.holder is None else self.holder.number
        return await outbox.start_sending(self.sessions.kw["bind"], row.id, me)

    async def _not_sending(self, row: Row) -> None:
        """A bulk row Telegram surely did not take (429): pending again."""
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.get(row.id)
            if stored is not None and stored.status == "sending":
                stored.status = "pending"
                await uow.commit()

    async def _unknown(self, row: Row, reason: str) -> None:
        """A bulk row whose call got no answer (a timeout, a connection lost): Telegram may
        have delivered it, so it is not tried again."""
        self.counters.unknown += 1
        timeout = "timeout" in reason.lower() or "timed out" in reason.lower()
        await self._failed(row, "unknown: timeout" if timeout else f"unknown: {reason}")
