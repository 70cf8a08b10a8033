"""The money report's arithmetic on tests/storage/money_history.py, on SQLite and
PostgreSQL: spend spread over days, missing spend, ROMI, median days to a sale, the cohort
by the day a conversation started (in the operator's time zone), clicks, one flow."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from storage.reports.money import NO_COSTS, MoneyQuery, money
from storage.reports.period import FunnelError
from storage.schema.money import Spend
from storage.schema.tables import Conversation, Lead
from tests.storage.money_history import SINCE, UNTIL, ZONE, build

QUERY = MoneyQuery(since=SINCE, until=UNTIL, timezone=ZONE, by="source")


@pytest.fixture
async def history(sessions):
    async with sessions() as session, session.begin():
        await build(session)
    return sessions


async def report(sessions, query: MoneyQuery = QUERY) -> dict:
    async with sessions() as session:
        return await money(session, query)


def group(result: dict, **key) -> dict:
    return next(g for g in result["groups"] if all(g[k] == v for k, v in key.items()))


async def test_by_source_counts_and_costs(history):
    result = await report(history)
    assert [g["source"] for g in result["groups"]] == ["ads", "ig", "tg", "vk", "—"]
    vk = group(result, source="vk")
    assert {k: vk[k] for k in ("spend", "clicks", "people", "leads", "hot", "handoffs",
                               "won", "won_without_amount", "revenue")} == {
        "spend": 1_000_000, "clicks": 3, "people": 4, "leads": 2, "hot": 1, "handoffs": 1,
        "won": 2, "won_without_amount": 1, "revenue": 5_000_000}
    # 10 of November's 30 days; costs over leads (2), hot (1), sales (2)
    assert (vk["cost_per_lead"], vk["cost_per_hot"], vk["cost_per_sale"]) == (
        500_000, 1_000_000, 500_000)
    assert vk["romi"] == 400.0
    assert vk["median_days_to_sale"] == 3.0


async def test_the_cohort_is_by_the_day_started_in_the_operators_zone(history):
    ig = group(await report(history), source="ig")
    # u5 started 10-31 21:30 UTC = 11-01 in Moscow (in); u6 at 20:30 UTC = 10-31 (out);
    # ig's 999.00 of 10-31 is outside the period
    assert (ig["people"], ig["leads"], ig["spend"], ig["clicks"]) == (2, 1, 50_000, 1)
    assert ig["cost_per_lead"] == 50_000
    assert ig["cost_per_hot"] is None and ig["cost_per_sale"] is None  # nothing to divide
    assert ig["romi"] == -100.0


async def test_missing_spend_is_none_not_zero(history):
    result = await report(history)
    tg = group(result, source="tg")
    assert tg["spend"] is None
    assert (tg["cost_per_lead"], tg["cost_per_sale"], tg["romi"]) == (None, None, None)
    assert (tg["won"], tg["revenue"], tg["median_days_to_sale"]) == (1, 20_000, 2.0)
    ads = group(result, source="ads")  # spend and nobody: a row all the same
    assert (ads["spend"], ads["people"], ads["cost_per_lead"], ads["romi"]) == (
        10_000, 0, None, -100.0)
    assert group(result, source="—")["spend"] is None


async def test_total(history):
    """Two totals: the paid sources (with spend in the period: vk, ig, ads) carry the
    costs and ROMI, computed over their own leads and revenue, so that tg's and the
    sourceless sales (free traffic) do not flatter them; all sources: counts, spend and
    revenue, no costs (they would be blended)."""
    result = await report(history)
    total = result["total"]
    assert total["spend"] == 1_060_000
    assert (total["people"], total["leads"], total["won"], total["revenue"]) == (
        8, 5, 4, 5_120_000)
    assert total["clicks"] == 4
    assert (total["romi"], total["cost_per_lead"], total["cost_per_sale"]) == (None,) * 3
    assert total["median_days_to_sale"] == 2.0  # 3, 1, 2
    paid = result["paid"]
    assert (paid["spend"], paid["people"], paid["leads"], paid["won"], paid["revenue"],
            paid["clicks"], paid["handoffs"]) == (1_060_000, 6, 3, 2, 5_000_000, 4, 1)
    assert paid["cost_per_lead"] == round(1_060_000 / 3)
    assert paid["romi"] == round((5_000_000 - 1_060_000) / 1_060_000 * 100, 1)
    assert paid["median_days_to_sale"] == 3.0
    for by in ("campaign", "day"):  # the paid sources whatever the rows
        assert (await report(history, replace(QUERY, by=by)))["paid"] == paid
    assert result["other_currency"] == {"spend_rows": 0, "sales": 0}
    assert result["note"] is None


async def test_no_spend_no_paid_total(sessions):
    result = await report(sessions)
    assert result["paid"] is None and result["total"]["spend"] is None


async def test_another_currency_is_left_out_and_said(history):
    """Spend and sales in another currency than LEADBOT_CURRENCY were added to roubles."""
    async with history() as session, session.begin():
        session.add(Spend(first_day=date(2026, 11, 5), last_day=date(2026, 11, 5),
                          source="vk", amount=77_700, currency="USD", origin="test"))
        u3 = await session.scalar(select(Conversation).where(Conversation.user_id == 3))
        u3.progress = {"contact": True}
        session.add(Lead(conversation_id=u3.id, user_id=3, flow_id="quiz", flow_version=1,
                         source="vk", temperature="hot", status="won", outcome="close",
                         created_at=u3.started_at, won_at=u3.started_at + timedelta(days=1),
                         amount=500_000, currency="USD"))
    result = await report(history)
    vk = group(result, source="vk")
    assert (vk["spend"], vk["won"], vk["revenue"], vk["won_other_currency"]) == (
        1_000_000, 3, 5_000_000, 1)
    assert result["total"]["spend"] == 1_060_000
    assert result["total"]["revenue"] == result["paid"]["revenue"] + 120_000
    assert result["other_currency"] == {"spend_rows": 1, "sales": 1}
    assert result["note"] == (
        "1 spend row(s) in another currency than RUB (LEADBOT_CURRENCY) left out of the "
        "spend; 1 sale(s) in another currency than RUB (LEADBOT_CURRENCY) counted as won, "
        "left out of the revenue")


async def test_by_campaign(history):
    result = await report(history, replace(QUERY, by="campaign"))
    assert group(result, source="ads", campaign="spring")["spend"] == 10_000
    assert group(result, source="vk", campaign="—")["people"] == 4


async def test_by_day_spreads_spend(history):
    result = await report(history, replace(QUERY, by="day"))
    days = {g["day"]: g for g in result["groups"]}
    assert sorted(days) == [f"2026-11-{d:02d}" for d in range(1, 11)]
    assert days["2026-11-01"]["people"] == 1  # u5, in Moscow time
    assert days["2026-11-02"]["spend"] == 100_000 + 50_000
    assert days["2026-11-02"]["clicks"] == 3
    assert days["2026-11-03"]["spend"] == 110_000
    assert days["2026-11-04"]["spend"] == 100_000
    assert sum(g["spend"] for g in days.values()) == 1_060_000


async def test_one_flow_has_no_costs(history):
    result = await report(history, replace(QUERY, flow="quiz"))
    vk = group(result, source="vk")
    assert vk["people"] == 3  # u9 is the other flow's
    assert vk["spend"] == 1_000_000
    assert (vk["cost_per_lead"], vk["romi"]) == (None, None)
    assert result["note"] == NO_COSTS


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("query", "message"), [
    (replace(QUERY, by="language"), "cannot group money by 'language'"),
    (replace(QUERY, since=UNTIL, until=SINCE), "is before --since"),
])
async def test_bad_questions(sessions, query, message):
    with pytest.raises(FunnelError, match=message):
        await report(sessions, query)


async def test_a_lead_without_a_contact_is_not_a_lead(history):
    """An "out of area" end qualifies the conversation, yet nobody left a phone: no lead
    for the money either, as in the funnel (the flow page and Home count the same)."""
    async with history() as session, session.begin():
        u3 = await session.scalar(select(Conversation).where(Conversation.user_id == 3))
        session.add(Lead(conversation_id=u3.id, user_id=3, flow_id="quiz", flow_version=1,
                         source="vk", temperature="hot", outcome="close",
                         created_at=u3.started_at))
    before = group(await report(history), source="vk")
    async with history() as session, session.begin():
        u3 = await session.scalar(select(Conversation).where(Conversation.user_id == 3))
        u3.progress = {"contact": True}
    after = group(await report(history), source="vk")
    assert (after["leads"] - before["leads"], after["hot"] - before["hot"]) == (1, 1)
