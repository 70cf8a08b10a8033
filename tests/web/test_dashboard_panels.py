"""The flow page's panels through the real server (the bot running, aiohttp client with the
bearer token): each panel with no data and with demo data, the figures equal to the data
layer's, the contacts toggle (hidden by default, each showing recorded), bad filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.reports.funnel import funnel
from storage.reports.period import FunnelQuery
from storage.reports.speed import handoff_speed
from storage.schema.tables import Event
from tests.web.conftest import TOKEN, web_running
from tests.web.demo import MANAGERS, fill

BEARER = {"Authorization": f"Bearer {TOKEN}"}
FLOW = "kitchen-quiz"


async def get(client, url: str, **params):
    async with client.get(url, params={"flow": FLOW, **params}, headers=BEARER) as response:
        return response.status, await response.text(), response.headers


def panel(html: str, key: str) -> str:
    """The HTML of one panel's section."""
    found = re.search(rf'<section class="card panel" id="panel-{key}">(.*?)</section>', html,
                      re.S)
    assert found, f"no panel {key}"
    return found.group(1)


def attributes(html: str, name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]*)"', html)


async def test_every_panel_with_no_data(admin_web):
    _, client, base = admin_web
    status, html, headers = await get(client, f"{base}/admin")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "Not built yet" not in html  # no placeholder is left
    for key in ("funnel", "sources", "variants", "temperature"):
        assert "Nobody started this flow in the period." in panel(html, key)
    assert "No manager claimed a lead" in panel(html, "handoff_speed")
    assert "No FAQ entry was asked in the period." in panel(html, "faq")
    leads = panel(html, "leads")
    assert 'data-total="0"' in leads and "No leads match." in leads
    assert 'id="since"' in html and 'id="until"' in html and 'id="source"' in html


async def test_panels_show_the_data_layers_figures(admin_web):
    running, client, base = admin_web
    app = running.app
    await fill(app.sessions, app.flows, prospects=150)
    status, html, _ = await get(client, f"{base}/admin")
    assert status == 200
    today = datetime.now(UTC).date()
    asked = FunnelQuery(FLOW, today - timedelta(days=29), today, "UTC")
    async with app.sessions() as session:
        expected = await funnel(session, asked)
        by_source = await funnel(session, FunnelQuery(**{**vars(asked), "by": "source"}))
        managers = await handoff_speed(session, asked)
    [group] = expected["groups"]
    assert group["started"] > 50 and group["temperature"]["hot"] > 0  # the demo reached here

    chart = panel(html, "funnel")
    assert f'data-started="{group["started"]}"' in chart
    shown = re.findall(r'<li class="step[^"]*" data-step="([^"]+)" data-kind="[^"]*" '
                       r'data-reached="(\d+)" data-answered="(\d*)"', chart)
    assert shown == [(s["step"], str(s["reached"]), str(s["answered"]) if s["kind"] in (
        "single_choice", "multiple_choice", "free_text", "number", "consent", "contact")
        else "") for s in group["steps"]]
    assert 'aria-label="reached' in chart  # each bar named for a screen reader

    sources = panel(html, "sources")
    rows = re.findall(r'data-group="([^"]*)" data-started="(\d+)" data-leads="(\d+)"', sources)
    assert rows == [(g["group"], str(g["started"]), str(g["leads"]))
                    for g in by_source["groups"]]
    variants = panel(html, "variants")
    assert attributes(variants, "data-group") == ["—"]  # no experiment: one group

    temperature = panel(html, "temperature")
    for name in ("hot", "warm", "cold"):
        count = group["temperature"][name]
        assert re.search(rf'<li data-temperature="{name}">.*?<strong>{count}</strong>',
                         temperature)

    speed = panel(html, "handoff_speed")
    assert [int(c) for c in attributes(speed, "data-claimed")] == [m["claimed"] for m in managers]
    assert sum(m["claimed"] for m in managers) == group["time_to_claim"]["count"]
    assert {m["manager"] for m in managers} <= {name for _, name in MANAGERS}
    assert "Иван" in speed or "Olga" in speed

    leads = panel(html, "leads")
    assert f'data-total="{group["leads"]}"' in leads
    assert len(re.findall(r"<tr data-lead=", leads)) == min(25, group["leads"])
    assert 'rel="next"' in leads  # more than a page


async def test_filters_narrow_the_leads_and_the_funnel(admin_web):
    running, client, base = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=150)
    _, everything, _ = await get(client, f"{base}/admin")
    _, hot, _ = await get(client, f"{base}/admin", temperature="hot")
    total = int(attributes(panel(everything, "leads"), "data-total")[0])
    hot_total = int(attributes(panel(hot, "leads"), "data-total")[0])
    assert 0 < hot_total < total
    assert re.search(r'<li data-temperature="hot">.*?<strong>' + str(hot_total) + "</strong>",
                     panel(hot, "temperature"))  # every lead of the flow is in the period
    _, vk, _ = await get(client, f"{base}/admin", source="vk")
    assert attributes(panel(vk, "sources"), "data-group") == ["vk"]
    _, nobody, _ = await get(client, f"{base}/admin", since="2020-01-01", until="2020-01-31")
    assert "Nobody started this flow in the period." in panel(nobody, "funnel")
    _, other, _ = await get(client, f"{base}/admin", version="999")
    assert "Nobody started" in panel(other, "funnel")


async def test_contacts_hidden_by_default_and_each_showing_recorded(admin_web):
    running, client, base = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=80)

    async def exports():
        async with running.app.sessions() as session:
            return (await session.execute(
                select(Event.data).where(Event.kind == "export"))).scalars().all()

    status, html, _ = await get(client, f"{base}/admin")
    leads = panel(html, "leads")
    assert status == 200 and "+7999" not in html and 'class="contact"' not in leads
    assert 'id="show-contacts"' in leads and await exports() == []

    status, html, headers = await get(client, f"{base}/admin", contacts="1")
    leads = panel(html, "leads")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "+7999" in leads and 'id="hide-contacts"' in leads
    shown = len(re.findall(r"<tr data-lead=", leads))
    [event] = await exports()
    assert event["with_contacts"] is True and event["via"] == "dashboard"
    assert event["rows"] == shown and event["flow"] == FLOW
    assert "+7999" not in str(event)  # the event never holds the contacts


async def test_bad_filters_get_a_polite_page(admin_web):
    _, client, base = admin_web
    cases = [({"since": "yesterday"}, "YYYY-MM-DD"), ({"until": "2026-13-45"}, "YYYY-MM-DD"),
             ({"since": "2026-11-10", "until": "2026-11-01"}, "at most 400 days"),
             ({"version": "abc"}, "whole numbers"), ({"page": "0"}, "whole numbers"),
             ({"temperature": "tepid"}, "from the lists"), ({"outcome": "<b>"}, "from the lists"),
             ({"source": "x" * 65}, "64 characters")]
    for params, words in cases:
        status, html, _ = await get(client, f"{base}/admin", **params)
        assert status == 400, params
        assert 'id="problems"' in html and words in html, params
        assert "Traceback" not in html and 'id="filters"' in html
    status, html, _ = await get(client, f"{base}/admin", since="вчера", lang="uk")
    assert status == 400 and "РРРР-ММ-ДД" in html


async def test_filters_no_day_or_number_holds_get_a_400_not_a_500(telegram, tmp_path,
                                                                   caplog):
    """The end of the calendar (the day after 9999-12-31), year 1 in Europe/Moscow (its
    midnight in UTC is in year 0), a superscript digit (isdigit, yet int() refuses it), a
    source with a control character: each a 500 with a traceback; now the polite 400."""
    async with web_running(telegram, tmp_path, admin_token=TOKEN,
                           timezone="Europe/Moscow") as (_, client, base):
        await ask_each(client, base)
    assert "Traceback" not in caplog.text


async def ask_each(client, base: str) -> None:
    cases = [({"until": "9999-12-31"}, "between 1970-01-01"),
             ({"since": "0001-01-01", "until": "0001-01-30"}, "between 1970-01-01"),
             ({"version": "²"}, "whole numbers"), ({"page": "١"}, "whole numbers"),
             ({"source": "ads\x01"}, "letters, digits")]
    for params, words in cases:
        status, html, _ = await get(client, f"{base}/admin", **params)
        assert status == 400, params
        assert words in html, params


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_source_with_nul_gets_a_400_on_either_database(backend, telegram, tmp_path,
                                                                caplog):
    """PostgreSQL refuses NUL in text: the query failed with a 500 and a traceback."""
    async with web_running(telegram, tmp_path, backend, admin_token=TOKEN) as (_, client,
                                                                                base):
        status, html, _ = await get(client, f"{base}/admin", source="ads\x00x")
        assert status == 400 and "letters, digits" in html
        status, _, _ = await get(client, f"{base}/admin", source="ads")
        assert status == 200
        # the requests' own logs (the 500 was aiohttp's "Error handling request" with a
        # traceback); the pool's closing at teardown is not the request's
        handled = [r for r in caplog.records if r.name.startswith(("aiohttp", "bot"))]
        assert not any(r.exc_info for r in handled), caplog.text
        assert "Error handling request" not in caplog.text


@pytest.mark.parametrize("path", ["/admin", "/metrics"])
async def test_a_session_cookie_not_ascii_is_signed_out_without_a_traceback(admin_web,
                                                                           caplog, path):
    """`leadbot_session=é.é.é`, no sign-in needed: hmac.compare_digest refused the str,
    a 500 with a traceback logged. Now it is no session: signed out."""
    _, client, base = admin_web
    async with client.get(f"{base}{path}",
                          headers={"Cookie": "leadbot_session=é.é.é"}) as response:
        status, html = response.status, await response.text()
    assert status == 401  # signed out: the sign-in form (/admin), the plain line (/metrics)
    assert ('id="sign-in"' in html) == (path == "/admin")
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


@pytest.mark.parametrize("path", ["/admin", "/metrics"])
@pytest.mark.parametrize("token", [b"\xff\xfe", "\u00e9".encode(), b"\xed\xa0\x80"])
async def test_a_bearer_token_not_utf8_is_refused_without_a_traceback(admin_web, caplog,
                                                                      path, token):
    """`Authorization: Bearer` followed by bytes that are not UTF-8 (sent raw: a client
    library would not): the token's check raised on them, a 500 and a traceback."""
    import asyncio
    from urllib.parse import urlsplit

    _, _, base = admin_web
    where = urlsplit(base)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                 b"Authorization: Bearer " + token + b"\r\nConnection: close\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    assert head.split()[1] == b"401", head
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text


async def test_words_and_numbers_in_each_language(admin_web):
    running, client, base = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=40)
    for lang, word in (("ru", "Скорость менеджеров"), ("uk", "Швидкість менеджерів"),
                       ("en", "Hand-off speed per manager")):
        status, html, _ = await get(client, f"{base}/admin", lang=lang)
        assert status == 200 and word in html
    _, html, _ = await get(client, f"{base}/admin", lang="ru")
    assert re.search(r"\d+,\d %", html) and not re.search(r"\d+\.\d %", html)  # 12,5 %


async def test_the_faq_panel_counts_the_entries_answered(admin_web):
    from dialogs.engine.actions import FaqHit
    from storage.record import Recorder
    from storage.work.uow import UnitOfWork
    from tests.storage.broadcast_people import person

    running, client, base = admin_web
    now = datetime.now(UTC)
    async with running.app.sessions() as session:
        ann, bob = (await person(session, 1, started_at=now),
                    await person(session, 2, started_at=now))
        await session.commit()
    for conversation, entries in ((ann, ("measuring", "measuring", "warranty")),
                                  (bob, ("measuring",))):
        async with UnitOfWork(running.app.sessions) as uow:
            await Recorder(uow, conversation, now, None).record(
                [FaqHit("layout", entry) for entry in entries])
            await uow.commit()
    status, html, _ = await get(client, f"{base}/admin", lang="ru")
    assert status == 200
    shown = panel(html, "faq")
    assert "Ответы на частые вопросы" in html
    assert attributes(shown, "data-entry") == ["measuring", "warranty"]
    assert attributes(shown, "data-hits") == ["3", "1"]
