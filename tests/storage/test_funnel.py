"""The funnel over a hand-built history (tests/storage/funnel_history.py), on SQLite and
PostgreSQL: unique people, not events."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from dialogs.rules.funnel import percentile, step_order
from storage.reports.funnel import funnel
from storage.reports.period import FunnelError
from storage.work.uow import UnitOfWork
from tests.storage.funnel_history import PERIOD, build


@pytest.fixture
async def history(sessions):
    async with UnitOfWork(sessions) as uow:
        await build(uow)
        await uow.commit()
    return sessions


async def report(sessions, **changes):
    async with sessions() as session:
        return await funnel(session, dataclasses.replace(PERIOD, **changes))


def steps(group) -> dict[str, tuple[int, int, float | None]]:
    return {s["step"]: (s["reached"], s["answered"], s["drop_off"]) for s in group["steps"]}


async def test_unique_people_per_step_in_flow_order(history):
    result = await report(history)
    json.dumps(result)  # serialisable as it is
    [g] = result["groups"]
    assert (g["version"], g["group"], g["started"]) == (1, None, 4)  # u5, u6 outside
    assert [s["step"] for s in g["steps"]] == ["intro", "q1", "q2", "consent", "contact",
                                               "done"]
    # u1 answered q1 and q2 twice: counted once. u3 declined and reached the end without
    # the contact step: more people at "done" than at "contact", no drop-off there.
    assert steps(g) == {
        "intro": (4, 0, None), "q1": (4, 4, 0.0), "q2": (4, 3, 0.0),
        "consent": (3, 3, 25.0), "contact": (2, 2, 33.3), "done": (3, 0, None)}
    assert g["consent"] == {"given": 2, "declined": 1}
    assert g["contact"] == 2
    # u3's conversation was qualified (cold, closed) but left no contact: not a lead
    assert g["leads"] == 2
    assert g["temperature"] == {"hot": 2, "warm": 0, "cold": 0}
    assert g["target"] == {"yes": 2, "no": 0}
    assert (g["mql"], g["sql"]) == (2, 1)
    assert g["outcomes"] == {"handoff": 2, "nurture": 0, "close": 0}
    assert (g["handoffs"], g["claimed"], g["won"], g["lost"]) == (2, 2, 1, 1)
    assert g["time_to_claim"] == {"count": 2, "p50": 120.0, "p90": 168.0}
    assert g["time_to_first_contact"] == {"count": 1, "p50": 600.0, "p90": 600.0}


async def test_by_source(history):
    groups = {g["group"]: g for g in (await report(history, by="source"))["groups"]}
    assert list(groups) == ["ig", "vk", "—"]  # no source last
    assert {k: g["started"] for k, g in groups.items()} == {"ig": 2, "vk": 1, "—": 1}
    assert steps(groups["ig"])["q2"] == (2, 1, 0.0)
    assert groups["vk"]["time_to_claim"]["p50"] == 180.0
    assert groups["—"]["consent"] == {"given": 0, "declined": 1}


async def test_by_day_in_the_operators_time_zone(history):
    moscow = {g["group"]: g["started"] for g in (await report(history, by="day"))["groups"]}
    # u4 started 22:30 UTC on the 2nd: the 3rd in Moscow; u1 came back on the 3rd
    assert moscow == {"2026-11-02": 3, "2026-11-03": 2}
    utc = {g["group"]: g["started"]
           for g in (await report(history, by="day", timezone="UTC"))["groups"]}
    assert utc == {"2026-11-02": 4, "2026-11-03": 1}


async def test_a_source_filter_language_and_variant(history):
    only_vk = await report(history, source="vk")
    assert [g["started"] for g in only_vk["groups"]] == [1]
    languages = {g["group"]: g["started"]
                 for g in (await report(history, by="language"))["groups"]}
    assert languages == {"en": 1, "ru": 2, "uk": 1}
    [variant] = (await report(history, by="variant"))["groups"]
    assert (variant["group"], variant["started"]) == ("—", 4)


async def test_an_empty_period_and_bad_queries(history):
    assert (await report(history, since=date(2025, 1, 1), until=date(2025, 1, 2))
            )["groups"] == []
    with pytest.raises(FunnelError, match="before"):
        await report(history, since=date(2026, 11, 3), until=date(2026, 11, 2))
    with pytest.raises(FunnelError, match="cannot group by"):
        await report(history, by="colour")
    with pytest.raises(FunnelError, match="unknown time zone 'Mars/Olympus'"):
        await report(history, timezone="Mars/Olympus")


def test_percentiles_and_step_order():
    assert percentile([], 50) is None
    assert percentile([10], 90) == 10
    assert percentile([60, 180], 50) == 120 and percentile([60, 180], 90) == 168
    assert [s for s, _ in step_order({"start": "b", "steps": {"a": {}, "b": {}}})] == [
        "b", "a"]


async def test_counting_holds_no_write_lock(history):
    """On SQLite the report's transaction is a plain BEGIN: the bot writes while a report
    (or the dashboard) is still reading (with BEGIN IMMEDIATE this write would wait for the
    busy timeout and fail with "database is locked")."""
    from storage.schema.tables import Prospect

    async with history() as reading:
        result = await funnel(reading, PERIOD)
        assert reading.in_transaction()
        async with UnitOfWork(history) as uow:
            uow.prospects.add(Prospect(user_id=99, chat_id=99))
            await uow.commit()
    assert result["groups"][0]["started"] == 4
