"""The CRM worker: delivers storage/deliveries/rows.py's rows after the lead's transaction
committed.

Per target and lead, events go one at a time in the order written. A try is counted (and
committed) before it is made, so a try that may have arrived (a timeout after sending, a
kill -9 mid-call) is known: the target then looks the lead up before creating it, and a CRM
never gets one lead twice. Timeouts, 429, 503 and 5xx are tried again with capped,
jittered backoff (or after the Retry-After asked for); so is an answer the bot cannot read
(a redirect, not UTF-8, not JSON, JSON of another shape: whatever the client raised), with
a `crm_failed` event (`retrying: true`) and a warning. Any other refusal ends the row as
failed, with a `crm_failed` event and a log line. Of an answer only its status and a reason
of ours are kept or logged (bot/deliveries/http.py REASONS, CODES): nothing personal. A target
that has not accepted a row for LEADBOT_CRM_ALERT_HOURS is reported once to the managers'
group, and retried all the same.

The database being away pauses the worker, never ends it (bot/jobs/periodic.py OUTAGES).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries.http import unreadable
from bot.deliveries.port import Delivered, Job, Permanent, Target, Transient
from bot.jobs.periodic import OUTAGES
from bot.outbox import messages
from storage.deliveries import links
from storage.deliveries import rows as crm
from storage.deliveries.facts import facts as lead_facts
from storage.schema.tables import CrmDelivery, Event, Lead, utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
IN_FLIGHT = 8  # rows per target at once; the target's throttle paces the requests
ALERT = {
    "ru": "⚠️ Лиды не доходят до {target} уже {hours} ч (последний ответ: {reason}). "
          "Бот пробует снова; проверьте настройки CRM.",
    "uk": "⚠️ Ліди не доходять до {target} вже {hours} год (остання відповідь: {reason}). "
          "Бот пробує знову; перевірте налаштування CRM.",
    "en": "⚠️ Leads have not reached {target} for {hours} h (last answer: {reason}). "
          "The bot keeps trying; check the CRM settings.",
}
NAMES = {"webhook": "the webhook", "bitrix24": "Bitrix24", "amocrm": "amoCRM"}


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


@dataclass(frozen=True)
class Backoff:
    first: float = 2.0  # seconds after the first failure, doubled each time
    cap: float = 300.0  # never more than this apart

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.first * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1)


@dataclass
class Counters:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    alerts: int = 0
    by_target: dict[str, int] = field(default_factory=dict)


class Worker:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], targets: list[Target], *,
                 managers_chat_id: int | None = None, language: str = "ru",
                 alert_after: timedelta = timedelta(hours=2), backoff: Backoff | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 on_outbox: Callable[[], None] = lambda: None,
                 lease: timedelta = timedelta(seconds=30)) -> None:
        self.sessions, self.clock, self.on_outbox = sessions, clock, on_outbox
        self.targets = {t.name: t for t in targets}
        self.managers_chat_id, self.language = managers_chat_id, language
        self.alert_after, self.backoff = alert_after, backoff or Backoff()
        self.lease = lease  # a row in hand is not due again for this long (a crash: retried)
        self.counters = Counters()
        self._wake = asyncio.Event()
        self._in_flight: dict[str, set[int]] = {name: set() for name in self.targets}
        self._tasks: set[asyncio.Task[None]] = set()
        self._alerting = asyncio.Lock()

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
                log.warning("crm: the database is away (%s); again in %.0f s",
                            type(error).__name__, backoff)
                delay, backoff = backoff, min(backoff * 2, 30.0)
            except Exception:
                log.exception("crm: a pass failed; again in %.0f s", backoff)
                delay, backoff = backoff, min(backoff * 2, 30.0)
            await nap(self._wake, stop, delay)
        if self._tasks:  # the calls in hand finish (or time out) before the process ends
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, timeout: float = 60.0) -> Counters:
        """Deliver until nothing is due (tests, `leadbot crm test`, the benchmark)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            delay = await self.pass_once()
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
                continue
            async with UnitOfWork(self.sessions) as uow:
                if await crm.pending_count(uow) == 0:
                    return self.counters
            await asyncio.sleep(min(delay, 0.05))
        raise TimeoutError(f"CRM deliveries not drained within {timeout} s")

    async def pass_once(self) -> float:
        """Starts every due row whose target has room; returns how long to wait."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            rows = await crm.due(uow, now)
            next_due = await crm.next_due(uow)
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
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return max(0.0, min(waits))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # room for the next row of that target
        if not task.cancelled() and task.exception() is not None:
            log.error("crm: a delivery failed unexpectedly",
                      exc_info=task.exception())

    async def _deliver(self, row: CrmDelivery) -> None:
        target = self.targets[row.target]
        try:
            async with UnitOfWork(self.sessions) as uow:
                before = await crm.attempt(uow, row.id or 0, self.clock(), self.lease)
                if before is None:  # taken, sent or failed by another process meanwhile
                    return
                facts = await lead_facts(uow, row.lead_id)
                known = await links.link(uow, row.lead_id, row.target)
                await uow.commit()  # the try is on record before it is made
            if facts is None:
                await self._failed(row, "the lead is gone")
                return
            job = Job(key=row.key, event=row.event, data=dict(row.data or {}), facts=facts,
                      remote_id=known.remote_id if known else None,
                      contact_id=known.contact_id if known else None,
                      retried=before > 0, now=self.clock())
            try:
                result = await target.deliver(job)
            except Transient as error:
                await self._retry(row, before + 1, error)
                return
            except Permanent as error:
                await self._failed(row, error.reason)
                return
            except OUTAGES:
                raise
            except Exception as error:  # an answer of a shape no client foresaw: its words
                log.warning("crm: %s, lead %s: an answer the bot could not read (%s)",
                            row.target, row.lead_id, type(error).__name__)  # are not logged
                await self._retry(row, before + 1, unreadable(None, "bad_answer"))
                return
            await self._sent(row, result)
        except OUTAGES as error:  # the row stays pending; the next pass tries again
            log.warning("crm: row %s waits, the database is away (%s)", row.id,
                        type(error).__name__)
        finally:
            self._in_flight[row.target].discard(row.lead_id)

    async def _sent(self, row: CrmDelivery, result: Delivered) -> None:
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            if result.remote_id is not None:
                await links.remember(uow, row.lead_id, row.target, result.remote_id,
                                     result.contact_id, now)
            await crm.finish(uow, row.id or 0, status="sent", sent_at=now, error=None)
            await uow.commit()
        self.counters.sent += 1
        self.counters.by_target[row.target] = self.counters.by_target.get(row.target, 0) + 1

    async def _retry(self, row: CrmDelivery, attempts: int, error: Transient) -> None:
        now = self.clock()
        delay = error.after if error.after is not None else self.backoff.delay(attempts)
        self.counters.retried += 1
        told = False
        async with self._alerting, UnitOfWork(self.sessions) as uow:  # one alert at a time
            values: dict[str, object] = {"not_before": now + timedelta(seconds=delay),
                                         "error": error.reason[:120]}
            if now - row.created_at >= self.alert_after and not row.alerted:
                values["alerted"] = True
                if not await crm.alerted(uow, row.target):
                    told = self._alert(uow, row, error.reason)
            await crm.finish(uow, row.id or 0, **values)
            if error.odd and row.error != values["error"]:  # once per row and reason
                uow.stage(Event, user_id=await _user_of(uow, row.lead_id), kind="crm_failed",
                          data={"target": row.target, "lead": row.lead_id, "event": row.event,
                                "reason": values["error"], "retrying": True}, created_at=now)
            await uow.commit()
        if told:
            self.on_outbox()
        log.log(logging.WARNING if error.odd else logging.INFO,
                "crm: %s, lead %s: %s; again in %.0f s", row.target, row.lead_id,
                error.reason, delay)

    def _alert(self, uow: UnitOfWork, row: CrmDelivery, reason: str) -> bool:
        """Tells the managers' group, once per outage of a target."""
        log.warning("crm: %s has not accepted lead %s for %s", row.target, row.lead_id,
                    self.alert_after)
        if self.managers_chat_id is None:
            return False
        hours = f"{self.alert_after.total_seconds() / 3600:g}"
        text = ALERT.get(self.language, ALERT["en"]).format(
            target=NAMES.get(row.target, row.target), hours=hours, reason=reason)
        messages.send(uow, self.managers_chat_id, text)
        self.counters.alerts += 1
        return True

    async def _failed(self, row: CrmDelivery, reason: str) -> None:
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            await crm.finish(uow, row.id or 0, status="failed", error=reason[:120])
            uow.stage(Event, user_id=await _user_of(uow, row.lead_id), kind="crm_failed",
                      data={"target": row.target, "lead": row.lead_id, "event": row.event,
                            "reason": reason[:120]}, created_at=now)
            await uow.commit()
        self.counters.failed += 1
        log.warning("crm: %s refused lead %s (%s): %s; not retried", row.target,
                    row.lead_id, row.event, reason)


async def _user_of(uow: UnitOfWork, lead_id: int) -> int:
    lead = await uow.session.get(Lead, lead_id)
    return lead.user_id if lead is not None else 0
