"""Conversions to the ad platforms, the whole way, through the real bot (fake Bot API, its
web server on 127.0.0.1) and fake Yandex Metrica, Meta and GA4 servers that check what the
real ones require: an ad's tracking link clicked with `yclid`, `fbclid` and `_ga` -> a hot
lead -> claimed -> won, the amount typed in reply -> exactly one conversion of each
configured goal at each platform, with the sale's value; a prospect who came without a
tracking link, and one who refused consent, send nothing; a kill -9 with the platforms'
answers in hand still ends with one conversion each (GA4, which deduplicates nothing, at
most once)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select, text, update

from bot.app import bootstrap, serve
from bot.deliveries.ads.conversion import AdLimits
from bot.service import callbacks
from dialogs.format.scenarios import TAP_WORDS
from storage.deliveries import rows as crm
from storage.schema.tables import CrmDelivery, Handoff, Lead, utcnow
from tests.e2e.conftest import Running, fast_limits, migrated, settings_for
from tests.e2e.harness import eventually
from tests.e2e.test_handoff import ANNA, GROUP, cards, manager_tap, push
from tests.e2e.test_links import click
from tests.e2e.test_sales import reply
from tests.fakes.ga4 import FakeGa4
from tests.fakes.meta import FakeMeta
from tests.fakes.metrica import FakeMetrica
from tests.processes import LEADBOT, leadbot_environment

LINKS = "links:\n  ya_kitchen: {flow: kitchen-quiz, source: yandex, campaign: dec}\n"
HOT = ("continue", "city", "island", "large", "veneer", "appliances", "lighting", "done",
       "month", "agree", "marketing_no")
YCLID, FBCLID, GA = "7419385612345678901", "IwAR2xYz-Abc_123", "1283947561.1733212345"
PHONE = "+79161234567"


@pytest.fixture(autouse=True)
def no_targets():
    yield
    crm.configure(())


@pytest.fixture
async def platforms():
    found = (FakeMetrica(), FakeMeta(), FakeGa4())
    for fake in found:
        await fake.start()
    metrica = found[0]
    metrica.goal("leadbot_hot")
    metrica.goal("leadbot_sale")
    yield found
    for fake in found:
        await fake.stop()


def conversions_file(tmp_path, platforms, *, won: bool = True) -> dict[str, object]:
    """The file and the secrets, as settings."""
    metrica, meta, ga4 = platforms
    sale = {"metrica": ", won: leadbot_sale", "meta": ", won: Purchase",
            "ga4": ", won: close_convert_lead"} if won else {}
    path = tmp_path / "conversions.yaml"
    path.write_text(
        f"metrica:\n  counter: {metrica.counter}\n  api_url: {metrica.api_url}\n"
        f"  goals: {{hot: leadbot_hot{sale.get('metrica', '')}}}\n"
        f"meta:\n  pixel: \"{meta.pixel}\"\n  contacts: true\n  api_url: {meta.api_url}\n"
        f"  goals: {{lead: Lead, hot: QualifiedLead{sale.get('meta', '')}}}\n"
        f"ga4:\n  measurement_id: {ga4.measurement_id}\n  api_url: {ga4.url}\n"
        f"  goals: {{lead: generate_lead, hot: qualify_lead{sale.get('ga4', '')}}}\n",
        encoding="utf-8")
    return {"conversions_file": path, "metrica_token": metrica.token,
            "meta_token": meta.token, "ga4_api_secret": ga4.api_secret}


@contextlib.asynccontextmanager
async def shop(telegram, database_url: str, tmp_path, platforms):
    await migrated(database_url)
    links = tmp_path / "links.yaml"
    links.write_text(LINKS, encoding="utf-8")
    app = await bootstrap(settings_for(telegram, database_url, links_file=links,
                                       managers_chat_id=GROUP, managers_language="en",
                                       manager_ids=[ANNA], currency="RUB",
                                       **conversions_file(tmp_path, platforms)),
                          limits=fast_limits(), ad_limits=AdLimits().scaled(20, 2.0))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    try:
        yield Running(app, telegram)
    finally:
        stop.set()
        try:
            await task
        finally:
            await app.close()


async def due_now(running: Running) -> None:
    """What waits (a sale's 10 minutes for its amount, Metrica's batch window, an upload's
    next status check) is moved to now rather than waited for."""
    async with running.app.sessions() as session:
        await session.execute(update(CrmDelivery).where(
            CrmDelivery.status.in_(("pending", "sent"))).values(
            not_before=utcnow() - timedelta(seconds=1)))
        await session.commit()
    running.app.crm.wake()


async def statuses(running: Running) -> dict[tuple[str, str, int], list[tuple[str, str]]]:
    async with running.app.sessions() as session:
        found = (await session.execute(select(CrmDelivery).order_by(CrmDelivery.id))
                 ).scalars().all()
    table: dict[tuple[str, str, int], list[tuple[str, str]]] = {}
    for row in found:
        table.setdefault((row.target, row.event, row.lead_id), []).append(
            (row.status, row.error or ""))
    return table


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request, tmp_path):
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(request.param, tmp_path)
    await engine.dispose()
    return await database_url(request.param, tmp_path)


async def test_a_click_to_a_sale_is_one_conversion_of_each_goal_at_each_platform(
        telegram, database, tmp_path, platforms):
    metrica, meta, ga4 = platforms
    async with shop(telegram, database, tmp_path, platforms) as running:
        async def listening() -> bool:
            return running.app.address is not None

        await eventually(listening, what="the web server to listen")
        host, port = running.app.address
        async with aiohttp.ClientSession() as client:
            start = await click(client, f"http://{host}:{port}/go/ya_kitchen?yclid={YCLID}"
                                        f"&fbclid={FBCLID}&_ga=GA1.1.{GA}")
            refuses = await click(client, f"http://{host}:{port}/go/ya_kitchen?yclid=5551"
                                          f"&fbclid=IwAR-refused&_ga=GA1.1.77.88")
        prospect = running.prospect(9601, "en")
        await prospect.start(start)
        for option in HOT:
            await prospect.tap(option=TAP_WORDS.get(option, option))
        await prospect.send("Olivia")
        await prospect.share_contact(PHONE)
        # hot too, but from a plain deep link: no platform's click id
        plain = running.prospect(9602, "en")
        await plain.start("kitchen-quiz__friends")
        for option in HOT:
            await plain.tap(option=TAP_WORDS.get(option, option))
        await plain.send("Boris")
        await plain.share_contact("+79161230000")
        # from the ad, but refuses consent: nothing of them goes anywhere
        no = running.prospect(9603, "en")
        await no.start(refuses)
        for option in HOT[:-2]:
            await no.tap(option=TAP_WORDS.get(option, option))
        await no.tap(option=TAP_WORDS["decline"])
        await running.settle()

        # the manager claims the card, marks it won and types the amount in reply
        card = [c for c in cards(running) if "Olivia" in c.params["text"]][-1]
        claim = card.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await push(running, manager_tap(running, ANNA, claim))
        copy = running.telegram.sent(ANNA, "sendMessage")[-1]
        async with running.app.sessions() as session:
            lead = (await session.execute(select(Lead).where(Lead.user_id == 9601))
                    ).scalar_one()
            handoff = (await session.execute(select(Handoff).where(
                Handoff.lead_id == lead.id))).scalar_one()
        await push(running, manager_tap(running, ANNA, callbacks.status(handoff.id, "won"),
                                        chat_id=ANNA, message_id=copy.result["message_id"]))
        asked = running.telegram.sent(ANNA, "sendMessage")[-1]
        await push(running, reply(ANNA, "150 000", asked.result["message_id"]))

        async def delivered() -> bool:
            await due_now(running)
            metrica.settle()
            table = await statuses(running)
            return bool(table) and all(status in ("accepted", "sent", "skipped", "failed")
                                       for rows in table.values() for status, _ in rows) \
                and all(s != "sent" for (t, _, _), rows in table.items() if t != "ga4"
                        for s, _ in rows)
        await eventually(delivered, timeout=60, what="every conversion delivered")
        table = await statuses(running)

    olivia = lead.id
    # Metrica: hot and the sale, by the yclid, once each; the sale with its amount
    assert sorted((*k[:3], v) for k, v in metrica.conversions.items()) == [
        ("Yclid", YCLID, "leadbot_hot", ("", "")),
        ("Yclid", YCLID, "leadbot_sale", ("150000.00", "RUB"))]
    # Meta: lead, hot and the purchase, once each, the click's fbc, hashed contacts
    ours = [e for e in meta.events.values() if "fbc" in e["user_data"]]
    assert sorted(e["event_name"] for e in ours) == ["Lead", "Purchase", "QualifiedLead"]
    for event in meta.events.values():
        assert event["action_source"] == "chat"
        phone = event["user_data"]["ph"]
        assert len(phone[0] if isinstance(phone, list) else phone) == 64
        assert "+7916" not in str(event)
    assert {e["user_data"]["fbc"].rsplit(".", 1)[1] for e in ours} == {FBCLID}
    # the one from a plain link has no click, but Meta matches by the hashed phone (the
    # file's `contacts: true`, the consent naming Meta): lead and hot, never a sale
    assert sorted(e["event_name"] for e in meta.events.values() if e not in ours) == [
        "Lead", "QualifiedLead"]
    purchase = next(e for e in ours if e["event_name"] == "Purchase")
    assert float(purchase["custom_data"]["value"]) == 150000
    assert purchase["custom_data"]["currency"] == "RUB"
    # GA4: the recommended lead events for the visitor's client id, once each
    assert sorted((c, name) for c, name, _ in ga4.events()) == [
        (GA, "close_convert_lead"), (GA, "generate_lead"), (GA, "qualify_lead")]
    won = next(p for _, name, p in ga4.events() if name == "close_convert_lead")
    assert (float(won["value"]), won["currency"]) == (150000, "RUB")
    assert ga4.dropped == []
    # the second `won` (the amount typed after the tap) is the same sale: skipped
    for target in ("metrica", "meta", "ga4"):
        assert [s for s, _ in table[(target, "won", olivia)]].count("skipped") <= 1
        assert table[(target, "won", olivia)][0][0] in ("accepted", "sent")
    # the prospect from a plain deep link: Metrica and GA4 skipped for want of a click id
    others = {k: v for k, v in table.items() if k[2] != olivia and k[0] != "meta"}
    assert others and all(status == "skipped" for rows in others.values()
                          for status, _ in rows)
    assert {reason for rows in others.values() for _, reason in rows} <= {
        "no_click", "no_consent"}
    # nothing of the prospect who refused consent reached a platform
    assert "5551" not in str(metrica.files) and "IwAR-refused" not in str(meta.received)
    assert "77.88" not in str(ga4.received)
    assert running.telegram.violations == []


async def start_bot(telegram, database, settings: dict[str, object]):
    environment = leadbot_environment(
        LEADBOT_BOT_TOKEN=telegram.token, LEADBOT_TELEGRAM_API_URL=telegram.url,
        LEADBOT_DATABASE_URL=f"sqlite:///{database}", LEADBOT_LOG_LEVEL="WARNING",
        **{f"LEADBOT_{k.upper()}": str(v) for k, v in settings.items()})
    return await asyncio.create_subprocess_exec(
        LEADBOT, "run", env=environment, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)


async def test_kill_9_with_the_platforms_answers_in_hand_still_one_conversion_each(
        telegram, tmp_path, platforms):
    metrica, meta, ga4 = platforms
    database = tmp_path / "bot.db"
    settings = conversions_file(tmp_path, platforms, won=False)
    links = tmp_path / "links.yaml"
    links.write_text(LINKS, encoding="utf-8")
    users = (8301, 8302, 8303)
    # three hot leads from the ad, committed with their rows by a bot with no worker
    await migrated(f"sqlite:///{database}")
    app = await bootstrap(settings_for(telegram, f"sqlite:///{database}", links_file=links,
                                       **settings), limits=fast_limits())
    app.crm = None
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    try:
        running = Running(app, telegram)
        await eventually(lambda: _listening(running), what="the web server to listen")
        host, port = running.app.address
        async with aiohttp.ClientSession() as client:
            for user in users:
                start = await click(client, f"http://{host}:{port}/go/ya_kitchen?yclid={user}1"
                                            f"&fbclid=IwAR{user}&_ga=GA1.1.{user}.1733212345")
                prospect = running.prospect(user, "en")
                await prospect.start(start)
                for option in HOT:
                    await prospect.tap(option=TAP_WORDS.get(option, option))
                await prospect.send("Olivia")
                await prospect.share_contact(f"+7916123{user}")
        await running.settle()
    finally:
        stop.set()
        await task
        await app.close()
    with sqlite3.connect(database) as connection:
        # lead and hot for Meta and GA4, hot for Metrica: 5 a lead
        assert connection.execute("SELECT count(*) FROM crm_deliveries WHERE "
                                  "status = 'pending'").fetchone() == (15,)
        connection.execute("UPDATE crm_deliveries SET not_before = "
                           "'2000-01-01 00:00:00.000000'")  # Metrica's window, not waited
    # each platform takes what it is sent, then never answers: killed with the calls in hand
    metrica.fail(200, hang=3600, after=True, path="upload", times=1)
    meta.fail(200, hang=3600, after=True, times=1)
    ga4.fail(204, hang=3600, after=True, times=1)
    bot = await start_bot(telegram, database, settings)
    try:
        async def taken() -> bool:
            return bool(metrica.conversions) and bool(meta.events) and bool(ga4.received)
        await eventually(taken, timeout=120, what="each platform to take a conversion")
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    for fake in platforms:
        fake.faults.clear()
    with sqlite3.connect(database) as connection:
        leased = connection.execute(
            "UPDATE crm_deliveries SET not_before = '2000-01-01 00:00:00.000000' "
            "WHERE status IN ('pending', 'sent')").rowcount
    assert leased >= 3  # at least the three calls that never came back
    metrica.settle()
    again = await start_bot(telegram, database, settings)
    try:
        async def done() -> bool:
            metrica.settle()
            with sqlite3.connect(database) as connection:
                connection.execute("UPDATE crm_deliveries SET not_before = "
                                   "'2000-01-01 00:00:00.000000' WHERE status = 'sent' "
                                   "AND target = 'metrica'")
                return connection.execute(
                    "SELECT count(*) FROM crm_deliveries WHERE status = 'pending' OR "
                    "(status = 'sent' AND target != 'ga4')").fetchone() == (0,)
        await eventually(done, timeout=120, what="every conversion settled after the restart")
    finally:
        again.send_signal(signal.SIGTERM)
        output, _ = await again.communicate()
    assert again.returncode == 0, output.decode()[-2000:]
    # Metrica and Meta: each goal of each lead once, however often it was sent
    assert sorted(k[2] for k in metrica.conversions) == ["leadbot_hot"] * 3
    assert sorted(name for name, _ in meta.events) == ["Lead"] * 3 + ["QualifiedLead"] * 3
    # GA4: never twice (the try in hand when it died is not made again: at most once)
    sent = [(c, name) for c, name, _ in ga4.events()]
    assert len(sent) == len(set(sent))
    with sqlite3.connect(database) as connection:
        ambiguous = connection.execute(
            "SELECT count(*) FROM crm_deliveries WHERE target = 'ga4' AND status = 'failed' "
            "AND error = 'ambiguous'").fetchone()[0]
    # the call in hand at the kill arrived; any other in hand may have: none went twice,
    # and only a row whose try was in hand is not sent
    assert ambiguous >= 1 and 6 - ambiguous <= len(sent) <= 6


async def _listening(running: Running) -> bool:
    return running.app.address is not None


async def test_a_refusal_quoting_the_contact_leaves_it_in_no_log_row_or_event(
        telegram, tmp_path, platforms, caplog):
    """Meta refuses the events with an error text that quotes the phone and email (as
    Graph API errors do); GA4's endpoint answers a 400 page quoting them too. The rows end
    failed with a status and a code, and the contact is nowhere: not in the log, not in
    `crm_deliveries`, not in the events."""
    _metrica, meta, ga4 = platforms
    meta.refuse(100, f"(#100) Invalid parameter: ph {PHONE} em olivia@example.com",
                2804003, times=10)
    ga4.answer(400, f"<html>bad request for {PHONE} olivia@example.com</html>".encode(),
               times=10)
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    caplog.set_level("INFO")
    async with shop(telegram, database, tmp_path, platforms) as running:
        await eventually(lambda: _listening(running), what="the web server to listen")
        host, port = running.app.address
        async with aiohttp.ClientSession() as client:
            start = await click(client, f"http://{host}:{port}/go/ya_kitchen?fbclid={FBCLID}"
                                        f"&_ga=GA1.1.{GA}")
        prospect = running.prospect(9701, "en")
        await prospect.start(start)
        for option in HOT:
            await prospect.tap(option=TAP_WORDS.get(option, option))
        await prospect.send("Olivia")
        await prospect.share_contact(PHONE)
        await prospect.send("olivia@example.com")
        await running.settle()

        async def ended() -> bool:
            table = await statuses(running)
            return all(s != "pending" for (t, _, _), rows in table.items() if t != "metrica"
                       for s, _ in rows) and any(t == "meta" for t, _, _ in table)
        await eventually(ended, timeout=60, what="the refused conversions to end")
        async with running.app.sessions() as session:
            dump = [str(r) for r in (await session.execute(text(
                "SELECT target, event, status, error, data FROM crm_deliveries"))).all()]
            events = [str(r) for r in (await session.execute(text(
                "SELECT kind, data FROM events"))).all()]
    failed = [row for row in dump if "'failed'" in row]
    assert any("'meta'" in row for row in failed) and any("'ga4'" in row for row in failed)
    for where in (dump, events, [r.getMessage() for r in caplog.records]):
        joined = "\n".join(where)
        assert "79161234567" not in joined and "olivia@example.com" not in joined
