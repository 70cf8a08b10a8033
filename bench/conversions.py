"""How fast a qualified lead reaches the ad platforms, and what writing its conversions
costs the update that qualifies it. Prints figures; asserts nothing.

    .venv/bin/python bench/conversions.py [--leads N] [--rate R]

N hot leads (default 60), R per second (default 3), each from a tracking link's click with
`yclid`, `fbclid` and a GA client id, with consent and a phone, committed as the service
commits them: the lead, its `contact` and `qualified` events' delivery rows (Meta and GA4:
`lead` and `hot`; Metrica: `hot`) in the lead's transaction. Measured for each lead and
platform, from the commit to the conversion arriving at the fake server (tests/fakes/,
aiohttp on 127.0.0.1, checking each platform's format), through the real worker, targets
and clients with their real limits; Metrica's batch window set to 0 (its default, 5
minutes, is a choice, not a cost). Then the same transaction timed side by side with and
without the three platforms configured. A SQLite file, as `make run` uses.
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

from aiohttp import web  # noqa: E402

from bench.common import fresh_sqlite  # noqa: E402
from bot.deliveries.ads.conversion import AdLimits  # noqa: E402
from bot.deliveries.ads.ga4 import Ga4Target  # noqa: E402
from bot.deliveries.ads.meta import MetaTarget  # noqa: E402
from bot.deliveries.ads.metrica import MetricaTarget  # noqa: E402
from bot.deliveries.targets import specs  # noqa: E402
from bot.deliveries.worker import Worker  # noqa: E402
from dialogs.rules.conversions import Ga4, Meta, Metrica  # noqa: E402
from storage.deliveries import rows as crm  # noqa: E402
from storage.schema.money import Click  # noqa: E402
from storage.schema.tables import Conversation, Lead, Prospect, utcnow  # noqa: E402
from storage.work.uow import UnitOfWork  # noqa: E402
from tests.fakes.ga4 import FakeGa4  # noqa: E402
from tests.fakes.meta import FakeMeta  # noqa: E402
from tests.fakes.metrica import FakeMetrica  # noqa: E402


class TimedMeta(FakeMeta):
    """Meta's fake, noting when each event (by its event_id) arrived."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrived: dict[str, float] = {}

    async def _events(self, request: web.Request) -> web.Response:
        response = await super()._events(request)
        for event in self.received:
            self.arrived.setdefault(str(event.get("event_id")), time.monotonic())
        return response


class TimedGa4(FakeGa4):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrived: dict[str, float] = {}

    async def _collect(self, request: web.Request) -> web.Response:
        response = await super()._collect(request)
        for body in self.received:
            for event in body["events"]:
                key = str(event.get("params", {}).get("event_id"))
                self.arrived.setdefault(key, time.monotonic())
        return response


class TimedMetrica(FakeMetrica):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrived: dict[str, float] = {}

    async def _upload(self, request: web.Request) -> web.Response:
        response = await super()._upload(request)
        for (_, visitor, _, _) in self.conversions:
            self.arrived.setdefault(visitor, time.monotonic())
        return response


async def one_lead(sessions, user: int) -> tuple[int, float]:
    """A hot lead from a click, committed with its delivery rows; (its id, seconds the
    transaction took)."""
    started = time.perf_counter()
    now = utcnow()
    async with UnitOfWork(sessions) as uow:
        uow.session.add(Prospect(user_id=user, chat_id=user, language="en"))
        click = Click(token=f"t{user}", link="ya", flow_id="kitchen-quiz", source="yandex",
                      yclid=f"{user}77", fbclid=f"IwAR{user}",
                      ga_client_id=f"{user}.1733212345", created_at=now)
        uow.session.add(click)
        await uow.session.flush()
        conversation = Conversation(
            user_id=user, chat_id=user, flow_id="kitchen-quiz", flow_version=1, step="done",
            finished=True, source="yandex", click_id=click.id,
            state={"language": "en", "consents": {"processing": "1"}})
        uow.session.add(conversation)
        await uow.session.flush()
        lead = Lead(conversation_id=conversation.id, user_id=user, flow_id="kitchen-quiz",
                    flow_version=1, source="yandex", name="Olivia", phone=f"+7916{user:07d}",
                    score=98, temperature="hot", mql=True, sql=True, target=True,
                    outcome="handoff", status="handoff", qualified_at=now)
        uow.session.add(lead)
        await uow.session.flush()
        crm.note(uow, lead.id, "contact", now)
        crm.note(uow, lead.id, "qualified", now, temperature="hot", mql=True, sql=True)
        await uow.commit()
    return lead.id or 0, time.perf_counter() - started


def targets_for(metrica: FakeMetrica, meta: FakeMeta, ga4: FakeGa4) -> list:
    limits = AdLimits()
    found = [
        MetricaTarget(Metrica(counter=metrica.counter, goals={"hot": "leadbot_hot"},
                              api_url=metrica.api_url), metrica.token, limits),
        MetaTarget(Meta(pixel=meta.pixel, goals={"lead": "Lead", "hot": "QualifiedLead"},
                        contacts=True, api_url=meta.api_url), meta.token, limits),
        Ga4Target(Ga4(measurement_id=ga4.measurement_id,
                      goals={"lead": "generate_lead", "hot": "qualify_lead"},
                      api_url=ga4.url), ga4.api_secret, limits)]
    found[0].window = 0.0
    return found


def line(name: str, waits: list[float], expected: int) -> str:
    if not waits:
        return f"  {name}: nothing arrived"
    waits.sort()
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    return (f"  {name}: commit -> platform p50 {statistics.median(waits):.0f} ms, p99 "
            f"{p99:.0f} ms, max {waits[-1]:.0f} ms; {len(waits)}/{expected} arrived")


async def main(leads: int, rate: float) -> None:
    engine, sessions, _ = await fresh_sqlite("conversions.db")
    metrica, meta, ga4 = TimedMetrica(rate=50, burst=50), TimedMeta(), TimedGa4()
    for fake in (metrica, meta, ga4):
        await fake.start()
    targets = targets_for(metrica, meta, ga4)
    crm.configure(specs(targets))
    worker = Worker(sessions, targets)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    committed: dict[int, float] = {}
    started = time.monotonic()
    for n in range(leads):
        lead_id, _ = await one_lead(sessions, 10_000 + n)
        committed[lead_id] = time.monotonic()
        worker.wake()
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.monotonic()))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
            len(meta.arrived) < 2 * leads or len(ga4.arrived) < 2 * leads
            or len(metrica.arrived) < leads):
        await asyncio.sleep(0.02)
    stop.set()
    await running
    keys: dict[str, tuple[int, str]] = {}
    from sqlalchemy import select

    from storage.schema.tables import CrmDelivery
    async with sessions() as session:
        for row in (await session.execute(select(CrmDelivery))).scalars():
            keys[row.key] = (row.lead_id, row.target)
    user_of = {lead_id: 10_000 + n for n, lead_id in enumerate(sorted(committed))}
    print(f"{leads} hot leads at {rate:g}/s, each from a click with yclid, fbclid and a GA "
          f"client id (real limits), SQLite:")
    for name, fake in (("meta", meta), ("ga4", ga4)):
        waits = [(at - committed[keys[key][0]]) * 1000 for key, at in fake.arrived.items()
                 if key in keys]
        print(line(f"{name} (lead, hot)", waits, 2 * leads))
    waits = [(metrica.arrived[f"{user_of[lead]}77"] - at) * 1000
             for lead, at in committed.items() if f"{user_of[lead]}77" in metrica.arrived]
    print(line("metrica (hot, batch window 0)", waits, leads)
          + f"; {len(metrica.uploads)} uploads")
    await worker.close()
    # the update's own cost: the same transaction with and without the platforms, in turns
    with_, without = [], []
    for n in range(200):
        crm.configure(specs(targets) if n % 2 else ())
        _, took = await one_lead(sessions, 50_000 + n)
        (with_ if n % 2 else without).append(took * 1000)
    print(f"  the lead's transaction, p50: {statistics.median(without):.2f} ms without "
          f"conversions, {statistics.median(with_):.2f} ms with three platforms "
          f"(5 more rows)")
    for fake in (metrica, meta, ga4):
        await fake.stop()
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=60)
    parser.add_argument("--rate", type=float, default=3.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.leads, arguments.rate))
