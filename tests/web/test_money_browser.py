"""The Money page in a real headless Chromium: a person signs in, follows the top bar's
Money link, sees the money table equal to `leadbot report --money --format json` (a real
process on the same database), groups it by campaign, uploads a bad spend file (told what
is wrong, nothing stored), a good one, and types a month's figure.

LEADBOT_MONEY_SCREENSHOT=docs/money.png also saves the page as the picture of the README
and of docs/funnel.md (`make screenshot`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

import pytest

from tests.bot.test_cli import LEADBOT
from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.conftest import TOKEN, web_running
from tests.web.demo import fill
from tests.web.money_demo import fill_money

ZONE = "Europe/Moscow"


@pytest.fixture
async def money_web(telegram, tmp_path):
    async with web_running(telegram, tmp_path, admin_token=TOKEN, timezone=ZONE) as triple:
        running = triple[0]
        await fill(running.app.sessions, running.app.flows, prospects=220)
        await fill_money(running.app.sessions)
        yield (*triple, f"sqlite:///{tmp_path}/bot.db")


def report(url: str, *args: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update({"LEADBOT_DATABASE_URL": url, "LEADBOT_TIMEZONE": ZONE})
    result = subprocess.run([LEADBOT, "report", "--money", "--format", "json", *args],
                            capture_output=True, text=True, timeout=180, env=environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def shown(page) -> dict[str, list[str]]:  # noqa: F811
    return await page.eval_on_selector_all("#money-table tbody tr", """rows => {
        const out = {};
        for (const r of rows) out[r.dataset.group] = [r.dataset.spend, r.dataset.people,
                                                      r.dataset.won, r.dataset.revenue];
        return out;
    }""")


def expected(result: dict, by: str) -> dict[str, list[str]]:
    def key(g: dict) -> str:
        return f"{g['source']}/{g['campaign']}" if by == "campaign" else g[by]
    rows = {key(g): g for g in result["groups"]}
    if result["paid"]:
        rows["paid"] = result["paid"]
    rows["total"] = result["total"]
    return {k: ["" if g["spend"] is None else str(g["spend"]), str(g["people"]),
                str(g["won"]), str(g["revenue"])] for k, g in rows.items()}


async def test_the_money_page(money_web, page, tmp_path):  # noqa: F811
    _, _, base, url = money_web
    await page.set_viewport_size({"width": 1400, "height": 900})
    await page.goto(f"{base}/admin")
    await page.fill("#token", TOKEN)
    async with page.expect_navigation():
        await page.click("#sign-in button[type=submit]")
    async with page.expect_navigation():
        await page.click("#nav-money")
    assert await shown(page) == expected(await asyncio.to_thread(report, url), "source")
    assert "no spend" in await page.inner_text("tr[data-group=youtube]")

    await page.select_option("#by", "campaign")
    async with page.expect_navigation():
        await page.click("#money-filters button[type=submit]")
    assert await shown(page) == expected(
        await asyncio.to_thread(report, url, "--by", "campaign"), "campaign")

    picture = os.environ.get("LEADBOT_MONEY_SCREENSHOT")
    if picture:
        await page.goto(f"{base}/admin/money")
        height = await page.evaluate(
            "document.querySelector('#spend-upload').getBoundingClientRect().bottom")
        await page.screenshot(path=picture, full_page=True,
                              clip={"x": 0, "y": 0, "width": 1400, "height": height + 16})

    bad = tmp_path / "bad.csv"
    bad.write_text("date;source;amount;currency\n2026-11-02;vk;100;USD\n", encoding="utf-8")
    await page.set_input_files("#spend-file", str(bad))
    async with page.expect_navigation():
        await page.click("#spend-upload button[type=submit]")
    assert "row 2: currency USD" in await page.inner_text("#spend-problems")
    good = tmp_path / "good.csv"
    good.write_text("date;source;campaign;amount\n2026-01;tg;;1 000,50\n", encoding="utf-8")
    await page.set_input_files("#spend-file", str(good))
    async with page.expect_navigation():
        await page.click("#spend-upload button[type=submit]")
    assert "1" in await page.inner_text("#spend-saved")
    if not picture:  # the period and rows chosen are kept after a save
        assert "by=campaign" in page.url and await page.input_value("#by") == "campaign"
    await page.fill("#figure-source", "tg")
    await page.fill("#figure-month", "2026-01")
    await page.fill("#figure-amount", "2 000")
    async with page.expect_navigation():
        await page.click("#spend-figure button[type=submit]")
    assert await page.is_visible("#spend-saved")
    listed = subprocess.run([LEADBOT, "spend", "list", "--since", "2026-01-01", "--until",
                             "2026-01-31", "--format", "json"], capture_output=True, text=True,
                            timeout=180, env={**{k: v for k, v in os.environ.items()
                                                 if not k.startswith("LEADBOT_")},
                                              "LEADBOT_DATABASE_URL": url})
    assert [(r["source"], r["amount"]) for r in json.loads(listed.stdout)] == [("tg", 200000)]
