"""`funnels`: several groupings of the funnel counted in one pass (the dashboard's page)
equal `funnel` asked once per grouping, on SQLite and PostgreSQL, also when a person's
conversations fall into two groups (a person who came from two sources, or on two days:
counted once in all, once in each of their groups)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from storage.reports.funnel import funnel, funnels
from storage.reports.period import FunnelError
from storage.work.uow import UnitOfWork
from tests.storage.funnel_history import DAY1, FULL, PERIOD, History, build

PAGE = [None, "source", "variant"]  # what the dashboard's flow page asks for


@pytest.fixture
async def history(sessions):
    async with UnitOfWork(sessions) as uow:
        await build(uow)
        await uow.commit()
    return sessions


async def each(sessions, bys, **changes):
    """`funnel` once per grouping, each in a session of its own: the reference."""
    results = []
    for by in bys:
        async with sessions() as session:
            results.append(await funnel(session, dataclasses.replace(PERIOD, by=by,
                                                                     **changes)))
    return results


async def one_pass(sessions, bys, **changes):
    async with sessions() as session:
        return await funnels(session, dataclasses.replace(PERIOD, **changes), bys)


async def test_the_pages_groupings_in_one_pass_equal_funnel(history):
    together = await one_pass(history, PAGE)
    assert together == await each(history, PAGE)
    assert [r["by"] for r in together] == PAGE
    assert together[0]["groups"][0]["started"] == 4
    assert {g["group"]: g["started"] for g in together[1]["groups"]} == {
        "ig": 2, "vk": 1, "—": 1}
    # a source filter and every dimension at once
    assert await one_pass(history, PAGE, source="ig") == await each(history, PAGE,
                                                                   source="ig")
    every = [None, "source", "version", "variant", "language"]
    assert await one_pass(history, every) == await each(history, every)


async def test_a_person_in_two_groups_is_counted_once_in_all(history):
    # u1 started on the 2nd and came back on the 3rd (Moscow): two days, one person
    assert await one_pass(history, [None, "day"]) == await each(history, [None, "day"])
    # u7 comes from ig, then from vk: once in all, once in each source
    async with UnitOfWork(history) as uow:
        h = History(uow)
        await h.person(7, "ru")
        await h.conversation(7, DAY1 + timedelta(hours=2), "ig", ["intro", "q1", "=q1"])
        await h.conversation(7, DAY1 + timedelta(hours=3), "vk", FULL)
        await uow.commit()
    together = await one_pass(history, PAGE)
    assert together == await each(history, PAGE)
    everyone, sources = together[0]["groups"][0], together[1]["groups"]
    assert everyone["started"] == 5
    assert {s["step"]: s["reached"] for s in everyone["steps"]}["q1"] == 5
    assert {g["group"]: g["started"] for g in sources} == {"ig": 3, "vk": 2, "—": 1}


async def test_bad_groupings_in_one_pass(history):
    with pytest.raises(FunnelError, match="cannot group by 'colour'"):
        await one_pass(history, [None, "colour"])
    assert await one_pass(history, []) == []


async def test_an_experiment_in_one_pass_equal_funnel(sessions):
    """`--flow` naming an A/B experiment: the page's groupings in one pass are funnel()'s,
    the variants' flows in every group, the named flow first, the comparison by variant."""
    from tests.bot.test_variants_report import build as experiment

    async with UnitOfWork(sessions) as uow:
        await experiment(uow, {"a": (30, 6, 3, 2), "b": (30, 12, 5, 4)})
        await uow.commit()
    query = {"flow": "offer", "since": DAY1.date(), "until": DAY1.date()}
    assert await one_pass(sessions, PAGE, **query) == await each(sessions, PAGE, **query)
    everyone, by_source, by_variant = await one_pass(sessions, PAGE, **query)
    assert [(g["flow"], g["group"], g["started"]) for g in by_variant["groups"]] == [
        ("offer", "a", 30), ("offer", "—", 1), ("offer-b", "b", 30)]
    assert [g["flow"] for g in everyone["groups"]] == ["offer", "offer-b"]
    assert "comparison" in by_variant and "comparison" not in everyone
    assert "comparison" not in by_source
    assert by_variant["comparison"] == (await each(sessions, ["variant"], **query))[0][
        "comparison"]
