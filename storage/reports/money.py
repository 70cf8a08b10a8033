"""Money per source: what a source (a campaign, a day) cost and what it brought, for
`leadbot report --money` and the dashboard's Money page alike.

`money(session, MoneyQuery(...))` returns plain JSON-serialisable data; money in hundredths
of the installation's currency (integers; a spread spend is rounded to the hundredth):

    {"since": "2026-11-01", "until": "2026-11-30", "timezone": "Europe/Moscow",
     "by": "source", "flow": null, "currency": "RUB",
     "groups": [{"source": "vk", "campaign": null, "day": null,   # the group's key(s)
                 "spend": 1500000,          # null: no spend stored for the group
                 "clicks": 900, "people": 300, "leads": 60, "hot": 12, "handoffs": 12,
                 "won": 4, "won_without_amount": 1, "revenue": 4200000,
                 "cost_per_lead": 25000, "cost_per_hot": 125000, "cost_per_sale": 375000,
                 "romi": 180.0,             # percent: (revenue - spend) / spend
                 "median_days_to_sale": 6.5}, ...],
     "paid": {... the same over the paid sources ...},   # null: no spend in the period
     "total": {... the same over every group, costs and ROMI null ...},
     "other_currency": {"spend_rows": 0, "sales": 0},     # left out: not LEADBOT_CURRENCY
     "note": null}                # why there are no costs (a flow), what was left out

Who counts, as in the funnel (period.py): the people whose conversation STARTED in the
period (days in LEADBOT_TIMEZONE), whatever they did later: their leads, hot leads,
hand-offs, sales and the sales' revenue. People, leads, hot and hand-offs are distinct
people (a lead only where the person left a contact, as in the funnel); won is the won
leads (sales: status won or a recorded won_at), revenue the sum of their amounts (a won
lead without an amount yet counts as won, and is counted in
`won_without_amount`); median days from the lead's creation to its won_at. Clicks are the
tracking links' clicks made in the period; spend is each stored span's amount spread evenly
over its days, the days inside the period counted.

Groups: by source (the conversation's source; spend and clicks by their source), by
campaign (the pair source and campaign: spend typed for a source without a campaign stands
in its "—" campaign), by day (the day a conversation started, a click was made; spend
spread per day, all sources together). Across all flows by default: a source's spend buys
every flow it leads to. With a flow, people..revenue (and clicks: the links to that flow)
are that flow's, and the cost columns are not computed (a flow's share of the spend is not
known).

The totals: "paid" is the sources with spend in the period (the spend's sources, whatever
the grouping): their people..revenue, all the spend, and the costs and ROMI computed over
them only, so that free traffic (organic, referrals) does not flatter the cost per lead.
"total" is every source: the counts and the revenue of all, the spend, and no costs or
ROMI (they would blend free traffic in).

One currency: spend rows and sales in another currency than LEADBOT_CURRENCY (imported
before it changed, a CRM's sale in dollars) are left out of the spend and the revenue (a
sale still counts as won), counted in `other_currency` and said in `note`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, distinct, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dialogs.rules.funnel import CONTACT
from dialogs.rules.money import daily, median, ratio, romi, spread
from storage.db.engine import READ_ONLY
from storage.reports.period import MAX_DAYS, NONE, FunnelError, FunnelQuery, _midnight, _of_flow
from storage.schema.money import Click, Spend
from storage.schema.tables import Conversation, Handoff, Lead

BY = ("source", "campaign", "day")
COUNTS = ("people", "leads", "hot", "won", "won_without_amount", "revenue",
          "won_other_currency")
NO_COSTS = ("a flow's share of a source's spend is not known (the spend buys every flow "
            "it leads to): costs and ROMI are shown across all flows only")


@dataclass(frozen=True)
class MoneyQuery:
    since: date
    until: date  # included
    timezone: str = "UTC"
    by: str = "source"
    flow: str | None = None  # people..revenue of this flow (or A/B experiment) only
    currency: str = "RUB"

    def check(self) -> None:
        if self.by not in BY:
            raise FunnelError(f"cannot group money by {self.by!r}: use one of "
                              f"{', '.join(BY)}")
        if self.until < self.since:
            raise FunnelError(f"--until {self.until} is before --since {self.since}")
        if self.by == "day" and (self.until - self.since).days + 1 > MAX_DAYS:
            raise FunnelError(f"--by day over more than {MAX_DAYS} days: give a shorter "
                              "range")

    def period(self) -> FunnelQuery:
        return FunnelQuery(flow=self.flow or "", since=self.since, until=self.until,
                           timezone=self.timezone, by="day")


def _keys(query: MoneyQuery, table: Any, at: ColumnElement) -> list[ColumnElement]:
    """The group's key columns of conversations or clicks (`at`: when they began)."""
    if query.by == "source":
        return [table.source]
    if query.by == "campaign":
        return [table.source, table.campaign]
    zone = ZoneInfo(query.timezone)
    days = (query.until - query.since).days + 1
    return [case(*[(at < _midnight(query.since + timedelta(days=i + 1), zone),
                    literal((query.since + timedelta(days=i)).isoformat(), String))
                   for i in range(days)], else_=literal(NONE, String))]


async def money(session: AsyncSession, query: MoneyQuery) -> dict[str, Any]:
    """The money table (the module's docstring); FunnelError for a question it cannot
    answer."""
    query.check()
    if not session.in_transaction():
        await session.connection(execution_options={READ_ONLY: True})
    start, end = query.period().bounds()
    where = [Conversation.started_at >= start, Conversation.started_at < end]
    if query.flow:
        where.append(await _of_flow(session, query.flow))
    rows: dict[tuple, dict[str, Any]] = defaultdict(_empty)
    total = _empty()
    keys = _keys(query, Conversation, Conversation.started_at)
    for grouped in (True, False):
        for r in await _counts(session, keys if grouped else [], where, query.currency):
            row = rows[tuple(r[:-len(COUNTS)])] if grouped else total
            row.update(zip(COUNTS, (int(v or 0) for v in r[-len(COUNTS):]), strict=True))
        for r in await _handoffs(session, keys if grouped else [], where):
            (rows[tuple(r[:-1])] if grouped else total)["handoffs"] = r[-1]
    days_to_sale: dict[tuple, list[float]] = defaultdict(list)
    for *key, created, won in await _sales(session, keys, where):
        days_to_sale[tuple(key)].append((won - created).total_seconds() / 86400)
    await _clicks(session, query, start, end, rows, total)
    spend, total["spend"], sources = await _spend(session, query)
    for key, amount in spend.items():
        rows[key]["spend"] = amount
    paid = None
    if sources:
        paid = await _paid(session, query, where, start, end, sources, total["spend"])
    groups = []
    for key in sorted(rows, key=lambda k: tuple((v is None, v or "") for v in k)):
        row = rows[key]
        row["median_days_to_sale"] = median(days_to_sale.get(key, ()))
        groups.append(_costed(_named(query, key, row), query))
    total["median_days_to_sale"] = median(d for ds in days_to_sale.values() for d in ds)
    other = {"spend_rows": await _other_spend(session, query),
             "sales": total["won_other_currency"]}
    return {"since": query.since.isoformat(), "until": query.until.isoformat(),
            "timezone": query.timezone, "by": query.by, "flow": query.flow,
            "currency": query.currency, "groups": groups,
            "paid": paid and _costed(paid, query),
            "total": _costed(total, query, costs=False), "other_currency": other,
            "note": _note(query, other)}


def _note(query: MoneyQuery, other: dict[str, int]) -> str | None:
    said = [NO_COSTS] if query.flow else []
    if other["spend_rows"]:
        said.append(f"{other['spend_rows']} spend row(s) in another currency than "
                    f"{query.currency} (LEADBOT_CURRENCY) left out of the spend")
    if other["sales"]:
        said.append(f"{other['sales']} sale(s) in another currency than {query.currency} "
                    "(LEADBOT_CURRENCY) counted as won, left out of the revenue")
    return "; ".join(said) or None


async def _paid(session: AsyncSession, query: MoneyQuery, where: list[ColumnElement],
                start: datetime, end: datetime, sources: set[str], spend: Fraction | None
                ) -> dict[str, Any]:
    """The totals over the sources with spend (the module's docstring)."""
    paid = _empty()
    among = [*where, Conversation.source.in_(sorted(sources))]
    for r in await _counts(session, [], among, query.currency):
        paid.update(zip(COUNTS, (int(v or 0) for v in r), strict=True))
    for r in await _handoffs(session, [], among):
        paid["handoffs"] = r[-1]
    clicks = select(func.count()).select_from(Click).where(
        Click.created_at >= start, Click.created_at < end, Click.source.in_(sorted(sources)))
    if query.flow:
        clicks = clicks.where(Click.flow_id == query.flow)
    paid["clicks"] = await session.scalar(clicks)
    paid["spend"] = spend
    paid["median_days_to_sale"] = median(
        (won - created).total_seconds() / 86400
        for created, won in await _sales(session, [], among))
    return paid


def _empty() -> dict[str, Any]:
    return {"spend": None, "clicks": 0, "people": 0, "leads": 0, "hot": 0, "handoffs": 0,
            "won": 0, "won_without_amount": 0, "revenue": 0, "won_other_currency": 0}


def _won() -> ColumnElement:
    return or_(Lead.status == "won", Lead.won_at.is_not(None))


async def _counts(session: AsyncSession, keys: list[ColumnElement],
                  where: list[ColumnElement], currency: str) -> list[Any]:
    """Per group (the keys computed in a subquery, grouped outside it: one SQL on both
    databases, a CASE of days included): people, leads, hot, won, won without an amount,
    revenue (of sales in `currency`; a sale without a currency is in it), won in another
    currency."""
    # a lead counts where the person left a contact, as in the funnel (an "out of area"
    # end qualifies the conversation, but nobody there can be called)
    reachable = Conversation.progress[CONTACT].as_boolean().is_(True)
    inner = (select(*(k.label(f"k{i}") for i, k in enumerate(keys)),
                    Conversation.user_id.label("user_id"),
                    case((reachable, Lead.id)).label("lead"),
                    case((reachable, Lead.temperature)).label("temperature"),
                    _won().label("won"),
                    Lead.amount.label("amount"), Lead.currency.label("currency"))
             .select_from(Conversation).outerjoin(Lead, Lead.conversation_id == Conversation.id)
             .where(*where).subquery())
    group = [inner.c[f"k{i}"] for i in range(len(keys))]
    won = and_(inner.c.lead.is_not(None), inner.c.won)
    statement = select(
        *group, func.count(distinct(inner.c.user_id)),
        func.count(distinct(case((inner.c.lead.is_not(None), inner.c.user_id)))),
        func.count(distinct(case((inner.c.temperature == "hot", inner.c.user_id)))),
        func.count(case((won, inner.c.lead))),
        func.count(case((and_(won, inner.c.amount.is_(None)), inner.c.lead))),
        func.sum(case((and_(won, or_(inner.c.currency.is_(None),
                                     inner.c.currency == currency)), inner.c.amount))),
        func.count(case((and_(won, inner.c.amount.is_not(None),
                              inner.c.currency.is_not(None), inner.c.currency != currency),
                         inner.c.lead))))
    if group:
        statement = statement.group_by(*group)
    return list(await session.execute(statement))


async def _handoffs(session: AsyncSession, keys: list[ColumnElement],
                    where: list[ColumnElement]) -> list[Any]:
    inner = (select(*(k.label(f"k{i}") for i, k in enumerate(keys)),
                    Handoff.user_id.label("user_id"))
             .select_from(Handoff).join(Conversation, Conversation.id == Handoff.conversation_id)
             .where(*where).subquery())
    group = [inner.c[f"k{i}"] for i in range(len(keys))]
    statement = select(*group, func.count(distinct(inner.c.user_id)))
    if group:
        statement = statement.group_by(*group)
    return list(await session.execute(statement))


async def _sales(session: AsyncSession, keys: list[ColumnElement],
                 where: list[ColumnElement]) -> list[Any]:
    """(keys..., lead created, won at) of the cohort's sales with a won_at (few rows)."""
    return list(await session.execute(
        select(*keys, Lead.created_at, Lead.won_at).select_from(Conversation)
        .join(Lead, Lead.conversation_id == Conversation.id)
        .where(*where, Lead.won_at.is_not(None))))


async def _clicks(session: AsyncSession, query: MoneyQuery, start: datetime, end: datetime,
                  rows: dict[tuple, dict[str, Any]], total: dict[str, Any]) -> None:
    keys = _keys(query, Click, Click.created_at)
    inner = select(*(k.label(f"k{i}") for i, k in enumerate(keys)), Click.id).where(
        Click.created_at >= start, Click.created_at < end)
    if query.flow:
        inner = inner.where(Click.flow_id == query.flow)
    sub = inner.subquery()
    group = [sub.c[f"k{i}"] for i in range(len(keys))]
    for *key, n in await session.execute(select(*group, func.count()).group_by(*group)):
        rows[tuple(key)]["clicks"] = n
        total["clicks"] += n


def _in_period(query: MoneyQuery) -> list[ColumnElement]:
    return [Spend.first_day <= query.until, Spend.last_day >= query.since]


async def _other_spend(session: AsyncSession, query: MoneyQuery) -> int:
    """Stored spend rows of the period in another currency (left out)."""
    return await session.scalar(select(func.count()).select_from(Spend).where(
        *_in_period(query), Spend.currency != query.currency))


async def _spend(session: AsyncSession, query: MoneyQuery
                 ) -> tuple[dict[tuple, Fraction], Fraction | None, set[str]]:
    """Spend in the installation's currency per group key over the period, in all (None:
    no spend stored at all), and the sources it was spent on."""
    found: dict[tuple, Fraction] = defaultdict(Fraction)
    total: Fraction | None = None
    sources: set[str] = set()
    for r in await session.execute(
            select(Spend.source, Spend.campaign, Spend.first_day, Spend.last_day, Spend.amount)
            .where(*_in_period(query), Spend.currency == query.currency)):
        part = spread(r.amount, r.first_day, r.last_day, query.since, query.until)
        total = (total or Fraction(0)) + part
        sources.add(r.source)
        if query.by == "source":
            found[(r.source,)] += part
        elif query.by == "campaign":
            found[(r.source, r.campaign)] += part
        else:
            for day, each in daily(r.amount, r.first_day, r.last_day, query.since,
                                   query.until):
                found[(day.isoformat(),)] += each
    return found, total, sources


def _named(query: MoneyQuery, key: tuple, row: dict[str, Any]) -> dict[str, Any]:
    names = {"source": None, "campaign": None, "day": None}
    if query.by == "day":
        names["day"] = key[0]
    else:
        names["source"] = key[0] if key[0] is not None else NONE
        if query.by == "campaign":
            names["campaign"] = key[1] if key[1] is not None else NONE
    return {**names, **row}


def _costed(row: dict[str, Any], query: MoneyQuery, costs: bool = True) -> dict[str, Any]:
    """Cost per lead, hot lead and sale, and ROMI: None with no spend (the row's spend is
    None then), with nothing to divide by, for one flow (`note`), or not `costs` (the
    all-sources total)."""
    spend = None if query.flow or not costs else row["spend"]
    row.update(
        cost_per_lead=_rounded(ratio(spend, row["leads"])),
        cost_per_hot=_rounded(ratio(spend, row["hot"])),
        cost_per_sale=_rounded(ratio(spend, row["won"])),
        romi=romi(row["revenue"], spend))
    row["spend"] = _rounded(row["spend"])
    return row


def _rounded(value: Fraction | None) -> int | None:
    return None if value is None else round(value)
