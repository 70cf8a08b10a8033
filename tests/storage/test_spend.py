"""What a spend import writes, on SQLite and PostgreSQL: a re-import of a period replaces
it (once stored, however often imported), pairs the file does not name are kept, a stored
span reaching outside the file's days refuses the import with nothing changed."""

from __future__ import annotations

import asyncio
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
            "vk / spring: spend stored for 2026-11-01..2026-11-30 is only partly among the "
            "days given for it: give the whole of 2026-11-01..2026-11-30 to replace it")):
        await write(sessions, b"date,source,campaign,amount\n2026-11-02,vk,spring,1\n")
    assert await stored(sessions) == [("2026-11-01", "vk", "spring", 300000),
                                      ("2026-11-02", "ig", None, 5000)]
    # another campaign of the same source is another pair
    await write(sessions, b"date,source,campaign,amount\n2026-11-02,vk,autumn,1\n")
    assert len(await stored(sessions)) == 3


async def test_a_typo_year_in_a_new_file_does_not_wipe_months_of_stored_spend(sessions):
    """One row typed 2016 instead of 2026 in December's file made the replaced span ten
    years: every stored vk row in between (October, November) was deleted. A row replaces
    only its own day (or month) of its own pair."""
    autumn = b"date,source,amount\n" + b"".join(
        f"2026-{m:02d}-{d:02d},vk,100\n".encode() for m in (10, 11) for d in range(1, 29))
    await write(sessions, autumn)
    done = await write(sessions, b"date,source,amount\n2026-12-01,vk,500\n"
                                 b"2016-12-05,vk,1\n")
    assert done.replaced == 0
    kept = await stored(sessions, since=date(2026, 10, 1), until=date(2026, 11, 30))
    assert len(kept) == 56
    # the same file again replaces its two days only, and stores them once
    again = await write(sessions, b"date,source,amount\n2026-12-01,vk,500\n"
                                  b"2016-12-05,vk,1\n")
    assert (again.replaced, again.replaced_amount) == (2, 50100)
    assert len(await stored(sessions)) == 58


async def test_two_imports_of_one_file_at_once_store_it_once(sessions):
    """A double-clicked upload (or two operators): both transactions found nothing to
    replace, both inserted, and on PostgreSQL the spend was stored twice. The second waits
    for the first (PostgreSQL: the SPEND advisory lock; SQLite: its one writer) and then
    replaces what it stored, or is refused by SQLite's lock."""
    data = b"date,source,amount\n2026-11-01,vk,100\n"
    first, second = sessions(), sessions()
    try:
        await first.begin()
        await second.begin()
        await replace_spend(first, rows(data), "a")
        done = asyncio.ensure_future(replace_spend(second, rows(data), "b"))
        await asyncio.sleep(0.5)  # not a timing assertion: lets the second one reach its wait
        await first.commit()
        try:
            await done
            await second.commit()
        except Exception:  # SQLite: "database is locked" refusing the second is fine
            await second.rollback()
    finally:
        await first.close()
        await second.close()
    async with sessions() as session:
        assert [r["amount"] for r in await stored_spend(session)] == [10000]
