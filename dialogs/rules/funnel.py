"""The funnel's arithmetic: the order of a flow's steps, drop-off between them, percentiles,
and a conversation's progress. Pure: the counting itself is storage/reports/funnel.py's.

A conversation's progress is what the funnel counts of it, kept on the conversation as it
goes (so the report does not read every event again):

    {"reached": ["intro", "q1", "q2"], "answered": ["q1"],   # in the order first done
     "consent": true, "contact": true}                      # only when true

`reached`: the steps entered (the `step` events); `answered`: the steps answered (`answer`
events); `consent`: consent to processing given (a `consent` event of that purpose);
`contact`: a phone, email or name given (a `contact` event). Going back and answering again
changes nothing: each is a set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dialogs.engine.actions import EnterStep, RecordAnswer, RecordConsent, SetContact

REACHED, ANSWERED, CONSENT, CONTACT = "reached", "answered", "consent", "contact"


def marked(progress: Mapping[str, Any] | None, kind: str, step: str | None = None,
           purpose: str | None = None) -> dict[str, Any]:
    """`progress` after one funnel event (kind "step", "answer", "consent" with its purpose,
    "contact"; other kinds change nothing). A new dict when something changed, else a copy."""
    after = {key: list(value) if isinstance(value, list) else value
             for key, value in (progress or {}).items()}
    if kind in ("step", "answer") and step:
        done = after.setdefault(REACHED if kind == "step" else ANSWERED, [])
        if step not in done:
            done.append(step)
    elif kind == "consent" and purpose == "processing":
        after[CONSENT] = True
    elif kind == "contact":
        after[CONTACT] = True
    return after


def progressed(progress: Mapping[str, Any] | None, actions: Iterable[object]
               ) -> dict[str, Any]:
    """`progress` after one turn's actions: the funnel events they are recorded as
    (storage/record.py), marked."""
    after = dict(progress or {})
    for action in actions:
        if isinstance(action, EnterStep):
            after = marked(after, "step", action.step)
        elif isinstance(action, RecordAnswer):
            after = marked(after, "answer", action.step)
        elif isinstance(action, RecordConsent) and action.granted:
            after = marked(after, "consent", action.step, action.purpose)
        elif isinstance(action, SetContact):
            after = marked(after, "contact")
    return after


def step_order(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(step id, kind) in the order the marketer wrote them, the start step first: a flow
    file is written top to bottom, branches (an "out of area" end) after the main path."""
    steps = definition.get("steps") or {}
    start = definition.get("start")
    ids = list(steps)
    if start in steps:
        ids.remove(start)
        ids.insert(0, start)
    return [(step, str((steps[step] or {}).get("kind", ""))) for step in ids]


def branch_ends(definition: Mapping[str, Any]) -> dict[str, str]:
    """end step -> the step that branches to it: an end an option's `next` or a consent's
    `declined` leads to ("out of area", "no consent"). People there went another way, they
    did not drop off: the report shows them as a share of the step that branched."""
    steps = definition.get("steps") or {}
    found: dict[str, str] = {}
    for step, spec in steps.items():
        spec = spec or {}
        targets = [(option or {}).get("next") for option in spec.get("options") or ()]
        targets.append(spec.get("declined"))
        for target in targets:
            if target in steps and str((steps[target] or {}).get("kind")) == "end":
                found.setdefault(target, step)
    return found


def drop_off(previous: int | None, reached: int) -> float | None:
    """Percent of the people who reached the step before that did not reach this one.
    None for the first step, when nobody reached the one before, and where more people
    reach this step than the one before (a branch joins here: no drop-off to speak of)."""
    if not previous or reached > previous:
        return None
    return round(100.0 * (previous - reached) / previous, 1)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between the closest ranks
    (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 1)


def timing(seconds: Iterable[float]) -> dict[str, float | int | None]:
    """{"count", "p50", "p90"} of durations in seconds (negative ones, clock skew, dropped)."""
    values = [s for s in seconds if s >= 0]
    return {"count": len(values), "p50": percentile(values, 50),
            "p90": percentile(values, 90)}


def share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
