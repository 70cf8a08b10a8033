"""Which ad pays, the whole loop as a marketer and a manager live it, through the real bot
(fake Bot API, its web server on 127.0.0.1) on SQLite and PostgreSQL: an ad's tracking link
clicked -> `/start FLOW__TOKEN` -> a hot lead handed off -> claimed -> won, the amount typed
in reply -> the spend imported with `leadbot spend import` -> `leadbot report --money`
shows the link's clicks, lead, sale, revenue, cost per lead and sale and ROMI, next to its
spend; a source nobody paid for says "no spend" instead of a zero cost."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from bot.service import callbacks
from dialogs.format.scenarios import TAP_WORDS
from storage.schema.tables import Handoff
from tests.bot.test_report_cli import run
from tests.e2e.conftest import bot_running
from tests.e2e.harness import eventually
from tests.e2e.test_handoff import ANNA, BORIS, GROUP, PHONE, cards, manager_tap, push
from tests.e2e.test_links import click
from tests.e2e.test_sales import reply

LINKS = "links:\n  vk_autumn: {flow: kitchen-quiz, source: vk, campaign: autumn_sale}\n"
HOT = ("continue", "city", "island", "large", "veneer", "appliances", "lighting", "done",
       "month", "agree", "marketing_no")
ZONE = "Europe/Moscow"


@pytest.fixture(params=["sqlite", "postgresql"])
async def shop(request, telegram, tmp_path):
    """(the running bot, a client, its web server's base URL, the database's URL)."""
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(request.param, tmp_path)
    await engine.dispose()
    url = await database_url(request.param, tmp_path)
    links = tmp_path / "links.yaml"
    links.write_text(LINKS, encoding="utf-8")
    async with bot_running(telegram, url, links_file=links, managers_chat_id=GROUP,
                           managers_language="en", manager_ids=[ANNA, BORIS],
                           currency="RUB", timezone=ZONE) as running:
        async def listening() -> bool:
            return running.app.address is not None

        await eventually(listening, what="the web server to listen")
        host, port = running.app.address
        async with aiohttp.ClientSession() as client:
            yield running, client, f"http://{host}:{port}", url


async def test_a_click_becomes_a_sale_and_the_report_shows_what_the_ad_paid(shop, tmp_path):
    running, client, base, url = shop
    # the ad: two people click, one becomes a hot lead; a crawler's preview is not a click
    start = await click(client, f"{base}/go/vk_autumn?utm_source=vk&yclid=123456789")
    await click(client, f"{base}/go/vk_autumn")
    async with client.get(f"{base}/go/vk_autumn", allow_redirects=False, headers={
            "User-Agent": "TelegramBot (like TwitterBot)"}) as preview:
        assert preview.status == 302
    prospect = running.prospect(9501, "en")
    await prospect.start(start)
    for option in HOT:
        await prospect.tap(option=TAP_WORDS.get(option, option))
    await prospect.send("Olivia")
    await prospect.share_contact(PHONE)
    # someone from a plain deep link (a source nobody paid for) starts too
    await running.prospect(9502, "en").start("kitchen-quiz__friends")
    await running.settle()

    # the manager claims the card, marks it won and types the amount in reply
    card = cards(running)[-1]
    assert "vk" in card.params["text"]
    claim = card.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(running, manager_tap(running, ANNA, claim))
    copy = running.telegram.sent(ANNA, "sendMessage")[-1]
    async with running.app.sessions() as session:
        handoff = (await session.execute(select(Handoff))).scalar_one()
    await push(running, manager_tap(running, ANNA, callbacks.status(handoff.id, "won"),
                                    chat_id=ANNA, message_id=copy.result["message_id"]))
    asked = running.telegram.sent(ANNA, "sendMessage")[-1]
    await push(running, reply(ANNA, "150 000", asked.result["message_id"]))
    assert "150,000 RUB" in running.telegram.sent(ANNA, "sendMessage")[-1].params["text"]

    # the marketer imports what the ad cost this month, then reads the money report
    today = datetime.now(ZoneInfo(ZONE)).date()
    spend = tmp_path / "spend.csv"
    spend.write_text(f"date,source,campaign,amount,currency\n"
                     f"{today.isoformat()},vk,autumn_sale,\"30 000\",RUB\n", encoding="utf-8")
    env = {"LEADBOT_DATABASE_URL": url, "LEADBOT_TIMEZONE": ZONE, "LEADBOT_CURRENCY": "RUB"}
    imported = run(env, "spend", "import", str(spend))
    assert imported.returncode == 0, imported.stderr
    day = today.isoformat()
    report = run(env, "report", "--money", "--by", "source", "--since", day, "--until", day,
                 "--format", "json")
    assert report.returncode == 0, report.stderr
    groups = {g["source"]: g for g in json.loads(report.stdout)["groups"]}
    vk = groups["vk"]
    assert (vk["clicks"], vk["people"], vk["leads"], vk["hot"], vk["handoffs"]) == (2, 1, 1,
                                                                                 1, 1)
    assert (vk["won"], vk["revenue"], vk["spend"]) == (1, 15_000_000, 3_000_000)
    assert (vk["cost_per_lead"], vk["cost_per_sale"]) == (3_000_000, 3_000_000)
    assert vk["romi"] == pytest.approx(400.0)  # (150,000 - 30,000) / 30,000
    assert vk["median_days_to_sale"] is not None and vk["median_days_to_sale"] < 1
    friends = groups["friends"]
    assert (friends["people"], friends["spend"], friends["cost_per_lead"]) == (1, None, None)

    text = run(env, "report", "--money", "--by", "source", "--since", day, "--until", day)
    assert text.returncode == 0, text.stderr
    [vk_line] = [line for line in text.stdout.splitlines() if line.startswith("vk ")]
    assert "30,000" in vk_line and "150,000" in vk_line and "400" in vk_line
    [friends_line] = [line for line in text.stdout.splitlines()
                      if line.startswith("friends")]
    assert "no spend" in friends_line
    assert running.telegram.violations == []
