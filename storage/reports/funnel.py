"""The marketer's funnel: unique people per flow, version and step, from what is recorded.

One function, `funnel(session, FunnelQuery(...))`, used by `leadbot report` and the
dashboard alike, so both show the same numbers (the dashboard asks `funnels(session, query,
[None, "source", "variant"])`: the same counts, several groupings in one pass). It counts
from each conversation's `progress` (the steps it reached and answered, consent, contact:
dialogs/rules/funnel.py, written with the conversation's state from the very actions its
events record), its lead and its hand-offs: one row per conversation, not ~10 events.
It returns plain JSON-serialisable data:

    {
      "flow": "kitchen-quiz", "since": "2026-11-01", "until": "2026-11-30",  # inclusive
      "timezone": "Europe/Moscow", "source": null, "by": "source",           # or null
      "groups": [                                       # per flow version, then `by` value
        {"flow": "kitchen-quiz", "version": 1,          # an experiment's: each variant's flow
         "group": "instagram",                          # "—": none recorded; null: no `by`
         "started": 120,                                # unique people who started
         "steps": [{"step": "intro", "kind": "message", "reached": 120, "answered": 0,
                    "drop_off": null}, ...],            # in flow order; drop_off: percent
                                                        # lost since the step before; an
                                                        # end a branch leads to has none but
                                                        # "branch_of": "location",
                                                        # "branch_share": 2.5 (% of those)
         "consent": {"given": 40, "declined": 3},
         "contact": 38,                                 # gave a phone / email / name
         "leads": 35,                                   # a lead AND a contact left
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
again, or restarts the quiz, counts once. A lead (and its temperature, target, MQL / SQL,
outcome) counts only for a person who left a contact: an "out of area" end qualifies the
conversation, yet nobody there can be called. Time to claim and to first contact are measured
from the hand-off (the card posted) to the claim / to the first contact, per hand-off.

Grouping dimensions are the table DIMENSIONS (period.py): a new one (variants) is one line
there.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.rules.funnel import (
    ANSWERED,
    CONSENT,
    CONTACT,
    REACHED,
    branch_ends,
    drop_off,
    share,
    step_order,
    timing,
)
from dialogs.rules.significance import compare
from storage.db.engine import READ_ONLY
from storage.reports.period import DIMENSIONS, NONE, FunnelQuery, check, cohort
from storage.schema.tables import Conversation, FlowVersion, Handoff, Lead, Prospect


async def funnel(session: AsyncSession, query: FunnelQuery) -> dict[str, Any]:
    """The funnel of one flow (see the module's docstring for the result's shape)."""
    return (await funnels(session, query, [query.by]))[0]


async def funnels(session: AsyncSession, query: FunnelQuery,
                  bys: Sequence[str | None]) -> list[dict[str, Any]]:
    """The funnel of `query` grouped each way of `bys` (`query.by` is ignored), in that
    order: what `funnel(session, replace(query, by=by))` returns for each, counted in one
    pass. The dashboard's page wants three (all, by source, by variant). One read of the
    period's conversations with their progress and lead (a row each), one of their
    hand-offs; the people are counted in memory, as sets of user ids per flow, version and
    every dimension at once, and each grouping is the union of those sets: exact, however
    a person's conversations spread over the groups."""
    for by in bys:
        check(replace(query, by=by))
    dims = list(dict.fromkeys(by for by in bys if by is not None))
    # on SQLite, no write lock while counting (when the session has not begun already)
    if not session.in_transaction():
        await session.connection(execution_options={READ_ONLY: True})
    where = await cohort(session, query)
    connection = await session.connection()  # plain rows: no ORM loading for 10,000s
    groups = [DIMENSIONS[d].value(query) for d in dims]
    people = any(DIMENSIONS[d].prospect for d in dims)

    statement = (select(Conversation.user_id, Conversation.flow_id, Conversation.flow_version,
                        *groups, cast(Conversation.progress, String), *LEAD_COLUMNS)
                 .select_from(Conversation)
                 .outerjoin(Lead, Lead.conversation_id == Conversation.id))
    if people:
        statement = statement.join(Prospect, Prospect.user_id == Conversation.user_id)
    # people per "signature" (the group keys, the progress as stored, the lead's values):
    # conversations mostly share one of a few hundred, so each signature's marks are worked
    # out once and its people added to each mark's set at once
    width = 3 + len(groups)
    alike: dict[tuple, list[int]] = defaultdict(list)
    for row in await connection.execute(statement.where(*where)):
        alike[row[1:]].append(row[0])
    fine: dict[tuple, dict[Any, set[int]]] = defaultdict(lambda: defaultdict(set))
    marks = _Marks()
    for signature, users in alike.items():
        bucket = fine[signature[:width - 1]]
        for metric in marks.of(signature[width - 1], signature[width:]):
            bucket[metric].update(users)

    statement = (select(Conversation.flow_id, Conversation.flow_version, *groups,
                        Handoff.user_id, Handoff.created_at, Handoff.claimed_at,
                        Handoff.first_contact_at, Handoff.status)
                 .select_from(Handoff)
                 .join(Conversation, Conversation.id == Handoff.conversation_id))
    if people:
        statement = statement.join(Prospect, Prospect.user_id == Conversation.user_id)
    handoffs = [_timed(row) for row in await connection.execute(statement.where(*where))]

    definitions = await flow_definitions(session, {(key[0], key[1]) for key in fine})
    results = []
    for by in bys:
        at = 2 + dims.index(by) if by is not None else None

        def coarse(key: tuple, at: int | None = at) -> tuple[str, int, Any]:
            return (key[0], key[1], None if at is None else key[at])

        counts = _counted(fine, coarse)
        found = {key: _filled(_empty(*key, by), n) for key, n in counts.items()}
        _handoffs(((coarse(tuple(r[:width - 1])), *r[width - 1:]) for r in handoffs), found)
        for key, r in found.items():
            touched = {k: n for k, n in counts[key].items() if isinstance(k, tuple)}
            _steps(r, definitions.get((key[0], key[1])), touched)
        ordered = sorted(found.values(), key=lambda r: (
            r["flow"] != query.flow, r["flow"], r["version"], _sortable(r["group"])))
        result = {"flow": query.flow, "since": query.since.isoformat(),
                  "until": query.until.isoformat(), "timezone": query.timezone,
                  "source": query.source, "by": by, "groups": ordered}
        if by == "variant":
            result["comparison"] = compare(_variant_totals(fine, handoffs, at))
        results.append(result)
    return results


LEAD_COLUMNS = (Lead.id.is_not(None), Lead.temperature, Lead.target, Lead.mql, Lead.sql,
                Lead.outcome)
LEAD_COUNTS = ("leads", "hot", "warm", "cold", "yes", "no", "mql", "sql", "handoff",
               "nurture", "close")


class _Marks:
    """What a conversation's row counts towards: its progress (the JSON text as stored,
    read once per distinct text: most conversations share their path) and its lead."""

    def __init__(self) -> None:
        self._progress: dict[str | None, tuple] = {}
        self._leads: dict[tuple, tuple] = {}

    def progress(self, text: str | None) -> tuple:
        found = self._progress.get(text)
        if found is None:
            data = (json.loads(text) if text else None) or {}
            found = self._progress[text] = (
                "started",
                *(("step", step) for step in data.get(REACHED, ())),
                *(("answer", step) for step in data.get(ANSWERED, ())),
                *(("given",) if data.get(CONSENT) else ()),
                *(("contact",) if data.get(CONTACT) else ()))
        return found

    def of(self, progress: str | None, lead: tuple) -> tuple:
        """A conversation's marks: its progress's, and its lead's when the person left a
        contact (a lead is someone a manager can reach: an "out of area" end qualifies the
        conversation, but nobody left a phone there)."""
        found = self.progress(progress)
        return (*found, *self.lead(lead)) if "contact" in found else found

    def lead(self, columns: tuple) -> tuple:
        found = self._leads.get(columns)
        if found is None:
            lead, temperature, target, mql, sql, outcome = columns
            found = self._leads[columns] = () if not lead else tuple(
                name for name, counted in (
                    ("leads", True), ("hot", temperature == "hot"),
                    ("warm", temperature == "warm"), ("cold", temperature == "cold"),
                    ("yes", bool(target) and target is not None),
                    ("no", target is not None and not target), ("mql", bool(mql)),
                    ("sql", bool(sql)), ("handoff", outcome == "handoff"),
                    ("nurture", outcome == "nurture"), ("close", outcome == "close"))
                if counted)
        return found

    def __repr__(self) -> str:
        return f"_Marks({len(self._progress)} paths)"


def _counted(fine: dict[tuple, dict[Any, set[int]]], coarse: Callable[[tuple], tuple]
             ) -> dict[tuple, Counter]:
    """People per mark and coarse group: the fine groups' sets united. When no person is
    in two of a coarse group's fine groups (checked on the people who started: everyone
    marked in a group started in it), the union's size is the sum of the sizes."""
    parts: dict[tuple, list[dict[Any, set[int]]]] = defaultdict(list)
    for key, metrics in fine.items():
        parts[coarse(key)].append(metrics)
    counts: dict[tuple, Counter] = {}
    for key, found in parts.items():
        total: Counter = Counter()
        started = [metrics["started"] for metrics in found]
        if len(found) == 1 or len(set().union(*started)) == sum(map(len, started)):
            for metrics in found:
                total.update({metric: len(users) for metric, users in metrics.items()})
        else:
            merged: dict[Any, set[int]] = defaultdict(set)
            for metrics in found:
                for metric, users in metrics.items():
                    merged[metric] |= users
            total.update({metric: len(users) for metric, users in merged.items()})
        counts[key] = total
    return counts


def _variant_totals(fine: dict[tuple, dict[Any, set[int]]], handoffs: Sequence[Any],
                   at: int | None) -> dict[str, dict[str, int]]:
    """Per variant (`at`: where the fine keys and hand-off rows hold it; outside an
    experiment there is none), unique people who started, became a lead, a hot lead, were
    handed off: what `compare` tests. A prospect keeps their variant, so a person is counted
    in one variant only, whichever version of its flow they ran."""
    assert at is not None
    totals: dict[str, dict[str, int]] = {}
    for (variant,), counts in _counted(fine, lambda key: (key[at],)).items():
        if variant is not None:
            totals[variant] = {"started": counts["started"], "leads": counts["leads"],
                               "hot": counts["hot"], "handoffs": 0}
    handed: dict[str, set[int]] = defaultdict(set)
    for row in handoffs:
        if row[at] is not None:
            handed[row[at]].add(row[-4])  # (..., user, claim, contact, status): _timed
    for variant, users in handed.items():
        totals.setdefault(variant, {"started": 0, "leads": 0, "hot": 0, "handoffs": 0})
        totals[variant]["handoffs"] = len(users)
    return totals


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


def _filled(r: dict[str, Any], counts: Counter) -> dict[str, Any]:
    """A group's row with the people counted in `counts` (steps apart)."""
    r["started"], r["contact"] = counts["started"], counts["contact"]
    r["consent"]["given"] = counts["given"]
    r["leads"], r["mql"], r["sql"] = counts["leads"], counts["mql"], counts["sql"]
    r["temperature"] = {t: counts[t] for t in ("hot", "warm", "cold")}
    r["target"] = {t: counts[t] for t in ("yes", "no")}
    r["outcomes"] = {o: counts[o] for o in ("handoff", "nurture", "close")}
    return r


def _timed(row: Sequence[Any]) -> tuple:
    """A hand-off row (..., user, handed, claimed, contacted, status) as (..., user,
    seconds to claim or None, seconds to first contact or None, status)."""
    *key, user, handed, claimed, contacted, status = row
    return (*key, user, None if claimed is None else (claimed - handed).total_seconds(),
            None if contacted is None else (contacted - handed).total_seconds(), status)


def _handoffs(rows: Iterable[tuple], groups: dict[tuple[str, int, Any], dict[str, Any]]
              ) -> None:
    """Hand-offs (group key, user, seconds to claim, to first contact, status), one per
    row (`_timed`): people and times per group."""
    seen: dict[tuple[str, int, Any], dict[str, set[int]]] = defaultdict(
        lambda: {"handoffs": set(), "claimed": set(), "won": set(), "lost": set()})
    claims: dict[tuple[str, int, Any], list[float]] = defaultdict(list)
    contacts: dict[tuple[str, int, Any], list[float]] = defaultdict(list)
    for key, user, claim, contact, status in rows:
        people = seen[key]
        people["handoffs"].add(user)
        if claim is not None:
            people["claimed"].add(user)
            claims[key].append(claim)
        if contact is not None:
            contacts[key].append(contact)
        if status in ("won", "lost"):
            people[status].add(user)
    for key, people in seen.items():
        r = groups[key]
        for name, users in people.items():
            r[name] = len(users)
        r["time_to_claim"] = timing(claims[key])
        r["time_to_first_contact"] = timing(contacts[key])


async def flow_definitions(session: AsyncSession, wanted: set[tuple[str, int]]
                           ) -> dict[tuple[str, int], dict[str, Any]]:
    """(flow, version) -> the definition snapshotted when that version first ran."""
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
    branched = branch_ends(definition or {})
    for step, kind in order:
        reached = touched.get(("step", step), 0)
        answered = touched.get(("answer", step), 0)
        if contact_steps == [step]:  # a contact is recorded as given, not as an answer
            answered = r["contact"]
        if step in consent_steps:
            answered_consent = max(answered_consent, answered)
        row = {"step": step, "kind": kind, "reached": reached, "answered": answered,
               "drop_off": drop_off(previous, reached)}
        if step in branched:  # where people went, not a loss: a share of the branching step
            row["drop_off"] = None
            row["branch_of"] = branched[step]
            row["branch_share"] = share(reached, touched.get(("step", branched[step]), 0))
        else:
            previous = reached
        r["steps"].append(row)
    # Declining is an answer at the consent step that grants nothing.
    r["consent"]["declined"] = max(0, answered_consent - r["consent"]["given"])
