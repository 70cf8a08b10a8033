"""What a spend import writes, on SQLite and PostgreSQL: a re-import of a period replaces
it (once stored, however often imported), pairs the file does not name are kept, a stored
span reaching outside the file's days refuses the import with nothing changed."""

from __future__ import annotations

import re
from datetime import date

import pytest

from dialogs.rules.money import read_spend
from storage.work.spend import SpendConflict, replace_spend, stored_spend

NOVEMBER = (b"date,source,campaign,amount\n2026-11-01,vk,spring,100\n"
            b"2026-11-02,vk,spring,200\n2026-11-02,ig,,50\n")


def rows(data: bytes):
    found, problems = read_spend(data, "RUB")
    assert problems == []
    return found


async def write(sessions, data: bytes):
    async with sessions() as session, session.begin():
        return await replace_spend(session, rows(data), "test")


async def stored(sessions, **period):
    async with sessions() as session:
        return [(r["first_day"], r["source"], r["campaign"], r["amount"])
                for r in await stored_spend(session, **period)]


async def test_reimport_replaces_the_period(sessions):
    first = await write(sessions, NOVEMBER)
    assert (first.rows, first.replaced, first.per_source) == (3, 0, {"ig": 5000, "vk": 30000})
    again = await write(sessions, NOVEMBER)
    assert (again.replaced, again.replaced_amount) == (3, 35000)
    assert await stored(sessions) == [("2026-11-01", "vk", "spring", 10000),
                                      ("2026-11-02", "ig", None, 5000),
                                      ("2026-11-02", "vk", "spring", 20000)]
    # a corrected vk file for the same days: ig (not named) is kept
    await write(sessions, b"date,source,campaign,amount\n2026-11-01,vk,spring,1\n"
                          b"2026-11-02,vk,spring,2\n")
    assert await stored(sessions) == [("2026-11-01", "vk", "spring", 100),
                                      ("2026-11-02", "ig", None, 5000),
                                      ("2026-11-02", "vk", "spring", 200)]
    assert await stored(sessions, since=date(2026, 11, 2)) == [
        ("2026-11-02", "ig", None, 5000), ("2026-11-02", "vk", "spring", 200)]


async def test_a_month_replaces_its_days_and_days_cannot_split_a_month(sessions):
    await write(sessions, NOVEMBER)
    month = await write(sessions, b"date,source,campaign,amount\n2026-11,vk,spring,3000\n")
    assert month.replaced == 2
    assert await stored(sessions) == [("2026-11-01", "vk", "spring", 300000),
                                      ("2026-11-02", "ig", None, 5000)]
    with pytest.raises(SpendConflict, match=re.escape(
            "vk / spring: spend stored for 2026-11-01..2026-11-30 reaches outside "
            "2026-11-02..2026-11-02")):
        await write(sessions, b"date,source,campaign,amount\n2026-11-02,vk,spring,1\n")
    assert await stored(sessions) == [("2026-11-01", "vk", "spring", 300000),
                                      ("2026-11-02", "ig", None, 5000)]
    # another campaign of the same source is another pair
    await write(sessions, b"date,source,campaign,amount\n2026-11-02,vk,autumn,1\n")
    assert len(await stored(sessions)) == 3
