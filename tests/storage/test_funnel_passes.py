"""`funnels`: several groupings of the funnel counted in one pass (the dashboard's page)
equal `funnel` asked once per grouping, on SQLite and PostgreSQL, both when the one pass's
sums are exact (each person in one group) and when they are not (a person who came from two
sources, or on two days: then each grouping is counted on its own)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from storage.funnel import FunnelError, _cohort, _one_group_each, funnel, funnels
from storage.uow import UnitOfWork
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


async def exact(sessions, dims, **changes) -> bool:
    async with sessions() as session:
        query = dataclasses.replace(PERIOD, **changes)
        return await _one_group_each(session, _cohort(query, dims), dims)


async def test_the_pages_groupings_in_one_pass_equal_funnel(history):
    assert await exact(history, ["source", "variant"])  # u1 came back from ig: one group
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
    assert not await exact(history, ["day"])
    assert await one_pass(history, [None, "day"]) == await each(history, [None, "day"])
    # u7 comes from ig, then from vk: once in all, once in each source
    async with UnitOfWork(history) as uow:
        h = History(uow)
        await h.person(7, "ru")
        await h.conversation(7, DAY1 + timedelta(hours=2), "ig", ["intro", "q1", "=q1"])
        await h.conversation(7, DAY1 + timedelta(hours=3), "vk", FULL)
        await uow.commit()
    assert not await exact(history, ["source", "variant"])
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
