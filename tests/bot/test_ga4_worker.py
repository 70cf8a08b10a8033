"""The real GA4 target (bot/deliveries/ads/ga4.py) driven by the deliveries' worker against
the fake GA4 on 127.0.0.1: what the worker makes of a try whose outcome it cannot know. GA4
drops no repeat, so such a try is never made again (at most once)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp import web

from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.ads.ga4 import Ga4Target
from bot.deliveries.worker import Worker
from dialogs.rules.conversions import Ga4
from storage.deliveries import rows as crm
from storage.schema.money import Click
from storage.schema.tables import CrmDelivery, utcnow
from storage.work.uow import UnitOfWork
from tests.bot.test_delivery_worker import FAST, add_lead, rows
from tests.fakes.crm import Fault
from tests.fakes.ga4 import FakeGa4

LIMITS = AdLimits(timeout=1.0)


@pytest.fixture
async def fake():
    server = FakeGa4()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def ga4(fake):
    found = Ga4Target(Ga4(measurement_id=fake.measurement_id, goals={"hot": "qualify_lead"},
                          api_url=fake.url), fake.api_secret, LIMITS)
    yield found
    await found.close()
    crm.configure(())


async def with_client_id(sessions, lead_id: int) -> None:
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(Click.__table__.update().values(
            ga_client_id="1234567890.1700000000"))
        await uow.commit()
    assert lead_id


async def test_a_connection_cut_after_ga4_took_the_event_is_not_sent_again(sessions, fake,
                                                                           ga4):
    """GA4 got the event, then the connection closed before its answer: the worker cannot
    know whether it arrived, as after a timeout. Before: `network: ...` was retried, and
    GA4 counted the conversion twice."""
    await with_client_id(sessions, await add_lead(sessions, [ga4]))
    fake.cut(after=True)
    await Worker(sessions, [ga4], backoff=FAST).drain(timeout=10)
    assert len(fake.received) == 1
    [row] = await rows(sessions, CrmDelivery.target == "ga4")
    assert (row.status, row.error) == ("failed", "ambiguous")


async def test_a_connection_refused_is_tried_again(sessions, fake, ga4):
    """Nothing reached GA4 (nobody listens): safe to try again, and it goes once."""
    await with_client_id(sessions, await add_lead(sessions, [ga4]))
    url = fake.url
    await fake.stop()
    worker = Worker(sessions, [ga4], backoff=FAST)
    await worker.pass_once()
    for task in list(worker._tasks):
        await task
    [row] = await rows(sessions, CrmDelivery.target == "ga4")
    assert (row.status, row.error.startswith("network: ")) == ("pending", True), url


async def test_a_long_retry_after_holds_no_row_and_lets_the_process_stop(sessions, fake):
    """A 429 asking for an hour: the rows already in hand do not sit out the hour inside
    the call (their lease would run out, another process would take them, and GA4's would
    end `ambiguous` though never sent; and the process could not stop): each goes back to
    wait, unsent, its error the 429. Before: `leadbot run` hung on stopping for the hour."""
    ga4 = Ga4Target(Ga4(measurement_id=fake.measurement_id, goals={"hot": "qualify_lead"},
                        api_url=fake.url), fake.api_secret,
                    AdLimits(ga4_rate=5.0, ga4_burst=1.0, timeout=1.0))
    for n in range(2):
        await with_client_id(sessions, await add_lead(sessions, [ga4], user=5000 + n))
    fake.faults.append(Fault(429, {}, headers={"Retry-After": "3600"}))
    worker = Worker(sessions, [ga4], backoff=FAST)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(100):
            found = await rows(sessions, CrmDelivery.error.is_not(None))
            if len(found) == 2:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, 5)
    finally:
        running.cancel()
        await ga4.close()
        crm.configure(())
    assert fake.received == []
    assert [(r.status, r.error) for r in await rows(sessions)] == [
        ("pending", "HTTP 429"), ("pending", "HTTP 429")]
    assert all(r.not_before > utcnow() + timedelta(minutes=50) for r in await rows(sessions))



class Peers(FakeGa4):
    """The fake GA4, noting each request's connection (its client's address and port)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.peers: list[object] = []

    async def _collect(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername"))
        return await super()._collect(request)


async def test_each_conversion_goes_on_a_connection_of_its_own(sessions):
    """A connection kept open between conversions (hours apart) may be closed by Google
    meanwhile; met on sending, it leaves the try's outcome unknown and the conversion ends
    `ambiguous`, never sent. GA4's requests each open their own. Before: one kept open."""
    fake = Peers()
    await fake.start()
    ga4 = Ga4Target(Ga4(measurement_id=fake.measurement_id, goals={"hot": "qualify_lead"},
                        api_url=fake.url), fake.api_secret, LIMITS)
    try:
        for n in range(3):
            await with_client_id(sessions, await add_lead(sessions, [ga4], user=5000 + n))
            await Worker(sessions, [ga4], backoff=FAST).drain(timeout=10)
    finally:
        await ga4.close()
        await fake.stop()
        crm.configure(())
    assert len(fake.received) == 3
    assert len(set(fake.peers)) == 3
