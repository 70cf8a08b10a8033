"""The home page in a real headless Chromium against `leadbot report --format json` (a
real process on the same database): at 1400 and 400 px in en / ru / uk, no element is wider
than the window (tables scroll inside their card), and every flow's and variant's figures
on the page, this period and the one before, are the report's for the same days.

LEADBOT_HOME_SCREENSHOT=docs/img/home.png also saves the page as the picture of
docs/dashboard.md (`make screenshot`)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.rules.funnel import share
from tests.bot.test_cli import LEADBOT
from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.conftest import TOKEN, web_running
from tests.web.demo import fill

ZONE = "Europe/Moscow"
NAMES = ("kitchen-quiz", "renovation-calculator", "renovation-checklist")
COUNTS = ("started", "leads", "hot", "handoffs", "won")
# what sticks out of the window: anything but what scrolls inside its card
WIDE = """() => [...document.querySelectorAll('body *')].filter(e => {
    if (e.closest('.scroll')) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > window.innerWidth + 0.5 || r.left < -0.5);
}).map(e => e.tagName + '#' + e.id + '.' + e.className.baseVal + e.className)"""
SHOWN = """cards => cards.map(card => [card.dataset.flow, card.dataset.variant || null,
    [...card.querySelectorAll(':scope > dl .kpi')].map(k => [k.dataset.metric, k.dataset.now,
        k.dataset.before, k.querySelector('.now').textContent,
        k.querySelector('.delta').textContent])])"""


@pytest.fixture
async def home_web(telegram, tmp_path):
    async with web_running(telegram, tmp_path, admin_token=TOKEN, timezone=ZONE) as triple:
        running = triple[0]
        await fill(running.app.sessions, running.app.flows, prospects=260, days=14)
        yield (*triple, f"sqlite:///{tmp_path}/bot.db")


def report(url: str, flow: str, since: date, until: date, *args: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update({"LEADBOT_DATABASE_URL": url, "LEADBOT_TIMEZONE": ZONE})
    result = subprocess.run([LEADBOT, "report", "--flow", flow, "--since", since.isoformat(),
                             "--until", until.isoformat(), "--format", "json", *args],
                            capture_output=True, text=True, timeout=180, env=environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def counted(groups: list[dict]) -> dict[str, int]:
    return {"started": sum(g["started"] for g in groups),
            "leads": sum(g["leads"] for g in groups),
            "hot": sum(g["temperature"]["hot"] for g in groups),
            "handoffs": sum(g["handoffs"] for g in groups), "won": sum(g["won"] for g in groups),
            # one group (a flow of one version, a variant): the report's median itself
            "claim": groups[0]["time_to_claim"]["p50"] if len(groups) == 1 else "any"}


async def expected(url: str, since: date, until: date) -> dict:
    """(flow, variant) -> {"now": counts, "before": counts} from the command."""
    days = (until - since).days + 1
    periods = {"now": (since, until),
               "before": (since - timedelta(days=days), since - timedelta(days=1))}
    out: dict = {}
    for period, (first, last) in periods.items():
        for name in NAMES:
            whole = await asyncio.to_thread(report, url, name, first, last)
            out.setdefault((name, None), {})[period] = counted(whole["groups"])
            if name == "renovation-calculator":
                by = await asyncio.to_thread(report, url, name, first, last, "--by", "variant")
                for g in by["groups"]:
                    out.setdefault((name, g["group"]), {})[period] = counted([g])
    return out


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


async def test_the_home_page_equals_leadbot_report_at_every_width(home_web, page):  # noqa: F811
    _, _, base, url = home_web
    await page.set_viewport_size({"width": 1400, "height": 900})
    await page.goto(f"{base}/admin")
    await page.fill("#token", TOKEN)
    async with page.expect_navigation():
        await page.click("#sign-in button[type=submit]")
    today = datetime.now(ZoneInfo(ZONE)).date()
    since = today - timedelta(days=6)
    assert await page.input_value("#since") == since.isoformat()  # a week by default
    wanted = await expected(url, since, today)
    assert wanted[("kitchen-quiz", None)]["now"]["started"] > 10  # the demo reached it

    for lang in ("en", "ru", "uk"):
        for width in (1400, 400):
            await page.set_viewport_size({"width": width, "height": 900})
            await page.goto(f"{base}/admin?lang={lang}")
            assert await page.evaluate(WIDE) == [], (lang, width)
            assert await page.evaluate(
                "document.documentElement.scrollWidth <= window.innerWidth"), (lang, width)
            # the chart's day labels keep a readable size at a phone's width
            sizes = await page.eval_on_selector_all(
                "svg.daily text", "ts => ts.map(t => parseFloat(getComputedStyle(t).fontSize))")
            assert sizes and min(sizes) >= 11
            cards = await page.eval_on_selector_all(".flow-card, .variant", SHOWN)
            # a variant's section lies inside its experiment's card
            sections = await page.eval_on_selector_all(
                ".variant", "vs => vs.map(v => [v.closest('.flow-card').dataset.flow, "
                "v.dataset.variant])")
            assert sections == [["renovation-calculator", "a"], ["renovation-calculator", "b"]]
            keys = {(f if v is None else "renovation-calculator", v) for f, v, _ in cards}
            assert keys == set(wanted)
            for flow, variant, figures in cards:
                key = (flow if variant is None else "renovation-calculator", variant)
                told = wanted[key]["now"]
                for metric, now, before, text, _ in figures:
                    if metric == "claim" and told["claim"] != "any":
                        assert now == ("" if told["claim"] is None else str(told["claim"]))
                    if metric == "lead_rate":
                        assert float(now) == share(told["leads"], told["started"])
                    if metric == "hot_rate" and told["leads"]:
                        assert float(now) == share(told["hot"], told["leads"])
                    if metric in COUNTS:
                        assert int(now) == wanted[key]["now"][metric], (key, metric)
                        assert int(before) == wanted[key]["before"][metric], (key, metric)
                        assert digits(text) == int(now)  # the number a person reads

    picture = os.environ.get("LEADBOT_HOME_SCREENSHOT")
    if picture:
        await page.set_viewport_size({"width": 1200, "height": 900})
        await page.goto(f"{base}/admin?lang=en")
        height = await page.evaluate(
            "document.querySelector('[data-flow=kitchen-quiz]').getBoundingClientRect().bottom")
        await page.screenshot(path=picture, full_page=True,
                              clip={"x": 0, "y": 0, "width": 1200, "height": height + 12})
