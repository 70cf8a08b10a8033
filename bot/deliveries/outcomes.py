"""What the deliveries' worker (worker.py) makes of a row: why it is not to be tried at all
(`verdict`), and how a try ended: sent, accepted, skipped (not sent, by design), failed, or
tried again later with capped back-off and, once a target has failed for
LEADBOT_CRM_ALERT_HOURS, one alert to the managers' group. `Outcomes` is the worker's base
class: each outcome is written in a unit of work of the worker's sessions, only to a row
still as this process leased it (the status and attempts it left: rows.finish), so a
process whose lease ran out never writes over another's try.

Of an answer only its status and a reason of ours are kept or logged (http.py REASONS,
CODES): nothing personal.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries.ads import conversion
from bot.deliveries.port import Delivered, Job, Target, Transient
from bot.outbox import messages
from dialogs.rules import conversions
from storage.deliveries import links
from storage.deliveries import rows as crm
from storage.deliveries.facts import LeadFacts
from storage.schema.tables import CrmDelivery, CrmLink, Event, Lead
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
ALERT = {  # a CRM's leads
    "ru": "⚠️ Лиды не доходят до {target} уже {hours} ч (последний ответ: {reason}). "
          "Бот пробует снова; проверьте настройки CRM.",
    "uk": "⚠️ Ліди не доходять до {target} вже {hours} год (остання відповідь: {reason}). "
          "Бот пробує знову; перевірте налаштування CRM.",
    "en": "⚠️ Leads have not reached {target} for {hours} h (last answer: {reason}). "
          "The bot keeps trying; check the CRM settings.",
}
ALERT_CONVERSIONS = {  # an ad platform's conversions
    "ru": "⚠️ Конверсии не доходят до {target} уже {hours} ч (последний ответ: {reason}). "
          "Бот пробует снова; проверьте настройки конверсий.",
    "uk": "⚠️ Конверсії не доходять до {target} вже {hours} год (остання відповідь: "
          "{reason}). Бот пробує знову; перевірте налаштування конверсій.",
    "en": "⚠️ Conversions have not reached {target} for {hours} h (last answer: {reason}). "
          "The bot keeps trying; check the conversions settings.",
}
NAMES = {"webhook": "the webhook", "bitrix24": "Bitrix24", "amocrm": "amoCRM",
         **conversions.NAMES}
UNKNOWN = (None, "timeout")  # a last try's error that leaves its outcome unknown


@dataclass(frozen=True)
class Backoff:
    first: float = 2.0  # seconds after the first failure, doubled each time
    cap: float = 300.0  # never more than this apart

    def delay(self, attempts: int) -> float:
        return min(self.cap, self.first * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1)

    def after(self, waited: float) -> float:
        """An upload's next check: as long again as it has waited (so checks double
        apart), between `first` and `cap`."""
        return min(self.cap, max(self.first, waited))


@dataclass
class Counters:
    """Rows by how they ended in this process (`retried`: tries to be made again)."""

    sent: int = 0
    accepted: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    alerts: int = 0
    uploads: int = 0  # deliver_many calls that the platform took
    checks: int = 0  # uploads read back
    by_target: dict[str, int] = field(default_factory=dict)  # rows sent or accepted
    reasons: dict[str, int] = field(default_factory=dict)  # skipped and failed, by reason


async def verdict(uow: UnitOfWork, target: Target, row: CrmDelivery, facts: LeadFacts | None,
                  now: datetime) -> tuple[str, str] | None:
    """Why a row just leased (`row` as read before the lease) is not to be tried: (status,
    reason), or None to try it. A `repeat = "never"` target's row whose last try may have
    arrived fails `ambiguous`; an ad platform's row is skipped without the lead's consent,
    as a repeat of a conversion already counted, or past the platform's age limit."""
    if facts is None:
        return "failed", "the lead is gone"
    if target.repeat == "never" and row.attempts > 0 and row.error in UNKNOWN:
        return "failed", "ambiguous"
    if target.goals:
        if facts.lead.get("erased_at"):
            return "skipped", "erased"
        if not conversion.consented(facts):
            return "skipped", "no_consent"
        if await crm.duplicate(uow, row):
            return "skipped", "duplicate"
        if target.max_age is not None and row.created_at < now - target.max_age:
            return "skipped", "too_old"
    return None


def job(row: CrmDelivery, facts: LeadFacts, known: CrmLink | None, now: datetime) -> Job:
    return Job(key=row.key, event=row.event, data=dict(row.data or {}), facts=facts,
               remote_id=known.remote_id if known else None,
               contact_id=known.contact_id if known else None,
               retried=row.attempts > 0, now=now, created_at=row.created_at)


class Outcomes:
    """The worker's writing side (worker.py Worker, batch.py Batches)."""

    sessions: async_sessionmaker[AsyncSession]
    targets: dict[str, Target]
    counters: Counters
    clock: Callable[[], datetime]
    backoff: Backoff
    alert_after: timedelta
    managers_chat_id: int | None
    language: str
    on_outbox: Callable[[], None]
    _alerting: asyncio.Lock

    def _count(self, row: CrmDelivery, status: str, reason: str = "") -> None:
        setattr(self.counters, status, getattr(self.counters, status) + 1)
        if status in ("sent", "accepted"):
            self.counters.by_target[row.target] = self.counters.by_target.get(row.target,
                                                                              0) + 1
        if reason:
            self.counters.reasons[reason] = self.counters.reasons.get(reason, 0) + 1

    async def _settle(self, uow: UnitOfWork, row: CrmDelivery, status: str, reason: str,
                      tried: bool = True) -> bool:
        """Ends a row this process leased (failed or skipped), in the caller's transaction;
        not `tried`: no try was made, its attempts stay as they were. Whether written."""
        values: dict[str, object] = {"status": status, "error": reason[:120]}
        if not tried:
            values["attempts"] = row.attempts
        written = await crm.finish(uow, row.id or 0, status_was="pending",
                                   attempts_was=row.attempts + 1, **values)
        if written and status == "failed":
            uow.stage(Event, user_id=await user_of(uow, row.lead_id), kind="crm_failed",
                      data={"target": row.target, "lead": row.lead_id, "event": row.event,
                            "reason": reason[:120]}, created_at=self.clock())
            if tried:
                log.warning("deliveries: %s refused lead %s (%s): %s; not retried",
                            row.target, row.lead_id, row.event, reason)
            else:
                log.warning("deliveries: %s, lead %s (%s): failed, %s; not tried",
                            row.target, row.lead_id, row.event, reason)
        elif written:
            log.info("deliveries: %s, lead %s (%s): skipped, %s", row.target, row.lead_id,
                     row.event, reason)
        return written

    async def _sent(self, row: CrmDelivery, result: Delivered) -> None:
        now = self.clock()
        status = "accepted" if result.accepted else "sent"
        async with UnitOfWork(self.sessions) as uow:
            if result.remote_id is not None and not self.targets[row.target].goals:
                await links.remember(uow, row.lead_id, row.target, result.remote_id,
                                     result.contact_id, now)
            written = await crm.finish(uow, row.id or 0, status_was="pending",
                                       attempts_was=row.attempts + 1, status=status,
                                       sent_at=now, error=None)
            await uow.commit()
        if written:
            self._count(row, status)

    async def _failed(self, rows: Sequence[CrmDelivery], reason: str) -> None:
        async with UnitOfWork(self.sessions) as uow:
            ended = [row for row in rows if await self._settle(uow, row, "failed", reason)]
            await uow.commit()
        for row in ended:
            self._count(row, "failed", reason)

    async def _skipped(self, rows: Sequence[CrmDelivery], reason: str) -> None:
        async with UnitOfWork(self.sessions) as uow:
            ended = [row for row in rows
                     if await self._settle(uow, row, "skipped", reason, tried=False)]
            await uow.commit()
        for row in ended:
            self._count(row, "skipped", reason)

    async def _retry(self, rows: Sequence[CrmDelivery], error: Transient) -> None:
        """Rows tried once more (each `row` as read before its try) go back to wait: all
        for one delay, so a batch stays together. A try of a `repeat = "never"` target
        that may have arrived (a timeout, a connection lost: `unknown`): failed
        `ambiguous`, never sent again."""
        if not rows:
            return
        target = self.targets[rows[0].target]
        if target.repeat == "never" and error.unknown:
            await self._failed(rows, "ambiguous")
            return
        now = self.clock()
        attempts = max(row.attempts for row in rows) + 1
        delay = error.after if error.after is not None else self.backoff.delay(attempts)
        reason = error.reason[:120]
        told = False
        async with self._alerting, UnitOfWork(self.sessions) as uow:  # one alert at a time
            for row in rows:
                values: dict[str, object] = {"not_before": now + timedelta(seconds=delay),
                                             "error": reason}
                if now - row.created_at >= self.alert_after and not row.alerted:
                    values["alerted"] = True
                    if not told and not await crm.alerted(uow, row.target):
                        told = self._alert(uow, row, error.reason)
                if not await crm.finish(uow, row.id or 0, status_was="pending",
                                        attempts_was=row.attempts + 1, **values):
                    continue
                self.counters.retried += 1
                if error.odd and row.error != reason:  # once per row and reason
                    uow.stage(Event, user_id=await user_of(uow, row.lead_id),
                              kind="crm_failed",
                              data={"target": row.target, "lead": row.lead_id,
                                    "event": row.event, "reason": reason, "retrying": True},
                              created_at=now)
            await uow.commit()
        if told:
            self.on_outbox()
        what = f"lead {rows[0].lead_id}" if len(rows) == 1 else f"{len(rows)} rows"
        log.log(logging.WARNING if error.odd else logging.INFO,
                "deliveries: %s, %s: %s; again in %.0f s", target.name, what, error.reason,
                delay)

    def _alert(self, uow: UnitOfWork, row: CrmDelivery, reason: str) -> bool:
        """Tells the managers' group, once per outage of a target, naming it and what does
        not reach it (a CRM's leads, an ad platform's conversions)."""
        log.warning("deliveries: %s has not accepted lead %s for %s", row.target, row.lead_id,
                    self.alert_after)
        if self.managers_chat_id is None:
            return False
        hours = f"{self.alert_after.total_seconds() / 3600:g}"
        texts = ALERT_CONVERSIONS if self.targets[row.target].goals else ALERT
        text = texts.get(self.language, texts["en"]).format(
            target=NAMES.get(row.target, row.target), hours=hours, reason=reason)
        messages.send(uow, self.managers_chat_id, text)
        self.counters.alerts += 1
        return True


async def user_of(uow: UnitOfWork, lead_id: int) -> int:
    lead = await uow.session.get(Lead, lead_id)
    return lead.user_id if lead is not None else 0
