"""The real GA4 target (bot/deliveries/ads/ga4.py) driven by the deliveries' worker against
the fake GA4 on 127.0.0.1: what the worker makes of a try whose outcome it cannot know. GA4
drops no repeat, so such a try is never made again (at most once)."""

from __future__ import annotations

import pytest

from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.ads.ga4 import Ga4Target
from bot.deliveries.worker import Worker
from dialogs.rules.conversions import Ga4
from storage.deliveries import rows as crm
from storage.schema.money import Click
from storage.schema.tables import CrmDelivery
from storage.work.uow import UnitOfWork
from tests.bot.test_delivery_worker import FAST, add_lead, rows
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
