"""The funnel page in a real headless Chromium against `leadbot report --format json`: a
person signs in, picks a flow, narrows it with the filter form, and the numbers the page
shows (read from the page: the SVG's data attributes and its text) are the report's, run
as a real process on the same database with the same filters.

LEADBOT_DASHBOARD_SCREENSHOT=docs/dashboard.png also saves the page as the picture of the
README and of docs/dashboard.md (`make screenshot`)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.bot.test_cli import LEADBOT
from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.conftest import TOKEN, web_running
from tests.web.demo import fill

ZONE = "Europe/Moscow"
FLOW = "kitchen-quiz"


@pytest.fixture
async def demo_web(telegram, tmp_path):
    async with web_running(telegram, tmp_path, admin_token=TOKEN, timezone=ZONE) as triple:
        running = triple[0]
        await fill(running.app.sessions, running.app.flows, prospects=160)
        yield (*triple, f"sqlite:///{tmp_path}/bot.db")


def report(url: str, *args: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update({"LEADBOT_DATABASE_URL": url, "LEADBOT_TIMEZONE": ZONE})
    result = subprocess.run([LEADBOT, "report", "--flow", FLOW, "--format", "json", *args],
                            capture_output=True, text=True, timeout=180, env=environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def shown_funnel(page) -> dict:  # noqa: F811
    """version -> {"started", "steps": [(step, reached, answered, drop-off)], "hot", ...}
    as the page shows them."""
    return await page.eval_on_selector_all("figure.funnel", """figures => {
        const out = {};
        for (const f of figures) {
            out[f.dataset.version] = {
                started: Number(f.dataset.started),
                caption: f.querySelector('.started').textContent,
                steps: [...f.querySelectorAll('g.step')].map(g => [g.dataset.step,
                    Number(g.dataset.reached), Number(g.dataset.answered),
                    g.dataset.dropOff === '' ? null : Number(g.dataset.dropOff),
                    g.querySelector('text.figure').textContent])};
        }
        return out;
    }""")


def same(shown: dict, expected: dict) -> None:
    assert set(shown) == {str(g["version"]) for g in expected["groups"]}
    for group in expected["groups"]:
        figure = shown[str(group["version"])]
        assert figure["started"] == group["started"] > 0
        assert figure["caption"] == f"{group['started']:,}"
        assert [s[:4] for s in figure["steps"]] == [
            [s["step"], s["reached"], s["answered"], s["drop_off"]] for s in group["steps"]]
        for text, step in zip((s[4] for s in figure["steps"]), group["steps"], strict=True):
            assert text.startswith(f"{step['reached']:,}")  # the number a person reads


async def test_the_funnel_page_equals_leadbot_report(demo_web, page):  # noqa: F811
    _, _, base, url = demo_web
    await page.set_viewport_size({"width": 1200, "height": 900})
    await page.goto(f"{base}/admin")
    await page.fill("#token", TOKEN)
    async with page.expect_navigation():
        await page.click("#sign-in button[type=submit]")
    await page.select_option("#flow", FLOW)
    async with page.expect_navigation():
        await page.click("#flow-picker button[type=submit]")
    assert await page.is_visible("#panel-funnel svg")

    today = datetime.now(ZoneInfo(ZONE)).date()
    expected = await asyncio.to_thread(report, url)  # the defaults: the last 30 days
    assert await page.input_value("#since") == (today - timedelta(days=29)).isoformat()
    same(await shown_funnel(page), expected)

    since = (today - timedelta(days=6)).isoformat()
    await page.fill("#since", since)
    await page.fill("#until", today.isoformat())
    await page.fill("#source", "vk")
    async with page.expect_navigation():
        await page.click("#filters button[type=submit]")
    narrowed = await asyncio.to_thread(report, url, "--since", since, "--until",
                                       today.isoformat(), "--source", "vk")
    same(await shown_funnel(page), narrowed)
    hot = [g["temperature"]["hot"] for g in narrowed["groups"]]
    shown_hot = await page.eval_on_selector_all(
        "#panel-temperature li[data-temperature=hot] strong",
        "els => els.map(e => Number(e.textContent.replace(/\\D/g, '')))")
    assert shown_hot == hot

    picture = os.environ.get("LEADBOT_DASHBOARD_SCREENSHOT")
    if picture:
        await page.goto(f"{base}/admin?flow={FLOW}")
        height = await page.evaluate(
            "document.querySelector('#panel-leads').getBoundingClientRect().top")
        await page.screenshot(path=picture, full_page=True, clip={"x": 0, "y": 0, "width": 1200,
                                                  "height": height + 10})
