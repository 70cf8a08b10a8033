"""The funnel's arithmetic: the order of a flow's steps, drop-off between them, percentiles.
Pure: the counting itself is storage/funnel.py's."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


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
