"""This process among the others on one PostgreSQL (docs/scaling.md): its sender's number,
held as a session-level advisory lock on a connection of its own for the process's life
(storage/work/owners.py: a row is sent only by its owner, and a dead owner's rows are
taken over by the live ones), and what the senders tell each other by LISTEN/NOTIFY:
"rows for you" (a number), "read the outbox again" (rows changed in place: an erasure,
a dropped chat) and "pause until" (a 429: Telegram's retry_after is the bot's, not one
process's).

Every EVERY seconds it counts the live senders (the bot-wide 30/s is split between them)
and so also proves its connection alive. A connection lost (or a check that does not
answer within TIMEOUT) halts the sender at once: its lock is gone or going, and another
process may take its rows, so it must not start sending them. It reconnects with backoff
and takes a new number.

A dedicated connection, not one of the pool: a session lock on a pooled connection would
outlive its user or vanish with it; behind PgBouncer, use session pooling for it.

May import: storage, bot.outbox. No Telegram library.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox.sender import Sender
from storage.db.locks import SENDERS
from storage.work import owners

log = logging.getLogger(__name__)

EVERY = 1.0  # seconds between checks (and counts of the live senders)
TIMEOUT = 5.0  # a check not answered by then: the connection is taken as lost
LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def dsn_of(database_url: str) -> str:
    """asyncpg's own URL for SQLAlchemy's `postgresql+asyncpg://…`."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


class Fleet:
    """Built by bootstrap (bot/app.py) on PostgreSQL, started by serve(): until then the
    sender sends every row as the only process (the CLI, tests and benchmarks that drive
    a sender by hand)."""

    def __init__(self, database_url: str, sender: Sender,
                 sessions: async_sessionmaker[AsyncSession]) -> None:
        self.dsn = dsn_of(database_url)
        self.sender, self.sessions = sender, sessions
        self.holder = owners.Holder()
        self.processes = 1  # live senders at the last count
        self._connection: asyncpg.Connection | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def connected(self) -> bool:
        return self._connection is not None and self.holder.number is not None

    async def start(self) -> None:
        """The first connection and number, before anything is sent: raises what
        connecting raises (bot/app.py makes it one line). From then on every unit of
        work's rows are given owners, and the sender sends only its own."""
        await self._connect()
        self.sender.holder = self.holder
        self.sender.on_retry_after = self.retry_after
        self.sessions.kw["info"] = {owners.OWNER: self.holder}

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        try:
            while not stop.is_set():
                if self._connection is None:
                    try:
                        await self._connect()
                        backoff = 1.0
                        log.info("sender: connected again as number %s", self.holder.number)
                    except LOST as error:
                        log.warning("sender: cannot reach the database (%s); again in %.0f s",
                                    type(error).__name__, backoff)
                        await _sleep(stop, backoff)
                        backoff = min(backoff * 2, 30.0)
                        continue
                try:
                    await self._count()
                except LOST as error:
                    self._lost(error)
                    continue
                await _sleep(stop, EVERY)
        finally:
            await self.close()

    async def close(self) -> None:
        """Last: after the sender's calls are finished and marked. Its rows still pending
        go to the live processes (their lock check sees this one gone)."""
        connection, self._connection = self._connection, None
        self.holder.number = None
        if connection is not None:
            with contextlib.suppress(*LOST):
                await connection.close(timeout=TIMEOUT)

    # -- the connection -------------------------------------------------------------------
    async def _connect(self) -> None:
        connection = await asyncpg.connect(self.dsn, timeout=TIMEOUT)
        try:
            number = None
            while number is None:  # a random number nobody holds
                candidate = random.randint(1, 2**31 - 1)
                if await connection.fetchval("SELECT pg_try_advisory_lock($1, $2)",
                                             SENDERS, candidate, timeout=TIMEOUT):
                    number = candidate
            await connection.add_listener(owners.CHANNEL, self._notified)
            connection.add_termination_listener(lambda _: self._lost(None))
        except BaseException:
            connection.terminate()
            raise
        self._connection, self.holder.number = connection, number
        await self._count()
        self.sender.resume()

    async def _count(self) -> None:
        assert self._connection is not None
        count = await self._connection.fetchval(
            f"SELECT count(*) FROM ({owners.LIVE}) AS live", timeout=TIMEOUT)
        if count != self.processes:
            log.info("senders: %s processes share the bot's limits", count)
        self.processes = max(1, int(count))
        self.sender.limiter.share(self.processes, self.sender.monotonic())

    def _lost(self, error: BaseException | None) -> None:
        connection, self._connection = self._connection, None
        if self.holder.number is not None:
            log.warning("sender: lost its database connection (%s): it sends nothing "
                        "until it is back; other processes send its messages",
                        type(error).__name__ if error else "closed")
        self.holder.number = None
        self.sender.halt()
        if connection is not None and not connection.is_closed():
            connection.terminate()

    # -- what the senders tell each other ----------------------------------------------
    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith("pause "):
            left = float(payload.split()[1]) - time.time()
            if left > 0:
                self.sender.limiter.pause(self.sender.monotonic(), left)
        elif payload.startswith("reread "):  # rows changed in place by another process
            if payload != f"reread {self.holder.number}":
                self.sender.submit([], reread=True)
        elif payload == str(self.holder.number):
            self.sender.wake()  # rows given to this sender by another process

    def retry_after(self, seconds: float) -> None:
        """A 429 this process got: every process pauses as long (by wall clock)."""
        if self._connection is None:
            return
        task = asyncio.create_task(self._tell(f"pause {time.time() + seconds:.3f}"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, payload: str) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(*LOST):
            await connection.execute("SELECT pg_notify($1, $2)", owners.CHANNEL, payload,
                                     timeout=TIMEOUT)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
