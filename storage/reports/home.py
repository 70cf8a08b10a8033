"""The dashboard's home page: every flow (and A/B experiment) in a period against the
period of the same length just before it, the period's people and leads per day, and the
sources whose leads moved most; for all flows at once, in two reads (the conversations of
both periods with their lead, and their hand-offs).

The same people as the funnel (funnel.py), so a flow's figures equal `leadbot report
--flow NAME` for the same days: conversations that STARTED in the period (days in the
operator's time zone), counted as distinct people; a NAME is a flow id or an experiment's
name, and an experiment's conversations are all its variants' (period.py `_of_flow`).
Time to claim is per hand-off, from the card posted to the claim, like the funnel's.

    home(session, HomeQuery(since, until, timezone, names=("kitchen-quiz", ...))) ->
    {"since": "2026-11-24", "until": "2026-11-30",                      # this period
     "previous": {"since": "2026-11-17", "until": "2026-11-23"},         # as long, before
     "timezone": "Europe/Moscow",
     "flows": {"kitchen-quiz": {"now": FIGURES, "before": FIGURES,
                                "variants": {"b": {"now": FIGURES, "before": FIGURES}}}},
     "days": [{"day": "2026-11-24", "started": 12, "leads": 3}, ...],   # this period
     "sources": [{"source": "vk", "now": 8, "before": 3}, ...]}         # leads; "—": none
    FIGURES = {"started", "leads", "hot", "handoffs", "won",
               "time_to_claim": {"count", "p50", "p90"}}

A day's and a source's people are distinct across all the flows named (someone who started
two flows that day counts once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dialogs.rules.funnel import CONTACT, timing
from storage.db.engine import READ_ONLY
from storage.reports.period import NONE, FunnelQuery
from storage.schema.tables import Conversation, Handoff, Lead

NOW, BEFORE = 0, 1  # the periods
COUNTED = ("started", "leads", "hot", "handoffs", "won")


@dataclass(frozen=True)
class HomeQuery:
    since: date
    until: date  # included
    timezone: str
    names: Sequence[str]  # flow ids and experiments' names, one figure each

    def previous(self) -> tuple[date, date]:
        """The period of the same length that ends the day before `since`."""
        days = (self.until - self.since).days + 1
        return self.since - timedelta(days=days), self.since - timedelta(days=1)


async def home(session: AsyncSession, query: HomeQuery) -> dict[str, Any]:
    if not session.in_transaction():  # on SQLite, no write lock while counting
        await session.connection(execution_options={READ_ONLY: True})
    first, last = query.previous()
    days = [first + timedelta(days=i) for i in range((query.until - first).days + 2)]
    # each day's first moment in UTC, and the end of the last
    edges = [FunnelQuery("", day, day, query.timezone).bounds()[0] for day in days]
    start, end = edges[0], edges[-1]
    split = (query.since - first).days  # days before it are the previous period's
    names = list(query.names)
    where = [or_(Conversation.flow_id.in_(names), Conversation.experiment.in_(names)),
             Conversation.started_at >= start, Conversation.started_at < end]
    connection = await session.connection()
    belongs: dict[tuple[str, str | None], tuple[str, ...]] = {}

    def of(flow: str, experiment: str | None) -> tuple[str, ...]:
        found = belongs.get((flow, experiment))
        if found is None:
            found = belongs[(flow, experiment)] = tuple(
                n for n in names if n in (flow, experiment))
        return found

    # a conversation's day (0: the previous period's first); the previous period's days
    # are not told apart: only the chart, this period's, needs them
    day = case((Conversation.started_at < edges[split], literal(0, Integer)),
               else_=_day_index(edges, split))
    people: dict[tuple, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    claims: dict[tuple, list[float]] = defaultdict(list)
    daily: dict[tuple[int, str], set[str]] = defaultdict(set)
    sourced: dict[tuple[str, int], set[str]] = defaultdict(set)
    # people per "signature" (flow, experiment, variant, source, day, lead, temperature): a
    # few thousand of them for tens of thousands of conversations, grouped by the database,
    # each signature's people as one text of ids (kept as texts: only told apart here, and
    # a row per conversation through the driver cost more than all the rest). A lead
    # counts where the person left a contact, as in the funnel (an "out of area" end
    # qualifies the conversation, but nobody there can be called)
    a_lead = and_(Lead.id.is_not(None), Conversation.progress[CONTACT].as_boolean())
    signature = (Conversation.flow_id, Conversation.experiment, Conversation.variant,
                 Conversation.source, day, case((a_lead, literal(1, Integer)), else_=0),
                 case((a_lead, Lead.temperature), else_=None))
    ids = (func.string_agg(cast(Conversation.user_id, String), ",")
             if session.get_bind().dialect.name == "postgresql"
             else func.group_concat(Conversation.user_id))
    alike = {tuple(row[:-1]): row[-1].split(",") for row in (await connection.execute(
        select(*signature, ids).select_from(Conversation)
        .outerjoin(Lead, Lead.conversation_id == Conversation.id).where(*where)
        # by position: PostgreSQL takes the day's CASE with its dates bound twice (in the
        # columns and in GROUP BY) as two expressions
        .group_by(*(literal_column(str(n)) for n in range(1, len(signature) + 1))))).all()}
    for (flow, experiment, variant, source, at, lead, temperature), users in alike.items():
        period = NOW if at >= split else BEFORE
        marks = ("started", *(("leads", *(("hot",) if temperature == "hot" else ()))
                              if lead else ()))
        for name in of(flow, experiment):
            for key in _keys(name, experiment, variant, period):
                for mark in marks:
                    people[key][mark].update(users)
        if period == NOW:
            daily[(at - split, "started")].update(users)
        if lead:
            sourced[(source or NONE, period)].update(users)
            if period == NOW:
                daily[(at - split, "leads")].update(users)

    handoffs = (await connection.execute(
        select(Handoff.user_id, Conversation.flow_id, Conversation.experiment,
               Conversation.variant, Conversation.started_at >= edges[split],
               # only their difference is used: read as the driver gives them (on SQLite,
               # naive UTC both), not each through UTCDateTime
               type_coerce(Handoff.created_at, DateTime(timezone=True)),
               type_coerce(Handoff.claimed_at, DateTime(timezone=True)), Handoff.status)
        .select_from(Handoff).join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(*where))).all()
    for user, flow, experiment, variant, recent, handed, claimed, status in handoffs:
        period = NOW if recent else BEFORE
        for name in of(flow, experiment):
            for key in _keys(name, experiment, variant, period):
                people[key]["handoffs"].add(user)
                if status == "won":
                    people[key]["won"].add(user)
                if claimed is not None:
                    claims[key].append((claimed - handed).total_seconds())

    def figures(key: tuple) -> dict[str, Any]:
        found = people.get(key, {})
        return {**{mark: len(found.get(mark, ())) for mark in COUNTED},
                "time_to_claim": timing(claims.get(key, ()))}

    flows: dict[str, Any] = {}
    for name in names:
        variants = sorted({key[1] for key in people if key[0] == name and key[1] is not None})
        flows[name] = {"now": figures((name, None, NOW)), "before": figures((name, None, BEFORE)),
                       "variants": {v: {"now": figures((name, v, NOW)),
                                        "before": figures((name, v, BEFORE))}
                                    for v in variants}}
    sources = sorted({source for source, _ in sourced})
    return {
        "since": query.since.isoformat(), "until": query.until.isoformat(),
        "previous": {"since": first.isoformat(), "until": last.isoformat()},
        "timezone": query.timezone, "flows": flows,
        "days": [{"day": days[split + i].isoformat(),
                  "started": len(daily.get((i, "started"), ())),
                  "leads": len(daily.get((i, "leads"), ()))}
                 for i in range((query.until - query.since).days + 1)],
        "sources": [{"source": s, "now": len(sourced.get((s, NOW), ())),
                     "before": len(sourced.get((s, BEFORE), ()))} for s in sources],
    }


def _day_index(edges: list[datetime], low: int = 0) -> ColumnElement:
    """The index of the day a conversation started on (`edges`: each day's first moment
    in UTC, then the end; from the day `low` on), as nested CASEs halving the days: the
    same SQL on SQLite and PostgreSQL, right across daylight-saving changes, nine
    comparisons a row for a year's days."""
    def between(low: int, high: int) -> ColumnElement:
        if high - low == 1:
            return literal(low, Integer)
        middle = (low + high) // 2
        return case((Conversation.started_at < edges[middle], between(low, middle)),
                    else_=between(middle, high))
    return between(low, len(edges) - 1)


def _keys(name: str, experiment: str | None, variant: str | None, period: int
          ) -> tuple[tuple, ...]:
    """The figures a conversation counts in: its flow's (or experiment's), and its
    variant's when it ran in that experiment."""
    whole = (name, None, period)
    if variant is not None and experiment == name:
        return (whole, (name, variant, period))
    return (whole,)
