"""The dashboard's Money page through the real server (the bot running; aiohttp client with
the bearer token): the table equal to the report function's, on SQLite and PostgreSQL; a
spend file and a typed figure stored; bad uploads (not a CSV, another currency, too big,
bad rows) and bad figures refused politely with nothing stored; the forms' security."""

from __future__ import annotations

import io
import re

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.reports.money import MoneyQuery, money
from storage.schema.money import Spend
from tests.storage.money_history import SINCE, UNTIL, build
from tests.web.conftest import TOKEN, web_running

BEARER = {"Authorization": f"Bearer {TOKEN}"}
PERIOD = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}


def rows(html: str) -> dict[str, tuple[str, ...]]:
    return {m[0]: m[1:] for m in re.findall(
        r'data-group="([^"]*)" data-spend="([^"]*)" data-people="(\d+)" data-won="(\d+)" '
        r'data-revenue="(\d+)"', html)}


async def page(client, base: str, **params):
    async with client.get(f"{base}/admin/money", params=params, headers=BEARER) as response:
        return response.status, await response.text()


async def upload(client, base: str, data: bytes, name: str = "spend.csv", **headers):
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=name, content_type="text/csv")
    async with client.post(f"{base}/admin/money/spend", data=form, allow_redirects=False,
                           headers={**BEARER, **headers}) as response:
        return response.status, await response.text(), response.headers


async def figure(client, base: str, **fields):
    async with client.post(f"{base}/admin/money/figure", data=fields, allow_redirects=False,
                           headers=BEARER) as response:
        return response.status, await response.text(), response.headers


async def stored(app) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Spend))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_table_is_the_report_functions(telegram, tmp_path, backend):
    async with web_running(telegram, tmp_path, backend, admin_token=TOKEN,
                           timezone="Europe/Moscow") as (running, client, base):
        async with running.app.sessions() as session, session.begin():
            await build(session)
        for by in ("source", "campaign", "day"):
            status, html = await page(client, base, by=by, **PERIOD)
            assert status == 200
            async with running.app.sessions() as session:
                expected = await money(session, MoneyQuery(SINCE, UNTIL, "Europe/Moscow", by))
            shown = rows(html)
            assert len(shown) == len(expected["groups"]) + 2  # the paid sources, all
            assert shown["paid"][0] == str(expected["paid"]["spend"])
            assert shown["total"] == (str(expected["total"]["spend"]),
                                      str(expected["total"]["people"]),
                                      str(expected["total"]["won"]),
                                      str(expected["total"]["revenue"]))
        status, html = await page(client, base, **PERIOD, lang="ru")
        vk = re.search(r'data-group="vk".*?</tr>', html, re.S).group(0)
        assert "10\xa0000,00" in vk and "400,0 %" in vk  # Russian: spaces, comma
        tg = re.search(r'data-group="tg".*?</tr>', html, re.S).group(0)
        assert tg.count("нет расхода") == 5
        assert 'href="/admin/money"' in html
        assert "итого, платные источники" in html and "итого, все источники" in html


async def test_a_file_and_a_figure_are_stored(admin_web):
    running, client, base = admin_web
    status, _, headers = await upload(
        client, base, "\ufeffdate;source;campaign;amount\n2026-11-02;vk;весна;1 234,50\n"
        .encode())
    assert status == 303 and headers["Location"] == "/admin/money?saved=1"
    status, html = await page(client, base, saved="1", **PERIOD)
    assert 'id="spend-saved"' in html and rows(html)["vk"][0] == "123450"
    status, _, _ = await figure(client, base, source="vk", campaign="весна", month="2026-11",
                                amount="30000")
    assert status == 303
    _, html = await page(client, base, by="campaign", **PERIOD)
    assert rows(html)["vk/весна"][0] == "1000000"  # 10 of the month's 30 days
    assert await stored(running.app) == 1  # the month replaced the day within it


@pytest.mark.parametrize(("data", "status", "said"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 400, "the file is not UTF-8 text"),
    (b"date,source,amount,currency\n2026-11-02,vk,100,USD\n", 400,
     "row 2: currency USD: this installation counts in RUB"),
    (b"date,source,amount\n2026-11-31,vk,1\n2026-11-02,vk,-3\n", 400,
     "row 3: &#39;-3&#39; is negative"),
    (b"date,source,amount\n" + b"2026-11-02,vk,1\n" * 120_000, 413,
     "The file is too big"),
    (b"", 400, "Choose a CSV file"),
    (b"date,source,amount\n2026-11-01,vk,\"" + b"1" * 200_000 + b"\"\n", 400,
     "the file cannot be read as CSV near line 2"),  # was a 500: csv.Error let out
    (b"date,source,amount\n2026-11,vk,1\n03.11.2026,vk,2\n", 400,
     "row 3: vk: the month of row 2 (2026-11) and the day of row 3"),
])
async def test_bad_uploads_store_nothing(admin_web, data, status, said):
    running, client, base = admin_web
    got, html, _ = await upload(client, base, data)
    assert got == status
    assert said in html and 'id="spend-problems"' in html and "Nothing was stored" in html
    assert await stored(running.app) == 0


@pytest.mark.parametrize("fields", [
    {"source": "v k", "month": "2026-11", "amount": "1"},
    {"source": "vk", "month": "2026-11-02", "amount": "1"},
    {"source": "vk", "month": "2026-11", "amount": "-1"},
    {"source": "vk", "month": "", "amount": "lots"},
    {"source": "vk", "month": "1926-11", "amount": "1"},  # a typo'd year
])
async def test_bad_figures_store_nothing(admin_web, fields):
    running, client, base = admin_web
    status, html, _ = await figure(client, base, **fields)
    assert status == 400 and 'id="spend-problems"' in html
    assert await stored(running.app) == 0


async def test_the_forms_security(admin_web):
    running, client, base = admin_web
    data = b"date,source,amount\n2026-11-02,vk,1\n"
    status, _, _ = await upload(client, base, data, Origin="https://evil.example")
    assert status == 403
    async with aiohttp.ClientSession() as stranger:
        form = aiohttp.FormData()
        form.add_field("file", data, filename="s.csv")
        async with stranger.post(f"{base}/admin/money/spend", data=form) as response:
            assert response.status == 401
        async with stranger.get(f"{base}/admin/money") as response:
            assert response.status == 401
    assert await stored(running.app) == 0


async def test_a_save_keeps_the_period_and_rows(admin_web):
    """The answer to a form dropped the period and `by` the page showed."""
    _, client, base = admin_web
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"date,source,amount\n2026-11-02,vk,1\n"),
                   filename="s.csv")
    async with client.post(f"{base}/admin/money/spend", data=form, allow_redirects=False,
                           params={**PERIOD, "by": "campaign"}, headers=BEARER) as response:
        assert response.status == 303
        assert response.headers["Location"] == (
            f"/admin/money?since={SINCE}&until={UNTIL}&by=campaign&saved=1")
    _, html = await page(client, base, **PERIOD, by="campaign")
    assert f'action="/admin/money/spend?since={SINCE}&amp;until={UNTIL}&amp;by=campaign"' in html


@pytest.mark.parametrize(("lang", "said"), [
    ("ru", "файл не читается как CSV около строки 2"),
    ("uk", "файл не читається як CSV біля рядка 2"),
    ("ru", "строка 2: валюта USD: здесь всё считается в RUB"),
    ("uk", "рядок 2: валюта USD: тут усе рахується в RUB"),
    ("en", "row 2: currency USD: this installation counts in RUB"),
])
async def test_problems_in_the_readers_language(admin_web, lang, said):
    running, client, base = admin_web
    data = (b"date,source,amount\n2026-11-02,vk,\"" + b"1" * 200_000 + b"\"\n"
            if "CSV" in said else b"date,source,amount,currency\n2026-11-02,vk,1,USD\n")
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename="s.csv")
    async with client.post(f"{base}/admin/money/spend?lang={lang}", data=form,
                           headers=BEARER) as response:
        assert response.status == 400
        assert said in await response.text()
    assert await stored(running.app) == 0
