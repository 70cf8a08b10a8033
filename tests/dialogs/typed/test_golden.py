"""The golden sets (tests/typed/golden/*.yaml): typed answers written the way prospects type
them, each run through `understand` at its step.

A case is correct when understand says what the case expects. A wrong option given without a
question ("wrong-silent": kind "option" where another option, an FAQ, nothing or a "did you
mean" was right) is the one mistake a prospect cannot see or undo, so there must be none; a
"did you mean" where an option was expected is only a miss. Accuracy must be at least 95 %
for every flow and language; the figures are printed (`pytest -s`), bench/typed.py prints
them too.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dialogs.format.schema import Flow
from dialogs.format.yamlsource import parse_yaml
from dialogs.lint.typed import check_typed
from dialogs.typed import understand
from tests.conftest import FLOWS_DIR

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "typed" / "golden"
GOLDEN_FILES = sorted(GOLDEN_DIR.glob("*.yaml"))
MIN_CASES = 40  # per flow and language
MIN_ACCURACY = 0.95


def flows() -> dict[str, Flow]:
    """The shipped flows as the schema reads them, without the linter: the linter runs
    `understand` on every synonym, so a matcher that misreads one would otherwise hide the
    figures below behind a load error (the shipped flows' lint is tested with their
    scenarios, tests/dialogs/test_scenarios.py)."""
    found = {}
    for path in sorted(FLOWS_DIR.glob("*.yaml")):
        if not path.name.endswith(".scenarios.yaml"):
            flow = Flow.model_validate(parse_yaml(path.read_text(encoding="utf-8")).data)
            found[flow.id] = flow
    return found


SHIPPED = flows()


def cases(path: Path) -> tuple[str, list[tuple[str, dict]]]:
    data = parse_yaml(path.read_text(encoding="utf-8")).data
    return data["flow"], [(language, case) for language, listed in data["cases"].items()
                          for case in listed]


def verdict(flow, case: dict, language: str) -> str:
    """"correct", "wrong-silent" or "miss" for one case."""
    result = understand(flow, case["step"], str(case["say"]), language)
    expect = case["expect"]
    if isinstance(expect, list) or not (expect in ("ambiguous", "none")
                                        or expect.startswith("faq:")):
        wanted = set(expect) if isinstance(expect, list) else {expect}
        if result.kind == "option":
            return "correct" if set(result.options) == wanted else "wrong-silent"
        return "miss"
    if result.kind == "option":
        return "wrong-silent"
    if expect == "ambiguous":
        return "correct" if result.kind == "ambiguous" else "miss"
    if expect == "none":
        return "correct" if result.kind == "none" else "miss"
    return "correct" if result.kind == "faq" and result.faq == expect[4:] else "miss"


def test_every_shipped_choice_flow_has_a_golden_set():
    with_choices = {flow_id for flow_id, flow in SHIPPED.items()
                    if any(getattr(step, "options", None) for step in flow.steps.values())}
    assert with_choices <= {path.stem for path in GOLDEN_FILES}


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_golden_set_is_well_formed(path):
    """Every case names a step, options and FAQ entries the flow has, so a renamed option
    cannot quietly turn a case into one nobody can pass; and every language has enough."""
    flow_id, listed = cases(path)
    assert path.stem == flow_id
    flow = SHIPPED[flow_id]
    faq_ids = {entry.id for entry in flow.faq}
    counts = Counter(language for language, _ in listed)
    assert set(counts) == set(flow.languages)
    assert min(counts.values()) >= MIN_CASES, counts
    for _language, case in listed:
        assert set(case) == {"step", "say", "expect"}, case
        step = flow.steps[case["step"]]
        ids = {option.id for option in getattr(step, "options", ())}
        expect = case["expect"]
        if isinstance(expect, list):
            assert step.kind == "multiple_choice" and set(expect) <= ids and expect, case
        elif expect.startswith("faq:"):
            assert expect[4:] in faq_ids, case
        elif expect not in ("ambiguous", "none"):
            assert expect in ids, case


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_golden_set_is_understood(path):
    flow_id, listed = cases(path)
    flow = SHIPPED[flow_id]
    tally: dict[str, Counter] = {}
    wrong = []
    for language, case in listed:
        outcome = verdict(flow, case, language)
        tally.setdefault(language, Counter())[outcome] += 1
        if outcome != "correct":
            result = understand(flow, case["step"], str(case["say"]), language)
            wrong.append(f"{outcome}: {language} {case['step']} {case['say']!r} expected "
                         f"{case['expect']!r}, got {result.kind} {result.options or ''}"
                         f"{result.faq or ''} ({result.how})")
    low = []
    for language, counts in sorted(tally.items()):
        total = sum(counts.values())
        accuracy = counts["correct"] / total
        print(f"{flow_id} {language}: {accuracy:.1%} correct of {total}, "
              f"{counts['wrong-silent']} wrong-silent, {counts['miss']} missed")
        if accuracy < MIN_ACCURACY:
            low.append(f"{language} {accuracy:.1%}")
    print("\n".join(wrong))
    assert [line for line in wrong if line.startswith("wrong-silent")] == []
    assert low == [], "\n".join(wrong)


@pytest.mark.parametrize("flow_id", sorted(SHIPPED))
def test_every_synonym_and_faq_phrasing_reads_as_itself(flow_id):
    """What the linter refuses a flow for (dialogs/lint/typed.py), here so the matcher's own
    tests show it: a synonym typed exactly as written must give its own option alone, an FAQ
    phrasing its own entry at every choice step. A shipped flow failing this does not load."""
    problems = [message for _, message in check_typed(SHIPPED[flow_id])]
    assert problems == []
