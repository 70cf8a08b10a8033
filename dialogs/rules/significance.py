"""Is the difference between two variants' conversion more than noise? Pure arithmetic.

Each comparison is of two proportions (people who became a lead / a hot lead / were handed
off, out of the people who started), two-sided:

- the **two-proportion z-test** (pooled) when every cell of the 2x2 table is expected to
  hold at least 5 people (the textbook condition for its normal approximation);
- **Fisher's exact test** otherwise: exact at any size, computed with log-gamma, so a
  handful of people gives an honest p-value rather than a misleading one.

The p-value is the chance of a difference at least this large if the variants really
converted alike. Below `ALPHA` (0.05, i.e. 95 % confidence; divided by the number of
comparisons when more than two variants are each compared with the first — Bonferroni) the
difference is called more than noise. Otherwise there is not enough data to tell, and the
note says roughly how many people per variant a difference of the size seen would need
(80 % power, the usual sample-size formula for two proportions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALPHA = 0.05
Z_ALPHA = 1.959964  # two-sided 95 %
Z_POWER = 0.841621  # 80 % power
MIN_EXPECTED = 5  # below this expected count in a cell the z-test is not trusted
METRICS = {"leads": "lead", "hot": "hot lead", "handoffs": "hand-off"}
Z_TEST, FISHER = "two-proportion z-test", "Fisher's exact test"


@dataclass(frozen=True)
class Result:
    p_value: float
    method: str


def z_test(x1: int, n1: int, x2: int, n2: int) -> float:
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided: the sum of the probabilities of every table with the same margins that is
    no more likely than the one observed."""
    converted = x1 + x2
    low, high = max(0, converted - n2), min(n1, converted)

    def log_p(a: int) -> float:
        return (_log_choose(n1, a) + _log_choose(n2, converted - a)
                - _log_choose(n1 + n2, converted))

    observed = log_p(x1)
    total = sum(math.exp(log_p(a)) for a in range(low, high + 1)
                if log_p(a) <= observed + 1e-7)
    return min(1.0, total)


def two_proportions(x1: int, n1: int, x2: int, n2: int) -> Result:
    """The p-value that x1 of n1 and x2 of n2 convert alike (n1, n2 > 0)."""
    pooled = (x1 + x2) / (n1 + n2)
    expected = min(n * share for n in (n1, n2) for share in (pooled, 1 - pooled))
    if expected >= MIN_EXPECTED:
        return Result(z_test(x1, n1, x2, n2), Z_TEST)
    return Result(fisher_exact(x1, n1, x2, n2), FISHER)


def needed_per_variant(p1: float, p2: float) -> int | None:
    """People per variant to show a difference of p1 vs p2 at 95 % with 80 % power."""
    if p1 == p2:
        return None
    variance = p1 * (1 - p1) + p2 * (1 - p2)
    return math.ceil((Z_ALPHA + Z_POWER) ** 2 * variance / (p1 - p2) ** 2)


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _chance(p_value: float) -> str:
    if p_value < 0.001:
        return "fewer than 1 in 1,000 experiments"
    share = f"{100 * p_value:.1f} %" if p_value >= 0.01 else f"{100 * p_value:.2f} %"
    return f"{share} of experiments"


def compare(totals: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """Each variant against the first (by name) on each metric. `totals`: variant ->
    {"started": people, "leads": ..., "hot": ..., "handoffs": ...} (unique people)."""
    variants = sorted(totals)
    if not variants:
        return {"reference": None, "alpha": ALPHA, "tests": [],
                "note": "no variants recorded in this period"}
    reference, others = variants[0], variants[1:]
    alpha = ALPHA / max(1, len(others))
    tests = [_test(reference, totals[reference], name, totals[name], metric, alpha)
             for name in others for metric in METRICS]
    note = "" if others else f"only variant {reference} has people: nothing to compare yet"
    return {"reference": reference, "alpha": round(alpha, 4), "tests": tests, "note": note}


def _test(reference: str, ref: Mapping[str, int], name: str, other: Mapping[str, int],
          metric: str, alpha: float) -> dict[str, Any]:
    n1, n2 = other.get("started", 0), ref.get("started", 0)
    x1, x2 = other.get(metric, 0), ref.get(metric, 0)
    row: dict[str, Any] = {"variant": name, "reference": reference, "metric": metric,
                           "started": n1, "reference_started": n2, "converted": x1,
                           "reference_converted": x2, "rate": None, "reference_rate": None,
                           "method": None, "p_value": None, "needed_per_variant": None}
    if n1 == 0 or n2 == 0:
        empty = name if n1 == 0 else reference
        return {**row, "verdict": "not_enough_data",
                "note": f"not enough data: nobody started variant {empty} yet"}
    r1, r2 = x1 / n1, x2 / n2
    result = two_proportions(x1, n1, x2, n2)
    what = METRICS[metric]
    head = (f"{name} -> {what}: {_percent(r1)} ({x1} of {n1}) vs {reference} "
            f"{_percent(r2)} ({x2} of {n2}), {100 * (r1 - r2):+.1f} points")
    confidence = f"{100 * (1 - alpha):.4g} %"
    row.update(rate=round(r1, 4), reference_rate=round(r2, 4), method=result.method,
               p_value=result.p_value)
    if result.p_value < alpha:
        return {**row, "verdict": "significant", "note": (
            f"{head}: more than noise ({result.method}, p = {result.p_value:.2g}: a "
            f"difference this large comes by chance in {_chance(result.p_value)} where the "
            f"variants convert alike; {confidence} confidence)")}
    needed = needed_per_variant(r1, r2)
    more = (f"; a difference this size needs about {needed:,} people per variant"
            if needed else "")
    return {**row, "verdict": "not_enough_data", "needed_per_variant": needed, "note": (
        f"{head}: not enough data to tell this from noise ({result.method}, "
        f"p = {result.p_value:.2g}, needs p < {alpha:.3g}){more}")}
