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
    """version -> {"started", "steps": [(step, reached, answered, drop-off)], ...} as the
    page shows them (a step that asks nothing shows no "answered": None)."""
    return await page.eval_on_selector_all("figure.funnel", """figures => {
        const out = {};
        for (const f of figures) {
            out[f.dataset.version] = {
                started: Number(f.dataset.started),
                caption: f.querySelector('.started').textContent,
                steps: [...f.querySelectorAll('li.step')].map(s => [s.dataset.step,
                    Number(s.dataset.reached),
                    s.dataset.answered === '' ? null : Number(s.dataset.answered),
                    s.dataset.dropOff === '' ? null : Number(s.dataset.dropOff),
                    s.querySelector('.figure').textContent])};
        }
        return out;
    }""")


ASKS = ("single_choice", "multiple_choice", "free_text", "number", "consent", "contact")


def same(shown: dict, expected: dict) -> None:
    assert set(shown) == {str(g["version"]) for g in expected["groups"]}
    for group in expected["groups"]:
        figure = shown[str(group["version"])]
        assert figure["started"] == group["started"] > 0
        assert figure["caption"] == f"{group['started']:,}"
        assert [s[:4] for s in figure["steps"]] == [
            [s["step"], s["reached"], s["answered"] if s["kind"] in ASKS else None,
             s["drop_off"]] for s in group["steps"]]
        for text, step in zip((s[4] for s in figure["steps"]), group["steps"], strict=True):
            assert text.startswith(f"{step['reached']:,}")  # the number a person reads


async def test_the_funnel_page_equals_leadbot_report(demo_web, page):  # noqa: F811
    _, _, base, url = demo_web
    await page.set_viewport_size({"width": 1200, "height": 900})
    await page.goto(f"{base}/admin")
    await page.fill("#token", TOKEN)
    async with page.expect_navigation():
        await page.click("#sign-in button[type=submit]")
    await page.select_option("#flow", FLOW)  # the picker
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


LAYOUT = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].filter(e => {
        if (e.closest('.scroll')) return false;  // a table scrolls inside its card
        const r = e.getBoundingClientRect();
        return r.width > 0 && (r.right > width + 1 || r.left < -1);
    }).map(e => e.tagName + '#' + e.id + '.' + e.className);
    const outside = [];
    for (const card of document.querySelectorAll('.card')) {
        const box = card.getBoundingClientRect();
        for (const e of card.querySelectorAll('*')) {
            if (e.closest('.scroll') || !e.childNodes.length) continue;
            const r = e.getBoundingClientRect();
            if (r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1))
                outside.push(e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 40));
        }
    }
    const small = [...document.querySelectorAll('label, small, .legend, p, td, th, li')]
        .filter(e => e.getBoundingClientRect().width > 0 && e.textContent.trim())
        .map(e => parseFloat(getComputedStyle(e).fontSize)).filter(size => size < 12);
    return {page: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5),
            outside: outside.slice(0, 5), small: small.length};
}"""


@pytest.mark.parametrize("width", [1400, 400])
async def test_the_flow_page_fits_a_phone_and_a_wide_screen(demo_web, page, width):  # noqa: F811
    """No element wider than the viewport, no text outside its card, labels of 12 px or
    more, in each language; the figures still the report's (the kitchen quiz and the
    A/B experiment, whose verdict is the report's)."""
    _, _, base, url = demo_web
    await page.set_viewport_size({"width": width, "height": 900})
    await page.goto(f"{base}/admin")
    await page.fill("#token", TOKEN)
    async with page.expect_navigation():
        await page.click("#sign-in button[type=submit]")
    expected = await asyncio.to_thread(report, url)
    experiment = await asyncio.to_thread(report, url, "--by", "variant", "--flow",
                                         "renovation-calculator")
    for lang in ("ru", "uk", "en"):
        for flow in (FLOW, "renovation-calculator"):
            await page.goto(f"{base}/admin?flow={flow}&lang={lang}")
            layout = await page.evaluate(LAYOUT)
            assert layout["page"] <= layout["width"], (lang, flow, layout)
            assert not layout["wide"] and not layout["outside"], (lang, flow, layout)
            assert layout["small"] == 0, (lang, flow, layout)
        shown = await page.eval_on_selector_all("figure.funnel", """fs => fs.map(f => [
            f.dataset.flow, Number(f.dataset.started), Number(f.dataset.leads),
            [...f.querySelectorAll('li.step')].map(s => [s.dataset.step,
                Number(s.dataset.reached)])])""")
        assert shown == [[g["flow"], g["started"], g["leads"],
                          [[s["step"], s["reached"]] for s in g["steps"]]]
                         for g in experiment["groups"]]
        verdicts = await page.eval_on_selector_all(
            "#verdict li", "ls => ls.map(l => [l.dataset.variant, l.dataset.metric, "
                           "l.dataset.verdict])")
        assert verdicts == [[t["variant"], t["metric"], t["verdict"]]
                            for t in experiment["comparison"]["tests"]]
        assert await page.locator("nav.flows a", has_text=await page.inner_text(
            "nav.flows a.current")).count() == 1  # the experiment's title once
    await page.goto(f"{base}/admin?flow={FLOW}")
    assert await page.eval_on_selector_all(
        "figure.funnel", "fs => fs.map(f => Number(f.dataset.leads))") == [
        g["leads"] for g in expected["groups"]]
    picture = os.environ.get("LEADBOT_DASHBOARD_SCREENSHOT")
    if picture and width == 400:
        await page.goto(f"{base}/admin?flow={FLOW}&lang=en")
        await page.screenshot(path=picture.replace(".png", "-phone.png"), full_page=True,
                              clip={"x": 0, "y": 0, "width": 400, "height": 1600})
