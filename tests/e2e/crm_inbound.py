"""What the inbound CRM tests share: the running bot with every CRM target and every
inbound route on, its URLs, a signed generic event, and a look at what was stored."""

from __future__ import annotations

import contextlib
import json
import time
import uuid

from sqlalchemy import func, select

from bot.deliveries.crm import payload
from bot.deliveries.worker import Backoff
from storage.schema.money import CrmInbound
from storage.schema.tables import CrmDelivery, Event, Handoff, Lead, OutboxMessage
from tests.e2e.harness import eventually
from tests.e2e.test_crm import delivered, with_crm
from tests.e2e.test_handoff import hot_lead
from tests.fakes.crm import post

AMO_SECRET = "amo-hook-secret-0123456789abcdefghij"
INBOUND_SECRET = "inbound-secret-0123456789abcdefghij"


@contextlib.asynccontextmanager
async def inbound_bot(telegram, fakes, database, **extra):
    bitrix, _, _ = fakes
    async with with_crm(telegram, fakes, database, bitrix24_app_token=bitrix.app_token,
                        amocrm_hook_secret=AMO_SECRET, inbound_secret=INBOUND_SECRET,
                        **extra) as running:
        running.app.inbound.reader.backoff = Backoff(first=0.05, cap=0.2)

        async def listening() -> bool:
            return running.app.address is not None

        await eventually(listening, what="the web server to listen")
        yield running


def base(running) -> str:
    host, port = running.app.address
    return f"http://{host}:{port}"


async def a_lead(running, user_id: int) -> Lead:
    """A hot lead handed off, delivered to every CRM."""
    await hot_lead(running.prospect(user_id, "en"))
    await delivered(running)
    async with running.app.sessions() as session:
        return (await session.execute(select(Lead).where(Lead.user_id == user_id))
                ).scalar_one()


async def lead_now(running, lead_id: int) -> Lead:
    async with running.app.sessions() as session:
        return await session.get(Lead, lead_id)


async def handoff_of(running, lead_id: int) -> Handoff:
    async with running.app.sessions() as session:
        return (await session.execute(select(Handoff).where(Handoff.lead_id == lead_id))
                ).scalar_one()


async def until_status(running, lead_id: int, status: str) -> Lead:
    async def there() -> bool:
        return (await lead_now(running, lead_id)).status == status
    await eventually(there, what=f"lead {lead_id} {status}")
    return await lead_now(running, lead_id)


async def inbound_rows(running) -> list[CrmInbound]:
    async with running.app.sessions() as session:
        return list((await session.execute(select(CrmInbound).order_by(CrmInbound.id))
                     ).scalars())


async def settled_inbound(running) -> list[CrmInbound]:
    """Once no notification waits to be read back."""
    async def none_pending() -> bool:
        return all(r.result != "pending" for r in await inbound_rows(running))
    await eventually(none_pending, what="every notification read back")
    return await inbound_rows(running)


async def crm_events(running) -> list[dict]:
    async with running.app.sessions() as session:
        return [e.data for e in (await session.execute(
            select(Event).where(Event.kind == "crm_status").order_by(Event.id))).scalars()]


async def deliveries(running) -> list[tuple[str, str, dict]]:
    async with running.app.sessions() as session:
        return [(d.target, d.event, d.data) for d in (await session.execute(
            select(CrmDelivery).order_by(CrmDelivery.id))).scalars()]


async def alerts(running, chat_id: int) -> list[str]:
    async with running.app.sessions() as session:
        rows = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.purpose == "alert"))).scalars()
        return [row.payload["text"] for row in rows]


async def counts(running) -> dict[str, int]:
    """What a refused request must not have changed."""
    async with running.app.sessions() as session:
        found = {}
        for name, query in (
                ("inbound", select(func.count()).select_from(CrmInbound)),
                ("events", select(func.count()).select_from(Event)
                 .where(Event.kind == "crm_status")),
                ("deliveries", select(func.count()).select_from(CrmDelivery)),
                ("won", select(func.count()).select_from(Lead)
                 .where(Lead.status.in_(("won", "lost")))),
                ("kept", select(func.count()).select_from(Lead)
                 .where(Lead.crm_status.is_not(None)))):
            found[name] = int(await session.scalar(query) or 0)
        return found


def signed(body: dict | bytes, *, secret: str = INBOUND_SECRET, delivery: str | None = None,
           stamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A generic event as another CRM signs it: the delivery id and the timestamp in the
    body and the headers, the HMAC of the raw body."""
    delivery = delivery or uuid.uuid4().hex
    stamp = int(time.time()) if stamp is None else stamp
    if isinstance(body, dict):
        raw = json.dumps({"delivery_id": delivery, "timestamp": stamp, **body}).encode()
    else:
        raw = body
    return raw, {"Content-Type": "application/json",
                 payload.SIGNATURE_HEADER: payload.signature(secret, raw),
                 payload.DELIVERY_HEADER: delivery, payload.TIMESTAMP_HEADER: str(stamp)}


async def send_event(running, body: dict | bytes, **how) -> tuple[int, str]:
    raw, headers = signed(body, **how)
    return await post(f"{base(running)}/crm/events", body=raw, headers=headers)
