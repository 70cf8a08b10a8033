"""The home page (GET /admin, no flow) through the real server with the bearer token: each
flow's figures and their change against the period before equal the funnel's (what `leadbot
report --format json` prints) for both periods; the chart's days; the links to each flow's
page keep the period; a bad period is echoed beside its field with a 400."""

from __future__ import annotations

import html as entities
import re
from datetime import UTC, datetime, timedelta

from storage.reports.funnel import funnel
from storage.reports.period import FunnelQuery
from tests.web.conftest import TOKEN
from tests.web.demo import fill

BEARER = {"Authorization": f"Bearer {TOKEN}"}
KPI = re.compile(r'<div class="kpi" data-metric="(\w+)" data-now="([^"]*)" '
                 r'data-before="([^"]*)" data-way="(\w+)">(.*?)</div>', re.S)


async def get(client, url: str, **params):
    async with client.get(url, params=params, headers=BEARER) as response:
        return response.status, await response.text()


def card(html: str, name: str) -> str:
    found = re.search(rf'<article class="card flow-card" data-flow="{name}">(.*?)</article>',
                      html, re.S)
    assert found, f"no card for {name}"
    return found.group(1).split('<section class="variant"')[0]  # the variants' apart


def kpis(html: str) -> dict[str, tuple[str, str, str, str]]:
    return {m[0]: m[1:] for m in KPI.findall(html)}


def text(html: str) -> str:
    return " ".join(entities.unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def test_home_shows_each_flow_against_the_period_before(admin_web):
    running, client, base = admin_web
    app = running.app
    await fill(app.sessions, app.flows, prospects=200, days=14)
    today = datetime.now(UTC).date()
    since = today - timedelta(days=6)
    status, html = await get(client, f"{base}/admin")
    assert status == 200
    for name in ("kitchen-quiz", "renovation-checklist"):
        shown = kpis(card(html, name))
        async with app.sessions() as session:
            [now] = (await funnel(session, FunnelQuery(name, since, today)))["groups"]
            [before] = (await funnel(session, FunnelQuery(
                name, since - timedelta(days=7), since - timedelta(days=1))))["groups"]
        for metric, value in (("started", lambda g: g["started"]),
                              ("leads", lambda g: g["leads"]),
                              ("hot", lambda g: g["temperature"]["hot"]),
                              ("handoffs", lambda g: g["handoffs"]), ("won", lambda g: g["won"])):
            assert shown[metric][:2] == (str(value(now)), str(value(before))), (name, metric)
        claim = shown["claim"]
        assert claim[0] == ("" if now["time_to_claim"]["p50"] is None
                            else str(now["time_to_claim"]["p50"]))
        # the change a person reads: arrow, sign, percentage (or "new")
        started, was = now["started"], before["started"]
        words = text(shown["started"][3])
        if was:
            delta = round(100 * (started - was) / was, 1)
            arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
            sign = "+" if delta > 0 else "−" if delta < 0 else ""
            assert f"{arrow} {sign}{abs(delta):,.1f}".replace(".0", "") in words, words
        else:
            assert "▲ new" in words
        assert f"was {was}" in words
    main = kpis(card(html, "kitchen-quiz"))
    assert int(main["started"][0]) > 10 and int(main["started"][1]) > 10  # both periods
    # the flow's page, the same period
    assert (f'href="/admin?flow=kitchen-quiz&amp;since={since.isoformat()}&amp;'
            f'until={today.isoformat()}"') in html
    # the experiment: one card, its variants under it, each linking to its own flow
    experiment = re.search(r'data-flow="renovation-calculator">(.*?)</article>', html,
                           re.S).group(1)
    assert re.findall(r'data-variant="(\w+)"', experiment) == ["a", "b"]
    assert "/admin?flow=renovation-calculator-b&amp;since=" in experiment
    assert html.count('class="card flow-card"') == 3
    days = re.findall(r'<g class="day" data-day="([\d-]+)" data-started="(\d+)"', html)
    assert [d for d, _ in days] == [(since + timedelta(days=i)).isoformat() for i in range(7)]
    assert sum(int(n) for _, n in days) == sum(
        int(kpis(card(html, name))["started"][0])
        for name in ("kitchen-quiz", "renovation-calculator", "renovation-checklist"))
    assert 'id="movers"' in html
    assert "+7999" not in html and "Demo " not in html  # no lead's phone or name, ever


async def test_a_month_and_an_empty_home(admin_web):
    _, client, base = admin_web
    today = datetime.now(UTC).date()
    status, html = await get(client, f"{base}/admin", since=(today - timedelta(days=29))
                             .isoformat(), until=today.isoformat())
    assert status == 200
    assert len(re.findall(r'<g class="day"', html)) == 30
    assert 'id="home_month" class="current"' in html
    assert "Nobody started a flow in the period." in html
    assert kpis(card(html, "kitchen-quiz"))["started"] == ("0", "0", "same", kpis(
        card(html, "kitchen-quiz"))["started"][3])


async def test_a_bad_period_is_echoed_beside_its_field(admin_web):
    _, client, base = admin_web
    status, html = await get(client, f"{base}/admin", since="2026-13-45", until="2026-11-30")
    assert status == 400
    assert 'value="2026-13-45"' in html and 'aria-invalid="true"' in html
    error = re.search(r'<span class="field-error" id="since-error"[^>]*>(.*?)</span>', html, re.S)
    assert error and "«2026-13-45»" in error.group(1) and "YYYY-MM-DD" in error.group(1)
    assert 'id="until-error"' not in html and 'data-flow=' not in html
    status, html = await get(client, f"{base}/admin", since="2026-11-30", until="2026-11-01",
                             lang="ru")
    assert status == 400
    assert 'value="2026-11-30"' in html and 'value="2026-11-01"' in html  # as typed
    assert 'id="period-error"' in html and "Период должен" in html
