"""Ad spend written and read: a file's rows (dialogs/rules/money.py `read_spend`) or a
figure typed for a month replace what was stored for the same period, in one transaction.

What a re-import replaces, precisely: the rows in hand cover the days `first..last` (the
earliest first day to the latest last day among them). Every stored row of a (source,
campaign) pair the rows name whose days lie wholly inside first..last is deleted, then the
rows are written. Importing the same file twice therefore stores it once; a corrected file
for the same days replaces the first; pairs the file does not name are kept. A stored row of
such a pair that reaches OUTSIDE first..last while overlapping it (a month typed on the
dashboard, then a file of a few of its days) cannot be split fairly: the import is refused
(SpendConflict), nothing written, and the message names the row to cover. Rows of one pair
for the same days in one file add up (an ad cabinet's export per ad group).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dialogs.rules.money import Problem, SpendRow
from storage.schema.money import Spend


class SpendConflict(ValueError):
    """Stored spend that a new period would overlap without covering: one line each."""

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


async def replace_spend(session: AsyncSession, rows: list[SpendRow], origin: str
                        ) -> Imported:
    """Writes `rows` in place of the stored spend they cover (the module's docstring), in
    the session's transaction (the caller commits). SpendConflict: nothing is changed."""
    assert rows, "read_spend returns rows only for a good file"
    first = min(r.first_day for r in rows)
    last = max(r.last_day for r in rows)
    pairs = sorted({(r.source, r.campaign) for r in rows}, key=lambda p: (p[0], p[1] or ""))
    named = or_(*(_pair(*p) for p in pairs))
    overlapping = (await session.execute(
        select(Spend.source, Spend.campaign, Spend.first_day, Spend.last_day, Spend.amount)
        .where(named, Spend.first_day <= last, Spend.last_day >= first))).all()
    outside = [r for r in overlapping if r.first_day < first or r.last_day > last]
    if outside:
        raise SpendConflict([
            Problem("conflict", pair=r.source + (f" / {r.campaign}" if r.campaign else ""),
                    first=r.first_day, last=r.last_day, since=first, until=last)
            for r in outside[:10]])
    inside = named & (Spend.first_day >= first) & (Spend.last_day <= last)
    await session.execute(delete(Spend).where(inside))
    await session.execute(insert(Spend), [
        {"first_day": r.first_day, "last_day": r.last_day, "source": r.source,
         "campaign": r.campaign, "amount": r.amount, "currency": r.currency,
         "origin": origin[:64]} for r in rows])
    per_source: dict[str, int] = defaultdict(int)
    for r in rows:
        per_source[r.source] += r.amount
    return Imported(len(rows), first, last, dict(sorted(per_source.items())),
                    len(overlapping), sum(r.amount for r in overlapping))


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
