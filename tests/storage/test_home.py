"""The home page's figures (storage/reports/home.py) on the dashboard's demo history, on
SQLite and PostgreSQL: each flow's, each A/B variant's, each day's and each source's equal
what `funnel()` (what `leadbot report --format json` prints) counts for the same days."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.service.flows import FlowRegistry
from storage.reports.funnel import funnel, funnels
from storage.reports.home import HomeQuery, home
from storage.reports.period import FunnelQuery
from storage.work.uow import UnitOfWork
from tests.web.demo import fill

FLOWS = Path(__file__).resolve().parents[2] / "dialogs" / "flows"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ZONE = "Europe/Moscow"
NAMES = ("kitchen-quiz", "renovation-calculator", "renovation-checklist")
SUMMED = ("started", "leads", "handoffs", "won")


@pytest.fixture
async def demo(sessions):
    flows = FlowRegistry.from_dir(FLOWS)
    async with UnitOfWork(sessions) as uow:
        await flows.snapshot(uow)
        await uow.commit()
    await fill(sessions, flows, prospects=240, now=NOW, days=16)
    return sessions


def totals(groups: list[dict]) -> dict:
    found = {k: sum(g[k] for g in groups) for k in SUMMED}
    found["hot"] = sum(g["temperature"]["hot"] for g in groups)
    return found


@pytest.mark.parametrize("days", [7, 3])
async def test_each_flow_and_period_equals_the_report(demo, days):
    until = date(2026, 11, 20)
    since = until - timedelta(days=days - 1)
    async with demo() as session:
        found = await home(session, HomeQuery(since, until, ZONE, NAMES))
        previous = (date.fromisoformat(found["previous"]["since"]),
                    date.fromisoformat(found["previous"]["until"]))
        assert previous == (since - timedelta(days=days), since - timedelta(days=1))
        for (first, last), period in (((since, until), "now"), (previous, "before")):
            for name in NAMES:
                asked = FunnelQuery(name, first, last, ZONE)
                whole, by_variant = await funnels(session, asked, [None, "variant"])
                mine = found["flows"][name][period]
                assert {k: mine[k] for k in (*SUMMED, "hot")} == totals(whole["groups"])
                if len(whole["groups"]) == 1:
                    assert mine["time_to_claim"] == whole["groups"][0]["time_to_claim"]
                variants = {g["group"]: g for g in by_variant["groups"] if g["group"] != "—"}
                assert set(found["flows"][name]["variants"]) >= set(variants)
                for variant, group in variants.items():
                    figures = found["flows"][name]["variants"][variant][period]
                    assert {k: figures[k] for k in (*SUMMED, "hot")} == totals([group])
                    assert figures["time_to_claim"] == group["time_to_claim"]
    # the demo reached every figure: a test of zeros proves nothing
    now = found["flows"]["kitchen-quiz"]["now"]
    assert now["started"] > 10 and now["hot"] > 0 and now["time_to_claim"]["count"] > 0
    assert set(found["flows"]["renovation-calculator"]["variants"]) == {"a", "b"}


@pytest.mark.parametrize("zone, until", [
    (ZONE, date(2026, 11, 20)),
    ("Europe/Kyiv", date(2026, 10, 28)),  # the clocks went back on 2026-10-25 there
    ("America/Los_Angeles", date(2026, 11, 4)),  # and on 2026-11-01 there
])
async def test_days_and_sources_equal_the_reports_by_day_and_by_source(sessions, zone, until):
    flows = FlowRegistry.from_dir(FLOWS)
    async with UnitOfWork(sessions) as uow:
        await flows.snapshot(uow)
        await uow.commit()
    await fill(sessions, flows, prospects=240, days=16,
               now=datetime.combine(until, datetime.min.time(), UTC) + timedelta(hours=15))
    since = until - timedelta(days=6)
    async with sessions() as session:
        found = await home(session, HomeQuery(since, until, zone, NAMES))
        people, leads, sources = Counter(), Counter(), Counter()
        for first, last, period in ((since, until, "now"),
                                    (since - timedelta(days=7), since - timedelta(days=1),
                                     "before")):
            for name in NAMES:
                by_source = await funnel(session, FunnelQuery(name, first, last, zone,
                                                              by="source"))
                for g in by_source["groups"]:
                    sources[(g["group"], period)] += g["leads"]
                if period == "now":
                    by_day = await funnel(session, FunnelQuery(name, first, last, zone,
                                                               by="day"))
                    for g in by_day["groups"]:
                        people[g["group"]] += g["started"]
                        leads[g["group"]] += g["leads"]
    # one conversation per demo prospect: the sum over flows is the distinct people
    assert [d["day"] for d in found["days"]] == [
        (since + timedelta(days=i)).isoformat() for i in range(7)]
    assert {d["day"]: d["started"] for d in found["days"] if d["started"]} == +people
    assert {d["day"]: d["leads"] for d in found["days"] if d["leads"]} == +leads
    assert sum(people.values()) > 20
    shown = Counter()
    for s in found["sources"]:
        shown[(s["source"], "now")] += s["now"]
        shown[(s["source"], "before")] += s["before"]
    assert +shown == +sources and len(+sources) > 4


async def test_an_empty_history(sessions):
    async with sessions() as session:
        found = await home(session, HomeQuery(date(2026, 11, 1), date(2026, 11, 30), "UTC",
                                              NAMES))
    assert found["previous"] == {"since": "2026-10-02", "until": "2026-10-31"}
    assert found["flows"]["kitchen-quiz"]["now"] == {
        "started": 0, "leads": 0, "hot": 0, "handoffs": 0, "won": 0,
        "time_to_claim": {"count": 0, "p50": None, "p90": None}}
    assert len(found["days"]) == 30 and found["sources"] == []


async def test_a_lead_without_a_contact_is_not_a_lead_here_either(demo):
    """An "out of area" end qualifies the conversation, yet nobody left a phone: the funnel
    does not count it as a lead, and neither does the home page."""
    from sqlalchemy import select

    from dialogs.rules.funnel import CONTACT
    from storage.schema.tables import Conversation, Lead

    until = date(2026, 11, 20)
    since = until - timedelta(days=6)
    async with demo() as session, session.begin():
        found = (await session.execute(
            select(Conversation).join(Lead, Lead.conversation_id == Conversation.id)
            .where(Conversation.flow_id == NAMES[0],
                   Conversation.started_at >= NOW - timedelta(days=4)).limit(10))
        ).scalars().all()
        assert len(found) == 10
        for conversation in found:
            conversation.progress = {k: v for k, v in conversation.progress.items()
                                     if k != CONTACT}
    async with demo() as session:
        mine = (await home(session, HomeQuery(since, until, ZONE, NAMES)))["flows"][NAMES[0]]
        whole = await funnel(session, FunnelQuery(NAMES[0], since, until, ZONE))
    assert {k: mine["now"][k] for k in (*SUMMED, "hot")} == totals(whole["groups"])
