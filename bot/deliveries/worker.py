"""The deliveries' worker: delivers storage/deliveries/rows.py's rows after the lead's
transaction committed, to every configured target, the CRMs (leadbot's events) and the ad
platforms (conversions) alike: a target states what it needs (port.py: `goals`, `batch`,
`max_age`, `repeat`); the worker never branches on a target's name.

Per CRM and lead, events go one at a time in the order written; an ad platform's rows each
stand alone. A try is counted (and committed) before it is made, so a try that may have
arrived (a timeout after sending, a kill -9 mid-call) is known: a CRM then looks the lead up
before creating it, a platform that dedupes gets the same key again, and the row of a
`repeat = "never"` target (GA4) ends `failed` `ambiguous` instead of going twice. Before an
ad platform's row goes it is `skipped`, the reason in `error`, when the lead has no
processing consent (`no_consent`) or was erased (`erased`), when an earlier row counts the
same conversion (`duplicate`), when it is older than the platform takes (`too_old`), or
when the target cannot send it (its `Skip`, e.g. `no_click`); outcomes.py `verdict`. A
delivery the platform confirmed at once (Meta's count) is `accepted`. A batch target's
rows go in uploads that are read back later (batch.py).

Timeouts, 429, 503 and 5xx are tried again with capped, jittered backoff (or after the
Retry-After asked for); so is an answer the bot cannot read (a redirect, not UTF-8, not JSON,
JSON of another shape: whatever the client raised), with a `crm_failed` event (`retrying:
true`) and a warning. Any other refusal ends the row as failed, with a `crm_failed` event and
a log line. Of an answer only its status and a reason of ours are kept or logged
(bot/deliveries/http.py REASONS, CODES): nothing personal. A target that has not accepted a
row for LEADBOT_CRM_ALERT_HOURS is reported once to the managers' group, by its name, and
retried all the same (outcomes.py).

Several processes may run the worker on one PostgreSQL: a row is leased before it is tried
(rows.take: an UPDATE that requires it still pending, due and tried no more since it was
read), so one process tries it; batch.py's uploads and checks lease their rows alike, and
every outcome is written only to a row still as its lease left it. Only this worker (with
its base classes in outcomes.py and batch.py) opens units of work in bot/deliveries.

The database being away pauses the worker, never ends it (bot/jobs/periodic.py OUTAGES).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries.batch import Batches
from bot.deliveries.http import unreadable
from bot.deliveries.outcomes import Backoff, Counters, job, verdict
from bot.deliveries.port import Permanent, Skip, Target, Transient
from bot.jobs.periodic import OUTAGES
from storage.deliveries import links
from storage.deliveries import rows as crm
from storage.deliveries.facts import facts as lead_facts
from storage.schema.tables import CrmDelivery, utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
IN_FLIGHT = 8  # rows per target at once; the target's throttle paces the requests
__all__ = ["IN_FLIGHT", "Backoff", "Counters", "Worker", "nap"]


async def nap(wake: asyncio.Event, stop: asyncio.Event, delay: float) -> None:
    """Sleeps `delay` seconds, or less: until `wake` is set (a commit wrote rows) or `stop`
    (the process ends); `wake` is cleared first, so the wait is for news after the pass
    just done (news during it waits at most `delay`). The CRM deliveries' worker and the
    inbound reader wait alike."""
    wake.clear()
    waiting = asyncio.create_task(wake.wait())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({waiting, stopping}, timeout=delay,
                       return_when=asyncio.FIRST_COMPLETED)
    for task in (waiting, stopping):
        task.cancel()


class Worker(Batches):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], targets: list[Target], *,
                 managers_chat_id: int | None = None, language: str = "ru",
                 alert_after: timedelta = timedelta(hours=2), backoff: Backoff | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 on_outbox: Callable[[], None] = lambda: None,
                 lease: timedelta = timedelta(seconds=30), checks: Backoff | None = None,
                 check_for: timedelta = timedelta(days=3)) -> None:
        self.sessions, self.clock, self.on_outbox = sessions, clock, on_outbox
        self.targets = {t.name: t for t in targets}
        self.managers_chat_id, self.language = managers_chat_id, language
        self.alert_after, self.backoff = alert_after, backoff or Backoff()
        self.lease = lease  # a row in hand is not due again for this long (a crash: retried)
        # an upload's first check, and the most between two; how long one is read back
        self.checks, self.check_for = checks or Backoff(first=60.0, cap=3600.0), check_for
        self.counters = Counters()
        self._wake = asyncio.Event()
        self._in_flight: dict[str, set[int]] = {name: set() for name in self.targets}
        self._batching: set[tuple[str, str]] = set()  # (target, "upload" | "check") going
        self._tasks: set[asyncio.Task[None]] = set()
        self._alerting = asyncio.Lock()
        # ad platforms' rows are not held behind the lead's earlier rows; batch targets'
        # rows go in uploads (batch.py), not one by one
        self._unordered = tuple(t.name for t in targets if t.goals)
        self._batched = tuple(t.name for t in targets
                              if t.batch > 1 and hasattr(t, "deliver_many"))

    def wake(self) -> None:
        """Called after a commit that may have written delivery rows."""
        self._wake.set()

    async def close(self) -> None:
        for target in self.targets.values():
            await target.close()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                delay = await self.pass_once()
                backoff = 1.0
            except OUTAGES as error:
                log.warning("deliveries: the database is away (%s); again in %.0f s",
                            type(error).__name__, backoff)
                delay, backoff = backoff, min(backoff * 2, 30.0)
            except Exception:
                log.exception("deliveries: a pass failed; again in %.0f s", backoff)
                delay, backoff = backoff, min(backoff * 2, 30.0)
            await nap(self._wake, stop, delay)
        if self._tasks:  # the calls in hand finish (or time out) before the process ends
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, timeout: float = 60.0, checks: bool = False) -> Counters:
        """Deliver until nothing is pending (tests, `leadbot crm test`, the benchmark);
        `checks`: also until every upload sent is read back (or no longer checked)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            delay = await self.pass_once()
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                continue
            async with UnitOfWork(self.sessions) as uow:
                left = await crm.pending_count(uow)
                if checks:
                    left += await crm.awaiting_count(uow, self._batched,
                                                     self.clock() - self.check_for)
            if left == 0:
                return self.counters
            await asyncio.sleep(min(delay, 0.05))
        raise TimeoutError(f"deliveries not drained within {timeout} s")

    async def pass_once(self) -> float:
        """Starts every due row whose target has room, and each batch target's due upload
        and checks; returns how long to wait."""
        now = self.clock()
        since = now - self.check_for
        async with UnitOfWork(self.sessions) as uow:
            rows = await crm.due(uow, now, unordered=self._unordered, but=self._batched)
            work = await crm.batch_work(uow, self._batched, now, since)
            next_due = await crm.next_due(uow, self._batched, since)
        waits = [5.0]
        if next_due is not None and next_due > now:
            waits.append((next_due - now).total_seconds())
        for row in rows:
            busy = self._in_flight.get(row.target)
            if busy is None:  # a target no longer configured: its rows wait
                continue
            if row.lead_id in busy or len(busy) >= IN_FLIGHT:
                continue
            busy.add(row.lead_id)
            self._start(self._deliver(row))
        for name, kind in sorted(work - self._batching):
            self._batching.add((name, kind))
            self._start(self._batch(name, kind))
        return max(0.0, min(waits))

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # room for the next row of that target
        if not task.cancelled() and task.exception() is not None:
            log.error("deliveries: a delivery failed unexpectedly",
                      exc_info=task.exception())

    async def _batch(self, name: str, kind: str) -> None:
        try:
            if kind == "upload":
                await self._upload(self.targets[name])
            else:
                await self._check(self.targets[name])
        except OUTAGES as error:  # the rows' lease runs out; the next pass tries again
            log.warning("deliveries: %s's %s waits, the database is away (%s)", name, kind,
                        type(error).__name__)
        finally:
            self._batching.discard((name, kind))

    async def _deliver(self, row: CrmDelivery) -> None:
        target = self.targets[row.target]
        try:
            now = self.clock()
            async with UnitOfWork(self.sessions) as uow:
                if not await crm.take(uow, row, now, self.lease,
                                      clear=target.repeat == "never"):
                    return  # taken, sent or ended by another process meanwhile
                facts = await lead_facts(uow, row.lead_id)
                why = await verdict(uow, target, row, facts, now)
                ended = why is not None and await self._settle(uow, row, *why, tried=False)
                known = None if target.goals else await links.link(uow, row.lead_id,
                                                                   row.target)
                await uow.commit()  # the try is on record before it is made
            if why is not None:
                if ended:
                    self._count(row, *why)
                return
            assert facts is not None
            try:
                result = await target.deliver(job(row, facts, known, self.clock()))
            except Transient as error:
                await self._retry([row], error)
                return
            except Permanent as error:
                await self._failed([row], error.reason)
                return
            except Skip as error:
                await self._skipped([row], error.reason)
                return
            except OUTAGES:
                raise
            except Exception as error:  # an answer of a shape no client foresaw: its words
                log.warning("deliveries: %s, lead %s: an answer the bot could not read (%s)",
                            row.target, row.lead_id, type(error).__name__)  # are not logged
                await self._retry([row], unreadable(None, "bad_answer"))
                return
            await self._sent(row, result)
        except OUTAGES as error:  # the row stays pending; the next pass tries again
            log.warning("deliveries: row %s waits, the database is away (%s)", row.id,
                        type(error).__name__)
        finally:
            self._in_flight[row.target].discard(row.lead_id)
