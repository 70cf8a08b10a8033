"""The conversions report on tests/storage/conversions_history.py, on SQLite and PostgreSQL:
per platform and goal, each status counted, the skipped and failed by reason, the period's
days in the operator's time zone, the CRM's rows left out."""

from __future__ import annotations

from datetime import date

import pytest

from storage.reports.conversions import ConversionsQuery, conversions
from storage.reports.period import FunnelError
from tests.storage.conversions_history import EXPECTED, SINCE, TOTAL, UNTIL, ZONE, build

QUERY = ConversionsQuery(since=SINCE, until=UNTIL, timezone=ZONE)


@pytest.fixture
async def history(sessions):
    async with sessions() as session, session.begin():
        await build(session)
    return sessions


async def report(sessions, query: ConversionsQuery = QUERY) -> dict:
    async with sessions() as session:
        return await conversions(session, query)


async def test_per_platform_and_goal(history):
    result = await report(history)
    assert (result["since"], result["until"], result["timezone"]) == (
        "2026-11-01", "2026-11-10", ZONE)
    assert result["rows"] == EXPECTED  # in order: metrica, meta, ga4; lead .. lost
    assert result["total"] == TOTAL
    assert list(result["total"]["skipped_by"]) == ["no_click", "duplicate", "no_consent",
                                                   "too_old"]  # most first, then by name


async def test_the_days_are_the_operators(history):
    """In UTC the edge row (2026-10-31 21:30 UTC) is outside 11-01..11-10, and the row
    at 2026-11-10 21:00 UTC inside; in Moscow the other way round."""
    utc = await report(history, ConversionsQuery(SINCE, UNTIL, "UTC"))
    moscow = await report(history)
    assert utc["total"]["accepted"] == moscow["total"]["accepted"] == 5
    edge = await report(history, ConversionsQuery(date(2026, 11, 1), date(2026, 11, 1), ZONE))
    assert edge["rows"] == [EXPECTED[0] | {"sent": 0, "pending": 0, "skipped": 0,
                                           "skipped_by": {}, "accepted": 1}]
    late = await report(history, ConversionsQuery(date(2026, 11, 11), date(2026, 11, 11),
                                                  ZONE))
    assert late["total"]["accepted"] == 1 and late["rows"][0]["goal"] == "leadbot_hot"


async def test_an_empty_period_and_bad_questions(history):
    empty = await report(history, ConversionsQuery(date(2026, 12, 1), date(2026, 12, 31),
                                                   ZONE))
    assert empty["rows"] == [] and empty["total"]["sent"] == 0
    with pytest.raises(FunnelError, match="before --since"):
        await report(history, ConversionsQuery(UNTIL, SINCE, ZONE))
    with pytest.raises(FunnelError, match="unknown time zone"):
        await report(history, ConversionsQuery(SINCE, UNTIL, "Mars/Olympus"))
