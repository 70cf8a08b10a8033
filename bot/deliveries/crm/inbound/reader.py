"""Reads a CRM's record back after its notification was stored (storage/deliveries/sales.py
`notify`): Bitrix24's lead or deal (`crm.lead.get`, `crm.deal.get`) and amoCRM's lead
(`GET /api/v4/leads/{id}`), through the same clients, throttles and answer checks as the
deliveries (bot/deliveries/http.py), then applies what it says (apply.py).

A CRM that is down, slow or answers what the bot cannot read: the notification stays and
is read again with capped back-off (2 s doubling to 5 minutes), for as long as it takes;
one the CRM refuses (a deleted record: 400 / 404) ends as `failed`. Each read leases its
row (of several processes one reads it; after a crash it is read again). The record is
mapped to leadbot's lead by the CRM link (crm_links), else by what leadbot wrote into it:
Bitrix24's ORIGINATOR_ID "leadbot" + ORIGIN_ID, a deal's LEAD_ID, amoCRM's `[leadbot-ID]`.

Bitrix24 in its classic mode converts a lead into a deal: the lead's status becomes
CONVERTED (semantic S), which means qualified, not sold; the sale is the deal's S. So a
lead's S is a sale only when no deal was made from it (`crm.deal.list` by LEAD_ID: a portal
without deals, or a lead closed as won by itself); with a deal it is kept quietly as the
CRM's word. A stage still in process (Bitrix24's P, amoCRM's not 142 / 143) is never
alerted (dialogs.rules.sales `in_process`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries.crm.amocrm import AmoCrmTarget
from bot.deliveries.crm.bitrix24 import ORIGINATOR, Bitrix24Target
from bot.deliveries.crm.inbound.apply import Context, apply
from bot.deliveries.port import Permanent, Transient
from bot.deliveries.worker import Backoff, nap
from bot.jobs.periodic import OUTAGES
from dialogs.rules.sales import Said, amocrm_final, amount_of, bitrix24_final, stage_status
from storage.deliveries import links, sales
from storage.schema.money import CrmInbound
from storage.schema.tables import Lead, utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
_MARK = re.compile(r"\[leadbot-(\d{1,18})\]")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _amount(value: Any) -> int | None:
    try:
        return amount_of(value)
    except ValueError:
        return None


def state_key(notice_key: str, *parts: Any) -> str:
    """A read-back's key: the record and a digest of its state (a repeat is one row)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]
    return f"{notice_key}:{digest}"[:64]


class Reader:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], context: Context, *,
                 bitrix24: Bitrix24Target | None = None, amocrm: AmoCrmTarget | None = None,
                 on_outbox: Callable[[], None] = lambda: None,
                 on_commit: Callable[[], None] = lambda: None,
                 backoff: Backoff | None = None, lease: timedelta = timedelta(seconds=30),
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions, self.context, self.clock = sessions, context, clock
        self.bitrix24, self.amocrm = bitrix24, amocrm
        self.on_outbox, self.on_commit = on_outbox, on_commit
        self.backoff, self.lease = backoff or Backoff(), lease
        self._wake = asyncio.Event()
        self.read_count = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            delay = 5.0
            try:
                delay = await self.pass_once()
            except OUTAGES as error:
                log.warning("crm inbound: the database is away (%s)", type(error).__name__)
            except Exception:
                log.exception("crm inbound: a pass failed")
            await nap(self._wake, stop, delay)

    async def pass_once(self) -> float:
        """Reads every due notification back, one at a time (the CRM's throttle paces
        them); returns how long to wait for the next."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            rows = await sales.due(uow, now)
        for row in rows:
            await self.read(row)
        return 0.0 if len(rows) == 50 else 5.0

    async def read(self, row: CrmInbound) -> None:
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            if not await sales.take(uow, row, now + self.lease):
                return
            await uow.commit()
        try:
            try:
                record = await self.fetch(row.target, row.key)
            except (Transient, Permanent, *OUTAGES):
                raise
            except Exception as error:  # an answer of a shape no client foresaw
                raise Transient(f"bad_answer ({type(error).__name__})", odd=True) from None
        except Transient as error:
            wait = error.after if error.after is not None else self.backoff.delay(
                row.attempts + 1)
            log.warning("crm inbound: reading %s %s back: %s; again in %.0f s", row.target,
                        row.key.split(":")[0], error.reason, wait)
            async with UnitOfWork(self.sessions) as uow:
                await sales.later(uow, row.id or 0, self.clock() + timedelta(seconds=wait))
                await uow.commit()
            return
        except Permanent as error:
            log.warning("crm inbound: %s refused the read-back of its %s (%s)", row.target,
                        row.key.split(":")[0], error.reason)
            async with UnitOfWork(self.sessions) as uow:
                await sales.later(uow, row.id or 0, now, failed=True)
                await uow.commit()
            return
        async with UnitOfWork(self.sessions) as uow:
            lead_id, said, key = await self.understand(uow, row, record)
            outcome = await apply(uow, self.context, row.target, key, lead_id, said,
                                  self.clock())
            await sales.read(uow, row)
            await uow.commit()
        self.read_count += 1
        self.on_commit()  # delivery rows for the other CRMs
        if outcome.alert_chat is not None:
            self.on_outbox()

    async def fetch(self, target: str, key: str) -> dict[str, Any]:
        entity, _, record = key.partition(":")
        if target == "bitrix24" and self.bitrix24 is not None:
            found = await self.bitrix24.method(f"crm.{entity}.get", {"id": record})
            if entity == "lead" and isinstance(found, dict) \
                    and found.get("STATUS_SEMANTIC_ID") == "S":
                found = dict(found, _DEALS=await self._deals(record))
            if entity == "deal" and isinstance(found, dict):
                found = dict(found)
                origin_lead = _text(found.get("LEAD_ID"))
                if found.get("ORIGINATOR_ID") != ORIGINATOR and origin_lead.isdigit():
                    lead = await self.bitrix24.method("crm.lead.get", {"id": origin_lead})
                    found["_LEAD"] = lead if isinstance(lead, dict) else {}
        elif target == "amocrm" and self.amocrm is not None:
            found = await self.amocrm.request("GET", f"/api/v4/leads/{record}")
        else:
            raise Permanent("not configured")
        if not isinstance(found, dict):
            raise Transient("bad_answer", odd=True)
        return found

    async def _deals(self, lead: str) -> bool:
        """Whether a deal was made from Bitrix24's lead `lead` (converted)."""
        assert self.bitrix24 is not None
        found = await self.bitrix24.method("crm.deal.list", {
            "filter": {"LEAD_ID": lead}, "select": ["ID"]})
        if not isinstance(found, list):
            raise Transient("bad_answer", odd=True)
        return bool(found)

    async def understand(self, uow: UnitOfWork, row: CrmInbound,
                         record: dict[str, Any]) -> tuple[int | None, Said, str]:
        """leadbot's lead, what the record says in leadbot's words, and the state's key."""
        entity, _, remote = row.key.partition(":")
        if row.target == "bitrix24":
            lead_id = await self._bitrix_lead(uow, entity, remote, record)
            current = await self._status(uow, lead_id)
            prefix = "STAGE" if entity == "deal" else "STATUS"
            semantic, stage = record.get(f"{prefix}_SEMANTIC_ID"), _text(
                record.get(f"{prefix}_ID"))
            mapping = self.bitrix24.mapping if self.bitrix24 is not None else None
            statuses = dict(mapping.statuses) if mapping and entity == "lead" else {}
            own = {"NEW", *(mapping.stages.values() if mapping else ())}
            final = bitrix24_final(semantic)
            converted = entity == "lead" and final == "won" and record.get("_DEALS") is True
            status = None if converted else stage_status(
                final, stage, current, statuses, own if entity == "lead" else ())
            currency = _text(record.get("CURRENCY_ID")) or (
                mapping.currency if mapping else None)
            amount = _amount(record.get("OPPORTUNITY"))
            said = Said(status, stage or "?", amount, currency or None,
                        in_process=final is None or converted)
            return lead_id, said, state_key(row.key, semantic, stage, amount, currency,
                                            converted)
        lead_id = await links.lead_of(uow, "amocrm", remote)
        mark = _MARK.search(_text(record.get("name")))
        if lead_id is None and mark:
            lead_id = int(mark.group(1))
        current = await self._status(uow, lead_id)
        status_id = record.get("status_id")
        mapping = self.amocrm.mapping if self.amocrm is not None else None
        statuses = {k: v.status_id for k, v in mapping.statuses.items()} if mapping else {}
        own = {stage.status_id for stage in mapping.stages.values()} if mapping else set()
        status = stage_status(amocrm_final(status_id), status_id, current, statuses, own)
        amount = _amount(record.get("price"))
        said = Said(status, _text(status_id) or "?", amount, None,
                    in_process=amocrm_final(status_id) is None)
        return lead_id, said, state_key(row.key, status_id, amount)

    async def _bitrix_lead(self, uow: UnitOfWork, entity: str, remote: str,
                           record: dict[str, Any]) -> int | None:
        def origin(fields: dict[str, Any]) -> int | None:
            text = _text(fields.get("ORIGIN_ID"))
            ours = fields.get("ORIGINATOR_ID") == ORIGINATOR
            return int(text) if ours and text.isdigit() and len(text) < 19 else None

        if entity == "lead":
            return await links.lead_of(uow, "bitrix24", remote) or origin(record)
        if (found := origin(record)) is not None:
            return found
        lead = _text(record.get("LEAD_ID"))
        if lead.isdigit() and (linked := await links.lead_of(uow, "bitrix24", lead)):
            return linked
        return origin(record.get("_LEAD") or {})

    @staticmethod
    async def _status(uow: UnitOfWork, lead_id: int | None) -> str:
        lead = await uow.session.get(Lead, lead_id) if lead_id is not None else None
        return lead.status if lead is not None else "open"
