"""Ad spend written and read: a file's rows (dialogs/rules/money.py `read_spend`) or a
figure typed for a month replace what was stored for the same days, in one transaction.

What a re-import replaces, precisely, per (source, campaign) pair the rows name: the days
the file gives for that pair (a day row: that day; a month row: the month's days), and
nothing else. A stored row of the pair whose days all lie among them is deleted; then the
rows are written. So importing the same file twice stores it once; a corrected file for
the same days replaces the first; days of a pair the file does not give, and pairs it does
not name, are kept: one mistyped year (2016-12-05 in December's file) replaces that one
day of 2016, never the months between. A month typed or imported replaces the days stored
for it (every one of its days is given). A stored row of the pair only PARTLY among the
file's days (a month stored, then a file of a few of its days) cannot be split fairly:
the import is refused (SpendConflict), nothing written, and the line names the stored row
to give whole. Rows of one pair for the same days in one file add up (an ad cabinet's
export per ad group).

Two imports at once (a double-clicked upload, two operators): the PostgreSQL advisory lock
SPEND (storage/db/locks.py) makes each one's read, delete and write one step, so the
second replaces what the first stored; SQLite serialises writers itself.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dialogs.rules.money import Problem, SpendRow, days, pair_name
from storage.db.locks import lock_spend
from storage.schema.money import Spend

DELETE_CHUNK = 500  # ids per DELETE ... IN (...)


class SpendConflict(ValueError):
    """Stored spend that new rows would overlap without covering: one line each."""

    def __init__(self, lines: list[Problem]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


@dataclass
class Imported:
    rows: int
    first_day: date
    last_day: date
    per_source: dict[str, int] = field(default_factory=dict)  # hundredths
    replaced: int = 0  # stored rows deleted
    replaced_amount: int = 0


def _pair(source: str, campaign: str | None) -> ColumnElement:
    return and_(Spend.source == source,
                Spend.campaign.is_(None) if campaign is None else Spend.campaign == campaign)


def _given(rows: list[SpendRow]) -> dict[tuple[str, str | None], list[date]]:
    """Per pair, the days its rows give, sorted, each once."""
    found: dict[tuple[str, str | None], set[date]] = defaultdict(set)
    for r in rows:
        found[(r.source, r.campaign)].update(
            r.first_day + timedelta(days=i) for i in range(days(r.first_day, r.last_day)))
    return {pair: sorted(given) for pair, given in found.items()}


async def replace_spend(session: AsyncSession, rows: list[SpendRow], origin: str
                        ) -> Imported:
    """Writes `rows` in place of the stored spend of the days they give (the module's
    docstring), in the session's transaction (the caller commits). SpendConflict: nothing
    is changed."""
    assert rows, "read_spend returns rows only for a good file"
    await lock_spend(session)
    replaced, partly = [], []
    for (source, campaign), given in sorted(_given(rows).items(),
                                            key=lambda p: (p[0][0], p[0][1] or "")):
        for r in await session.execute(
                select(Spend.id, Spend.first_day, Spend.last_day, Spend.amount)
                .where(_pair(source, campaign), Spend.first_day <= given[-1],
                       Spend.last_day >= given[0])):
            among = bisect_right(given, r.last_day) - bisect_left(given, r.first_day)
            if among == days(r.first_day, r.last_day):
                replaced.append(r)
            elif among:
                partly.append(Problem("conflict", pair=pair_name(source, campaign),
                                      first=r.first_day, last=r.last_day))
    if partly:
        raise SpendConflict(partly[:10])
    ids = [r.id for r in replaced]
    for i in range(0, len(ids), DELETE_CHUNK):
        await session.execute(delete(Spend).where(Spend.id.in_(ids[i:i + DELETE_CHUNK])))
    await session.execute(insert(Spend), [
        {"first_day": r.first_day, "last_day": r.last_day, "source": r.source,
         "campaign": r.campaign, "amount": r.amount, "currency": r.currency,
         "origin": origin[:64]} for r in rows])
    per_source: dict[str, int] = defaultdict(int)
    for r in rows:
        per_source[r.source] += r.amount
    return Imported(len(rows), min(r.first_day for r in rows),
                    max(r.last_day for r in rows), dict(sorted(per_source.items())),
                    len(replaced), sum(r.amount for r in replaced))


async def stored_spend(session: AsyncSession, since: date | None = None,
                       until: date | None = None) -> list[dict]:
    """The stored rows overlapping since..until (either open), by day, source, campaign."""
    statement = select(Spend.first_day, Spend.last_day, Spend.source, Spend.campaign,
                       Spend.amount, Spend.currency, Spend.origin)
    if since is not None:
        statement = statement.where(Spend.last_day >= since)
    if until is not None:
        statement = statement.where(Spend.first_day <= until)
    statement = statement.order_by(Spend.first_day, Spend.source, Spend.campaign,
                                   Spend.last_day)
    return [{"first_day": r.first_day.isoformat(), "last_day": r.last_day.isoformat(),
             "source": r.source, "campaign": r.campaign, "amount": r.amount,
             "currency": r.currency, "origin": r.origin}
            for r in await session.execute(statement)]
