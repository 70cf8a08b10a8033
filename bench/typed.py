"""Typed answers: how well and how fast `understand` reads them. Prints figures; asserts
nothing (tests/dialogs/typed/test_golden.py asserts the accuracy).

    .venv/bin/python bench/typed.py            # the table
    .venv/bin/python bench/typed.py --misses   # and every case it got wrong, to tune

1. Per flow and language, on the golden sets (tests/typed/golden/*.yaml): cases, correct %,
   "did you mean" answers given, wrong-silent options (a wrong option chosen without asking:
   must be 0), and "none" where something was expected.
2. Microseconds per `understand` call over every golden case (indexes warm, as in a running
   bot): median, p90 and p99; and the one-off load of the dictionaries.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialogs.format.loader import load_flows  # noqa: E402
from dialogs.format.yamlsource import parse_yaml  # noqa: E402
from dialogs.typed import understand  # noqa: E402

GOLDEN = ROOT / "tests" / "typed" / "golden"
REPEATS = 20


def verdict(result, expect) -> str:
    """correct / wrong-silent / ambiguous / none / miss (as tests/dialogs/typed/test_golden.py)"""
    wants_option = isinstance(expect, list) or not (
        expect in ("ambiguous", "none") or expect.startswith("faq:"))
    if result.kind == "option":
        wanted = set(expect) if isinstance(expect, list) else {expect}
        return "correct" if wants_option and set(result.options) == wanted else "wrong-silent"
    if expect == "ambiguous" and result.kind == "ambiguous":
        return "correct"
    if expect == "none" and result.kind == "none":
        return "correct"
    if isinstance(expect, str) and expect.startswith("faq:") and result.kind == "faq" \
            and result.faq == expect[4:]:
        return "correct"
    return result.kind if result.kind in ("ambiguous", "none") else "miss"


def main(show_misses: bool) -> None:
    from dialogs.typed.lemmas import lemma

    started = time.perf_counter()
    lemma("дом", "ru"), lemma("дім", "uk"), lemma("house", "en")
    print(f"dictionaries loaded (pymorphy3 ru + uk, Snowball en), once per process: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    flows = {flow_id: loaded.flow for flow_id, loaded in load_flows([ROOT / "dialogs" / "flows"])
             .items()}
    cases: list[tuple[str, str, dict]] = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        data = parse_yaml(path.read_text(encoding="utf-8")).data
        for language, listed in data["cases"].items():
            cases.extend((data["flow"], language, case) for case in listed)
    if not cases:
        print("no golden sets in tests/typed/golden/")
        return

    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    misses: list[str] = []
    for flow_id, language, case in cases:
        result = understand(flows[flow_id], case["step"], str(case["say"]), language)
        got = verdict(result, case["expect"])
        counts[flow_id, language][got] += 1
        if got != "correct":
            misses.append(f"  {got:<12} {flow_id}/{case['step']} {language} {case['say']!r}: "
                          f"expected {case['expect']}, got {result.kind} "
                          f"{list(result.options) or result.faq or ''} ({result.how} "
                          f"{result.score:.0f})")
    print(f"\n  {'flow':<26}{'lang':<6}{'cases':>6}{'correct':>9}{'did-you-mean':>14}"
          f"{'wrong-silent':>14}{'none':>6}{'other':>7}")
    total: Counter = Counter()
    for (flow_id, language), got in sorted(counts.items()):
        n = sum(got.values())
        total.update(got)
        print(f"  {flow_id:<26}{language:<6}{n:>6}{100 * got['correct'] / n:>8.1f}%"
              f"{got['ambiguous']:>14}{got['wrong-silent']:>14}{got['none']:>6}{got['miss']:>7}")
    n = sum(total.values())
    print(f"  {'all':<26}{'':<6}{n:>6}{100 * total['correct'] / n:>8.1f}%"
          f"{total['ambiguous']:>14}{total['wrong-silent']:>14}{total['none']:>6}"
          f"{total['miss']:>7}")
    print("  (did-you-mean / none / other: answers that were not what the case expects; "
          "other = a wrong FAQ or a missed one)")

    timings: list[float] = []
    for _ in range(REPEATS):
        for flow_id, language, case in cases:
            flow, say = flows[flow_id], str(case["say"])
            started = time.perf_counter_ns()
            understand(flow, case["step"], say, language)
            timings.append((time.perf_counter_ns() - started) / 1000)
    timings.sort()
    print(f"\nunderstand(): {len(timings)} calls, median {statistics.median(timings):.0f} µs, "
          f"p90 {timings[int(len(timings) * 0.9)]:.0f} µs, "
          f"p99 {timings[int(len(timings) * 0.99)]:.0f} µs (target: median well under 1 ms)")
    if show_misses:
        print("\nmisses:")
        print("\n".join(misses))


if __name__ == "__main__":
    main("--misses" in sys.argv[1:])
