"""A tracking link end to end through the real bot (fake Bot API, its web server on
127.0.0.1, SQLite and PostgreSQL): `GET /go/<link>` -> the token from the Location ->
`/start FLOW__TOKEN` -> a lead; the conversation, the lead and every event carry the
click's source, campaign and click. Then /mydata lists the click, /forget clears its click
ids (searched for in every column of every table, tests/e2e/traces.py), and retention
clears those of a click that started nothing."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.jobs.retention import anonymise_expired
from dialogs.format.scenarios import TAP_WORDS
from storage.schema.money import Click
from storage.schema.tables import Conversation, Event, Lead, utcnow
from storage.work import tracking
from tests.e2e.conftest import bot_running
from tests.e2e.harness import eventually
from tests.e2e.test_privacy import confirm, exports
from tests.e2e.traces import every_column

LINKS = """\
links:
  vk_autumn: {flow: kitchen-quiz, source: vk, campaign: autumn_sale}
  calc: {flow: renovation-calculator, source: tg_ads, campaign: spring}
"""
YCLID, GCLID = "7419385612345678901", "Cj0KCQiA.visible_click-id"
GA_CLIENT = "1385672941.1764700000"  # Google Analytics' client id, from the `_ga` cookie
KITCHEN = ("continue", "city", "island", "large", "veneer", "appliances", "lighting", "done",
           "month", "agree", "marketing_yes")
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def linked(request, telegram, tmp_path):
    """(the running bot, a client, the web server's base URL), LEADBOT_LINKS_FILE set."""
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(request.param, tmp_path)  # migrated and empty
    await engine.dispose()
    links = tmp_path / "links.yaml"
    links.write_text(LINKS, encoding="utf-8")
    async with bot_running(telegram, await database_url(request.param, tmp_path),
                           links_file=links) as running:
        async def listening() -> bool:
            return running.app.address is not None

        await eventually(listening, what="the web server to listen")
        host, port = running.app.address
        async with aiohttp.ClientSession() as client:
            yield running, client, f"http://{host}:{port}"


async def click(client, url: str) -> str:
    """The start parameter /go/... sends the visitor to the bot with."""
    async with client.get(url, allow_redirects=False, headers=BROWSER) as response:
        assert response.status == 302
        return parse_qs(urlsplit(response.headers["Location"]).query)["start"][0]


async def test_a_click_to_a_lead_carries_source_campaign_and_click(linked):
    running, client, base = linked
    start = await click(client, f"{base}/go/vk_autumn?utm_source=vk&utm_medium=cpc"
                        f"&yclid={YCLID}&gclid={GCLID}&_ga=GA1.1.{GA_CLIENT}")
    prospect = running.prospect(9301, "en")
    await prospect.start(start)
    for option in KITCHEN:
        await prospect.tap(option=TAP_WORDS.get(option, option))
    await prospect.send("Olivia Stone")
    await prospect.share_contact("+79161234567")
    await running.settle()
    async with running.app.sessions() as session:
        [clicked] = (await session.execute(select(Click))).scalars().all()
        [conversation] = (await session.execute(select(Conversation))).scalars().all()
        [lead] = (await session.execute(select(Lead))).scalars().all()
        events = (await session.execute(select(Event).where(
            Event.conversation_id == conversation.id))).scalars().all()
        [listed] = [r for r in await tracking.listing(session) if r.name == "vk_autumn"]
    assert start == f"kitchen-quiz__{clicked.token}"
    assert (conversation.source, conversation.campaign, conversation.click_id) == (
        "vk", "autumn_sale", clicked.id)
    assert (lead.source, lead.campaign) == ("vk", "autumn_sale")
    assert lead.temperature == "hot"
    assert events and {(e.source, e.campaign) for e in events} == {("vk", "autumn_sale")}
    assert (listed.clicks, listed.conversations) == (1, 1)

    # /mydata lists the click: the link, when, which click ids (not their values)
    await confirm(prospect, "mydata")
    await running.settle()
    [document] = exports(running, 9301)
    [mine] = document["clicks"]
    assert (mine["link"], mine["source"], mine["campaign"], mine["click_ids"]) == (
        "vk_autumn", "vk", "autumn_sale", ["yclid", "gclid", "ga_client_id"])
    assert YCLID not in str(document["clicks"]) and GA_CLIENT not in str(document["clicks"])

    # /forget: the click ids go from everywhere; the click stays, counted
    stored = await every_column(running.app.engine)
    assert YCLID in stored and GA_CLIENT in stored
    await confirm(prospect, "forget")
    await running.settle()
    stored = await every_column(running.app.engine)
    assert YCLID not in stored and GCLID not in stored and "cpc" not in stored
    assert GA_CLIENT not in stored
    async with running.app.sessions() as session:
        [cleared] = (await session.execute(select(Click))).scalars().all()
    assert (cleared.yclid, cleared.gclid, cleared.ga_client_id, cleared.utm,
            cleared.source) == (None, None, None, {}, "vk")


async def test_an_experiment_a_plain_source_and_an_unknown_token(linked):
    running, client, base = linked
    start = await click(client, f"{base}/go/calc?fbclid=IwAR0abc")
    await running.prospect(9302, "en").start(start)
    # a source that only looks like a token: a plain source, as before
    await running.prospect(9303, "en").start("kitchen-quiz__AAAAbbbb1234")
    await running.prospect(9304, "en").start("kitchen-quiz__instagram")
    await running.settle()
    async with running.app.sessions() as session:
        rows = {c.user_id: c for c in (await session.execute(select(Conversation))
                                       ).scalars()}
        [clicked] = (await session.execute(select(Click))).scalars().all()
        events = (await session.execute(select(Event).where(
            Event.user_id == 9302))).scalars().all()
    calc = rows[9302]
    assert calc.experiment == "renovation-calculator"
    assert calc.flow_id in ("renovation-calculator", "renovation-calculator-b")
    assert (calc.source, calc.campaign, calc.click_id) == ("tg_ads", "spring", clicked.id)
    assert events and all(e.campaign == "spring" for e in events)
    assert (rows[9303].source, rows[9303].click_id) == ("AAAAbbbb1234", None)
    assert (rows[9304].source, rows[9304].campaign) == ("instagram", None)


async def test_retention_clears_the_ids_of_clicks_that_started_nothing(linked):
    running, client, base = linked
    used = await click(client, f"{base}/go/vk_autumn?yclid=111222333")
    await click(client, f"{base}/go/vk_autumn?yclid=444555666&utm_source=vk")
    await click(client, f"{base}/go/vk_autumn?_ga=GA1.1.777888999.1764700000")  # GA's only
    await running.prospect(9305, "en").start(used)
    await running.settle()
    long_ago = utcnow() - timedelta(days=running.app.settings.retention_days + 1)
    async with running.app.sessions() as session, session.begin():
        await session.execute(update(Click).values(created_at=long_ago))
    await anonymise_expired(running.app)
    async with running.app.sessions() as session:
        kept, cleared, ga_only = (await session.execute(select(Click).order_by(Click.id))
                                  ).scalars().all()
    assert kept.yclid == "111222333"  # its conversation is recent: kept with it
    assert (cleared.yclid, cleared.utm) == (None, {})
    assert ga_only.ga_client_id is None
    stored = await every_column(running.app.engine)
    assert "444555666" not in stored and "777888999" not in stored
