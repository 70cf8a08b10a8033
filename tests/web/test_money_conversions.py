"""The Money page's table of the conversions sent to the ad platforms, through the real server
(the bot running; aiohttp client with the bearer token) on SQLite and PostgreSQL: its
numbers are those `leadbot report --conversions --format json` prints (a real process on the
same database), in the reader's language."""

from __future__ import annotations

import asyncio
import json
import os
import re

import pytest

from tests.bot.test_cli import LEADBOT
from tests.storage.conversions_history import SINCE, UNTIL, ZONE, build
from tests.web.conftest import TOKEN, web_running
from tests.web.test_money_page import PERIOD, page

STATUSES = ("pending", "sent", "accepted", "failed", "skipped")


def shown(html: str) -> dict[str, tuple[int, ...]]:
    return {m[0]: tuple(map(int, m[1:])) for m in re.findall(
        r'data-row="([^"]*)" data-pending="(\d+)" data-sent="(\d+)" data-accepted="(\d+)" '
        r'data-failed="(\d+)" data-skipped="(\d+)"', html)}


async def report(url: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update({"LEADBOT_DATABASE_URL": url, "LEADBOT_TIMEZONE": ZONE})
    process = await asyncio.create_subprocess_exec(
        LEADBOT, "report", "--conversions", "--since", SINCE.isoformat(), "--until",
        UNTIL.isoformat(), "--format", "json", env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_table_is_the_commands(telegram, tmp_path, backend):
    async with web_running(telegram, tmp_path, backend, admin_token=TOKEN,
                           timezone=ZONE) as (running, client, base):
        async with running.app.sessions() as session, session.begin():
            await build(session)
        status, html = await page(client, base, **PERIOD)
        assert status == 200
        expected = await report(running.app.settings.database_url)
        rows = {f"{r['platform']}/{r['moment']}/{r['goal']}": r for r in expected["rows"]}
        rows["total"] = expected["total"]
        assert shown(html) == {key: tuple(r[s] for s in STATUSES) for key, r in rows.items()}
        assert len(rows) == 7  # six goals and the total
        table = re.search(r'<table id="conversions-table">.*?</table>', html, re.S).group(0)
        assert "Yandex Metrica" in table and "Google Analytics" in table
        assert "no ad click: 2, no consent: 1" in table and "outcome unknown: 1" in table
        assert "HTTP 400: 1" in table  # a reason the page has no words for: as it is
        _, html = await page(client, base, **PERIOD, lang="ru")
        assert "Конверсии, отправленные в рекламные системы" in html
        assert "нет клика по рекламе: 2, нет согласия: 1" in html
        _, html = await page(client, base, since="2026-12-01", until="2026-12-31", lang="en")
        assert "No conversions in the period" in html and shown(html) == {}
