"""SQLite's one writer, queued in the process instead of by SQLite's busy handler.

SQLite lets one transaction write at a time. Without this gate, a second `BEGIN IMMEDIATE`
in the same process waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25,
25, 25, 50, 50, 100 ms between tries: under a crowd, an update that loses a few times sleeps
far longer than the transaction it waited for (bench/reply.py's p99), and nobody decides who
goes next. Here each engine's writers wait in asyncio, are woken the moment the writer
before them commits, and in order: an update a prospect waits for (the foreground) before
the bot's own bookkeeping (`background()`: a broadcast's marks, sent marks, jobs), first
come first served within each. Never for long, though: a background writer that has waited
PATIENCE goes next, so a steady queue of updates (a crowd, or anything polling the database
in a loop) cannot starve the sender's marks; that starvation is what hung a first version of
this gate in tests/e2e/test_concurrency.py (ten prospects and a harness polling the outbox:
the sender's marks waited out the busy timeout, again and again, and nothing was sent).

Only writers queue: a reader's transaction (storage/db/engine.py's READ_ONLY) takes no
write lock and passes by. Another process (or another engine on the same file) still meets
the busy handler, as before; production's several processes run on PostgreSQL, which
locks rows, not the file, and has no gate.

The gate is taken in the connection's `begin` event (the greenlet SQLAlchemy's asyncio
runs its sync code in, hence `await_only`) and given back after the COMMIT or ROLLBACK ran,
or when the connection is closed or invalidated: never while SQLite still holds its lock.
A writer that waits longer than the busy timeout fails as SQLite would ("database is
locked"), so a transaction that (wrongly) waits for another inside itself errs rather than
hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import deque
from collections.abc import Iterator

from sqlalchemy.exc import OperationalError

PATIENCE = 0.05  # seconds a background writer lets updates go first, at most

_background: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "leadbot_background_write", default=False)


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Writes inside (and in tasks started inside) wait for every foreground writer."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def in_background() -> bool:
    return _background.get()


class WriteGate:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.patience = PATIENCE
        self.holder: object | None = None  # the DBAPI connection writing now
        # foreground, background: (woken when it is the waiter's turn, its connection, since)
        self._queues: tuple[deque[tuple[asyncio.Future[None], object, float]], ...] = (
            deque(), deque())

    def waiting(self) -> int:
        return sum(len(q) for q in self._queues)

    async def acquire(self, connection: object) -> None:
        if self.holder is None and not self.waiting():
            self.holder = connection
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (future, connection, time.monotonic())
        queue = self._queues[1 if in_background() else 0]
        queue.append(entry)
        try:
            await asyncio.wait_for(future, self.timeout)
        except BaseException as error:
            if future.done() and not future.cancelled():
                self.release(connection)  # handed over, then cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(entry)
            if isinstance(error, TimeoutError):
                raise OperationalError("BEGIN IMMEDIATE", None,
                                       Exception("database is locked (write gate)")) from None
            raise

    def release(self, connection: object) -> None:
        """Given back by its holder (anyone else's call is ignored): handed to the next
        foreground writer, else the next background one; a background writer that has
        waited PATIENCE goes before the updates."""
        if self.holder is not connection:
            return
        self.holder = None
        foreground, background = self._queues
        while background and background[0][0].done():  # cancelled or timed out
            background.popleft()
        aged = bool(background) and time.monotonic() - background[0][2] >= self.patience
        for queue in ((background, foreground) if aged else self._queues):
            while queue:
                future, waiter, _ = queue.popleft()
                if not future.done():
                    self.holder = waiter
                    future.set_result(None)
                    return
