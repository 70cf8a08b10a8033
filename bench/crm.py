"""How fast a lead reaches the CRM. Prints figures; asserts nothing.

    .venv/bin/python bench/crm.py [--leads N] [--rate R]

N hot leads (default 60) are committed one after another, R per second (default 1.5:
within Bitrix24's 2 requests a second, so the figure is the path's, not a queue behind the
limit), each with its delivery rows for Bitrix24, amoCRM and the webhook, as the service
writes them. Measured for each lead and target: from the commit to the CRM's record being
made at the fake server (tests/fakes/crm.py, aiohttp on 127.0.0.1, keeping each CRM's
rate limit), through the real worker and clients with their real limits. A SQLite file,
as `make run` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fresh_sqlite  # noqa: E402
from bot.deliveries.crm.amocrm import AmoCrmTarget  # noqa: E402
from bot.deliveries.crm.bitrix24 import Bitrix24Target  # noqa: E402
from bot.deliveries.crm.webhook import WebhookTarget  # noqa: E402
from bot.deliveries.http import CrmLimits  # noqa: E402
from bot.deliveries.targets import specs  # noqa: E402
from bot.deliveries.worker import Worker  # noqa: E402
from dialogs.rules.crm import AmoCrmMapping, Bitrix24Mapping  # noqa: E402
from storage.deliveries import rows as crm  # noqa: E402
from storage.schema.tables import Answer, Conversation, Lead, Prospect, utcnow  # noqa: E402
from storage.work.uow import UnitOfWork  # noqa: E402
from tests.fakes.crm import FakeAmoCrm, FakeBitrix24, FakeWebhook  # noqa: E402


async def one_lead(sessions, user: int) -> int:
    now = utcnow()
    async with UnitOfWork(sessions) as uow:
        uow.session.add(Prospect(user_id=user, chat_id=user, language="en"))
        await uow.session.flush()
        conversation = Conversation(
            user_id=user, chat_id=user, flow_id="kitchen-quiz", flow_version=1, step="done",
            finished=True, source="instagram",
            state={"language": "en", "consents": {"processing": "1"}})
        uow.session.add(conversation)
        await uow.session.flush()
        uow.session.add(Answer(conversation_id=conversation.id, step="layout",
                               value="island", label="With an island", points=20))
        lead = Lead(conversation_id=conversation.id, user_id=user, flow_id="kitchen-quiz",
                    flow_version=1, source="instagram", name="Olivia",
                    phone=f"+7916{user:07d}", score=98, temperature="hot", mql=True,
                    sql=True, target=True, outcome="handoff", status="handoff",
                    qualified_at=now)
        uow.session.add(lead)
        await uow.session.flush()
        crm.note(uow, lead.id, "qualified", now)
        await uow.commit()
    return lead.id or 0


async def main(leads: int, rate: float) -> None:
    engine, sessions, _ = await fresh_sqlite("crm.db")
    fakes = (FakeBitrix24(), FakeAmoCrm(), FakeWebhook())
    for fake in fakes:
        await fake.start()
    bitrix, amo, hook = fakes
    limits = CrmLimits()
    targets = [Bitrix24Target(bitrix.webhook_url, Bitrix24Mapping(), limits),
               AmoCrmTarget(amo.url, amo.token, AmoCrmMapping(), limits),
               WebhookTarget(hook.hook_url, hook.secret, limits)]
    crm.configure(specs(targets))
    worker = Worker(sessions, targets)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    committed: dict[int, float] = {}
    started = time.monotonic()
    for n in range(leads):
        lead_id = await one_lead(sessions, 10_000 + n)
        committed[lead_id] = time.monotonic()
        worker.wake()
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.monotonic()))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(
            len(fake.arrived) < leads for fake in fakes):
        await asyncio.sleep(0.05)
    stop.set()
    await running
    await worker.close()
    print(f"{leads} hot leads at {rate:g}/s, each to Bitrix24, amoCRM and the webhook "
          f"(real rate limits), SQLite:")
    for name, fake in (("bitrix24", bitrix), ("amocrm", amo), ("webhook", hook)):
        waits = sorted((fake.arrived[i] - committed[i]) * 1000 for i in committed
                       if i in fake.arrived)
        if not waits:
            print(f"  {name}: nothing arrived")
            continue
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        print(f"  {name}: commit -> CRM record p50 {statistics.median(waits):.0f} ms, "
              f"p99 {p99:.0f} ms, max {waits[-1]:.0f} ms; {len(waits)}/{leads} arrived, "
              f"{fake.refused} refused by the rate limit")
    for fake in fakes:
        await fake.stop()
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=60)
    parser.add_argument("--rate", type=float, default=1.5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.leads, arguments.rate))
