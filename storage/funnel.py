"""The marketer's funnel: unique people per flow, version and step, from what is recorded.

One function, `funnel(session, FunnelQuery(...))`, used by `leadbot report` and the
dashboard alike, so both show the same numbers (the dashboard asks `funnels(session, query,
[None, "source", "variant"])`: the same counts, several groupings in one pass over the
events). It returns plain JSON-serialisable data:

    {
      "flow": "kitchen-quiz", "since": "2026-11-01", "until": "2026-11-30",  # inclusive
      "timezone": "Europe/Moscow", "source": null, "by": "source",           # or null
      "groups": [                                       # per flow version, then `by` value
        {"flow": "kitchen-quiz", "version": 1,          # an experiment's: each variant's flow
         "group": "instagram",                          # "—": none recorded; null: no `by`
         "started": 120,                                # unique people who started
         "steps": [{"step": "intro", "kind": "message", "reached": 120, "answered": 0,
                    "drop_off": null}, ...],            # in flow order; drop_off: percent
                                                        # lost since the step before
         "consent": {"given": 40, "declined": 3},
         "contact": 38,                                 # gave a phone / email / name
         "leads": 45,
         "temperature": {"hot": 10, "warm": 20, "cold": 15},
         "target": {"yes": 40, "no": 5}, "mql": 30, "sql": 10,
         "outcomes": {"handoff": 10, "nurture": 20, "close": 15},
         "handoffs": 10, "claimed": 9,
         "time_to_claim": {"count": 9, "p50": 240.0, "p90": 1800.0},       # seconds
         "time_to_first_contact": {"count": 7, "p50": 600.0, "p90": 3600.0},
         "won": 3, "lost": 2},
        ...],
      "comparison": {...}   # with `by: variant` only: dialogs/rules/significance.compare()
    }

`flow` is a flow id or an A/B experiment's name: an experiment's report takes every
conversation recorded with that experiment (all its variants' flows) and the named flow's
own, so a flow that became an experiment under its own id keeps its history in the report.

Who counts: the people whose conversation with the flow STARTED between `since` and
`until` (dates in the operator's time zone, LEADBOT_TIMEZONE; `until` included), and
everything they did in those conversations, whenever they did it. Every number is of
distinct people (user ids), not events: a prospect who goes back and answers a question
again, or restarts the quiz, counts once. Time to claim and to first contact are measured
from the hand-off (the card posted) to the claim / to the first contact, per hand-off.

Grouping dimensions are the table DIMENSIONS: a new one (variants) is one line there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, and_, case, distinct, func, literal, null, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dialogs.rules.funnel import drop_off, step_order, timing
from dialogs.rules.significance import compare
from storage.db import READ_ONLY
from storage.models import Conversation, Event, FlowVersion, Handoff, Lead, Prospect

NONE = "—"  # the group of conversations with no value for the dimension (no source)
MAX_DAYS = 400  # `by day` over more days than this: ask for a shorter range


@dataclass(frozen=True)
class FunnelQuery:
    flow: str
    since: date
    until: date  # included
    timezone: str = "UTC"
    source: str | None = None  # only conversations from this deep-link source
    by: str | None = None  # a key of DIMENSIONS

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of `since`, start of the day after `until`) in UTC."""
        zone = ZoneInfo(self.timezone)
        return (_midnight(self.since, zone), _midnight(self.until + timedelta(days=1), zone))


class FunnelError(ValueError):
    """A query that cannot be answered (bad dimension, dates the wrong way round)."""


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _day(query: FunnelQuery) -> ColumnElement:
    """The local date a conversation started on, as a CASE over the days' UTC bounds:
    the same SQL on SQLite and PostgreSQL, and right across daylight-saving changes."""
    zone = ZoneInfo(query.timezone)
    days = (query.until - query.since).days + 1
    if days > MAX_DAYS:
        raise FunnelError(f"--by day over {days} days: give a range of at most {MAX_DAYS}")
    whens = [(Conversation.started_at < _midnight(query.since + timedelta(days=i + 1), zone),
              literal((query.since + timedelta(days=i)).isoformat(), String)) for i in range(days)]
    return case(*whens, else_=literal(NONE, String))


@dataclass(frozen=True)
class Dimension:
    value: Callable[[FunnelQuery], ColumnElement]  # a conversation's group, in SQL
    prospect: bool = False  # the value is the prospect's: join prospects


# How conversations are grouped. Adding a dimension is one line.
DIMENSIONS: dict[str, Dimension] = {
    "source": Dimension(lambda q: Conversation.source),
    "version": Dimension(lambda q: null()),  # every group is per version already
    "variant": Dimension(lambda q: Conversation.variant),  # A/B: "—" outside experiments
    "language": Dimension(lambda q: Prospect.language, prospect=True),
    "day": Dimension(_day),
}


async def funnel(session: AsyncSession, query: FunnelQuery) -> dict[str, Any]:
    """The funnel of one flow (see the module's docstring for the result's shape)."""
    return (await funnels(session, query, [query.by]))[0]


async def funnels(session: AsyncSession, query: FunnelQuery,
                  bys: Sequence[str | None]) -> list[dict[str, Any]]:
    """The funnel of `query` grouped each way of `bys` (`query.by` is ignored), in that
    order: what `funnel(session, replace(query, by=by))` returns for each, counted in one
    pass. The dashboard's page wants three (all, by source, by variant): the events are
    joined and counted once, per version and every dimension at once, and the coarser
    groupings are sums of those groups. Sums of distinct people are exact only when no
    person is in two of the fine groups (one source and variant per person and version in
    the period, the usual case): that is checked first (on the conversations alone, cheap)
    and, when it does not hold, each grouping is counted on its own."""
    for by in bys:
        _check(replace(query, by=by))
    dims = list(dict.fromkeys(by for by in bys if by is not None))
    # on SQLite, no write lock while counting (when the session has not begun already)
    if not session.in_transaction():
        await session.connection(execution_options={READ_ONLY: True})
    if session.get_bind().dialect.name == "postgresql":
        # room to count distinct people in memory, this transaction only (default 4 MB:
        # a month of a busy flow sorts on disk)
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    flow = await _of_flow(session, query.flow)
    cohort = _cohort(query, flow, dims)
    if len(dims) + (None in bys) > 1 and not await _one_group_each(session, cohort, dims):
        return [(await _counted(session, query, _cohort(query, flow, [by] * bool(by)),
                                [by] * bool(by), [by]))[0] for by in bys]
    return await _counted(session, query, cohort, dims, bys)


def _check(query: FunnelQuery) -> None:
    if query.by is not None and query.by not in DIMENSIONS:
        raise FunnelError(f"cannot group by {query.by!r}: use one of "
                          f"{', '.join(DIMENSIONS)}")
    if query.until < query.since:
        raise FunnelError(f"--until {query.until} is before --since {query.since}")
    try:
        ZoneInfo(query.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FunnelError(f"unknown time zone {query.timezone!r}") from None


def _cohort(query: FunnelQuery, flow: ColumnElement, dims: list[str]) -> Any:
    """The conversations counted (`flow`: `_of_flow`'s condition): id, user_id, flow,
    version and one column per dimension (g0, g1, ...)."""
    start, end = query.bounds()
    where = [flow, Conversation.started_at >= start,
             Conversation.started_at < end]
    if query.source is not None:
        where.append(Conversation.source == query.source)
    cohort = (select(Conversation.id.label("id"), Conversation.user_id.label("user_id"),
                     Conversation.flow_id.label("flow"),
                     Conversation.flow_version.label("version"),
                     *(DIMENSIONS[d].value(query).label(f"g{i}") for i, d in enumerate(dims)))
              .select_from(Conversation))
    if any(DIMENSIONS[d].prospect for d in dims):
        cohort = cohort.join(Prospect, Prospect.user_id == Conversation.user_id)
    return cohort.where(*where).cte("cohort")


async def _one_group_each(session: AsyncSession, cohort: Any, dims: list[str]) -> bool:
    """Whether every person's conversations of one flow and version share each dimension's
    value (None and a value count as two)."""
    if not dims:
        return True
    columns = [cohort.c[f"g{i}"] for i in range(len(dims))]
    split = or_(*(or_(func.count(distinct(c)) > 1,
                      and_(func.count(c) > 0, func.count(c) < func.count()))
                  for c in columns))
    found = await session.execute(
        select(cohort.c.user_id)
        .group_by(cohort.c.user_id, cohort.c.flow, cohort.c.version)
        .having(split).limit(1))
    return found.first() is None


async def _counted(session: AsyncSession, query: FunnelQuery, cohort: Any, dims: list[str],
                   bys: Sequence[str | None]) -> list[dict[str, Any]]:
    """Counts per flow, version and all of `dims` at once, summed up into each of `bys`
    (each None or one of `dims`)."""
    keys = (cohort.c.flow, cohort.c.version, *(cohort.c[f"g{i}"] for i in range(len(dims))))
    fine: dict[tuple, Counter] = defaultdict(Counter)

    started = await session.execute(
        select(*keys, func.count(distinct(cohort.c.user_id))).group_by(*keys))
    for *key, count in started:
        fine[tuple(key)]["started"] = count

    # one join of the events for the steps, consents and contacts: per kind and step (a
    # consent: whether to processing; a contact: one label), the people
    processing = Event.data["purpose"].as_string() == "processing"
    label = case((Event.kind == "consent", case((processing, literal("processing", String)),
                                                 else_=literal("", String))),
                 (Event.kind == "contact", literal("", String)), else_=Event.step)
    events = await session.execute(
        select(*keys, Event.kind, label, func.count(distinct(Event.user_id)))
        .select_from(Event).join(cohort, Event.conversation_id == cohort.c.id)
        .where(Event.kind.in_(("step", "answer", "consent", "contact")))
        .group_by(*keys, Event.kind, label))
    for *key, kind, step, count in events:
        if kind == "contact":
            fine[tuple(key)]["contact"] = count
        elif kind == "consent":
            if step == "processing":
                fine[tuple(key)]["given"] = count
        else:
            fine[tuple(key)][(kind, step)] = count

    await _leads(session, cohort, keys, fine)
    handoffs = (await session.execute(
        select(*keys, Handoff.user_id, Handoff.created_at, Handoff.claimed_at,
               Handoff.first_contact_at, Handoff.status)
        .select_from(Handoff).join(cohort, Handoff.conversation_id == cohort.c.id))).all()

    definitions = await _definitions(session, {(key[0], key[1]) for key in fine})
    results = []
    for by in bys:
        at = 2 + dims.index(by) if by is not None else None

        def coarse(key: tuple, at: int | None = at) -> tuple[str, int, Any]:
            return (key[0], key[1], None if at is None else key[at])

        sums: dict[tuple[str, int, Any], Counter] = defaultdict(Counter)
        for key, counts in fine.items():
            sums[coarse(key)].update(counts)
        groups = {key: _filled(_empty(*key, by), counts) for key, counts in sums.items()}
        _handoffs(((coarse(tuple(r[:len(keys)])), *r[len(keys):]) for r in handoffs), groups)
        for (flow, version, grp), r in groups.items():
            touched = {k: n for k, n in sums[(flow, version, grp)].items()
                       if isinstance(k, tuple)}
            _steps(r, definitions.get((flow, version)), touched)
        ordered = sorted(groups.values(), key=lambda r: (
            r["flow"] != query.flow, r["flow"], r["version"], _sortable(r["group"])))
        result = {"flow": query.flow, "since": query.since.isoformat(),
                  "until": query.until.isoformat(), "timezone": query.timezone,
                  "source": query.source, "by": by, "groups": ordered}
        if by == "variant":
            variant = cohort.c[f"g{dims.index(by)}"]
            result["comparison"] = compare(await _variant_totals(session, cohort, variant))
        results.append(result)
    return results


async def _of_flow(session: AsyncSession, name: str) -> ColumnElement:
    """The conversations `--flow NAME` means: the flow's, and when NAME is an A/B
    experiment (recorded on conversations) every variant's too, whatever its flow id."""
    experiment = await session.scalar(
        select(Conversation.id).where(Conversation.experiment == name).limit(1))
    if experiment is None:
        return Conversation.flow_id == name
    return or_(Conversation.flow_id == name, Conversation.experiment == name)


async def _variant_totals(session: AsyncSession, cohort: Any, variant: ColumnElement
                          ) -> dict[str, dict[str, int]]:
    """Per variant (`variant`: the cohort's column of it; outside "—"), unique people who
    started, became a lead, a hot lead, were handed off: what `compare` tests. A prospect
    keeps their variant, so a person is counted in one variant only, whichever version of
    its flow they ran."""
    totals: dict[str, dict[str, int]] = defaultdict(
        lambda: {"started": 0, "leads": 0, "hot": 0, "handoffs": 0})
    for grp, count in await session.execute(
            select(variant, func.count(distinct(cohort.c.user_id)))
            .where(variant.is_not(None)).group_by(variant)):
        totals[grp]["started"] = count
    for grp, leads, hot in await session.execute(
            select(variant, func.count(distinct(Lead.user_id)),
                   _people(Lead.temperature == "hot", Lead.user_id))
            .select_from(Lead).join(cohort, Lead.conversation_id == cohort.c.id)
            .where(variant.is_not(None)).group_by(variant)):
        totals[grp].update(leads=leads, hot=hot)
    for grp, handoffs in await session.execute(
            select(variant, func.count(distinct(Handoff.user_id)))
            .select_from(Handoff).join(cohort, Handoff.conversation_id == cohort.c.id)
            .where(variant.is_not(None)).group_by(variant)):
        totals[grp]["handoffs"] = handoffs
    return dict(totals)


def _empty(flow: str, version: int, grp: Any, by: str | None) -> dict[str, Any]:
    group = None if by in (None, "version") else (NONE if grp is None else str(grp))
    return {"flow": flow, "version": version, "group": group, "started": 0, "steps": [],
            "consent": {"given": 0, "declined": 0}, "contact": 0, "leads": 0,
            "temperature": {"hot": 0, "warm": 0, "cold": 0}, "target": {"yes": 0, "no": 0},
            "mql": 0, "sql": 0, "outcomes": {"handoff": 0, "nurture": 0, "close": 0},
            "handoffs": 0, "claimed": 0, "time_to_claim": timing(()),
            "time_to_first_contact": timing(()), "won": 0, "lost": 0}


def _sortable(group: str | None) -> tuple[bool, str]:
    return (group == NONE, group or "")


def _people(condition: ColumnElement, user: ColumnElement) -> ColumnElement:
    return func.count(distinct(case((condition, user))))


LEAD_COUNTS = ("leads", "hot", "warm", "cold", "yes", "no", "mql", "sql", "handoff",
               "nurture", "close")


def _filled(r: dict[str, Any], counts: Counter) -> dict[str, Any]:
    """A group's row with the people counted in `counts` (steps apart)."""
    r["started"], r["contact"] = counts["started"], counts["contact"]
    r["consent"]["given"] = counts["given"]
    r["leads"], r["mql"], r["sql"] = counts["leads"], counts["mql"], counts["sql"]
    r["temperature"] = {t: counts[t] for t in ("hot", "warm", "cold")}
    r["target"] = {t: counts[t] for t in ("yes", "no")}
    r["outcomes"] = {o: counts[o] for o in ("handoff", "nurture", "close")}
    return r


async def _leads(session: AsyncSession, cohort: Any, keys: tuple,
                 fine: dict[tuple, Counter]) -> None:
    columns = {
        "leads": Lead.id.is_not(None),
        "hot": Lead.temperature == "hot", "warm": Lead.temperature == "warm",
        "cold": Lead.temperature == "cold",
        "yes": Lead.target.is_(True), "no": Lead.target.is_(False),
        "mql": Lead.mql.is_(True), "sql": Lead.sql.is_(True),
        "handoff": Lead.outcome == "handoff", "nurture": Lead.outcome == "nurture",
        "close": Lead.outcome == "close",
    }
    result = await session.execute(
        select(*keys, *(_people(columns[c], Lead.user_id) for c in LEAD_COUNTS))
        .select_from(Lead).join(cohort, Lead.conversation_id == cohort.c.id)
        .group_by(*keys))
    for row in result:
        fine[tuple(row[:len(keys)])].update(
            dict(zip(LEAD_COUNTS, row[len(keys):], strict=True)))


def _handoffs(rows: Iterable[tuple], groups: dict[tuple[str, int, Any], dict[str, Any]]
              ) -> None:
    """Hand-offs (group key, user, handed, claimed, contacted, status), one per row: people
    and times per group."""
    seen: dict[tuple[str, int, Any], dict[str, set[int]]] = defaultdict(
        lambda: {"handoffs": set(), "claimed": set(), "won": set(), "lost": set()})
    claims: dict[tuple[str, int, Any], list[float]] = defaultdict(list)
    contacts: dict[tuple[str, int, Any], list[float]] = defaultdict(list)
    for key, user, handed, claimed, contacted, status in rows:
        people = seen[key]
        people["handoffs"].add(user)
        if claimed is not None:
            people["claimed"].add(user)
            claims[key].append((claimed - handed).total_seconds())
        if contacted is not None:
            contacts[key].append((contacted - handed).total_seconds())
        if status in ("won", "lost"):
            people[status].add(user)
    for key, people in seen.items():
        r = groups[key]
        for name, users in people.items():
            r[name] = len(users)
        r["time_to_claim"] = timing(claims[key])
        r["time_to_first_contact"] = timing(contacts[key])


async def _definitions(session: AsyncSession, wanted: set[tuple[str, int]]
                       ) -> dict[tuple[str, int], dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for flow in sorted({f for f, _ in wanted}):
        versions = {v for f, v in wanted if f == flow}
        result = await session.execute(
            select(FlowVersion.version, FlowVersion.definition).where(
                FlowVersion.flow_id == flow, FlowVersion.version.in_(versions)))
        found.update(((flow, version), definition) for version, definition in result)
    return found


def _steps(r: dict[str, Any], definition: dict[str, Any] | None,
           touched: dict[tuple[str, str], int]) -> None:
    """The group's steps in flow order (steps no longer in the definition after them)."""
    order = step_order(definition or {})
    known = {step for step, _ in order}
    order += [(step, "") for kind, step in sorted(touched, key=lambda k: k[1] or "")
              if kind == "step" and step not in known and not known.add(step)]
    previous = None
    consent_steps = {step for step, kind in order if kind == "consent"}
    answered_consent = 0
    contact_steps = [step for step, kind in order if kind == "contact"]
    for step, kind in order:
        reached = touched.get(("step", step), 0)
        answered = touched.get(("answer", step), 0)
        if contact_steps == [step]:  # a contact is recorded as given, not as an answer
            answered = r["contact"]
        if step in consent_steps:
            answered_consent = max(answered_consent, answered)
        r["steps"].append({"step": step, "kind": kind, "reached": reached,
                           "answered": answered, "drop_off": drop_off(previous, reached)})
        previous = reached
    # Declining is an answer at the consent step that grants nothing.
    r["consent"]["declined"] = max(0, answered_consent - r["consent"]["given"])
