"""The shipped flows' scenario files: they pass, and together they cover every outcome."""

from __future__ import annotations

import pytest

from dialogs.format.loader import flow_files, read_flow
from dialogs.format.scenarios import check, check_file, run, scenario_file
from dialogs.format.yamlsource import parse_yaml
from tests.conftest import FLOWS_DIR

FLOW_FILES = flow_files([FLOWS_DIR])


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_shipped_scenarios_pass(path):
    flow, problems = read_flow(path)
    assert flow is not None, problems
    count, problems = check_file(flow, scenario_file(path))
    assert count >= 4
    assert problems == []


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.stem)
def test_scenarios_cover_every_outcome_and_temperature(path):
    flow, _ = read_flow(path)
    data = parse_yaml(scenario_file(path).read_text(encoding="utf-8")).data
    outcomes, temperatures = set(), set()
    for scenario in data["scenarios"]:
        result = run(flow, scenario["do"], scenario.get("language"))
        if result.qualification:
            outcomes.add(result.qualification.outcome)
            temperatures.add(result.qualification.temperature)
    assert outcomes == {"handoff", "nurture", "close"}
    assert {"hot", "warm", "cold"} <= temperatures


def test_a_failing_expectation_is_reported_in_words(shipped):
    result = run(shipped["kitchen-quiz"], [{"tap": "continue"}, {"tap": "far"}], "en")
    assert check(result, {"outcome": "close", "target": False}) == []
    assert check(result, {"outcome": "handoff", "says": "nowhere", "tempreature": "hot"}) == [
        "expected outcome 'handoff', got 'close'",
        "expected the bot to say 'nowhere'",
        "unknown expectation 'tempreature' (known: step, finished, outcome, temperature, "
        "score, discount, target, mql, sql, tags, says, results, follow_ups, reward, language, "
        "delivered)",
    ]


def test_a_tap_on_a_missing_option_names_the_step_and_the_options(shipped, tmp_path):
    bad = tmp_path / "kitchen-quiz.scenarios.yaml"
    bad.write_text("flow: kitchen-quiz\nscenarios:\n  - name: typo\n    do:\n"
                   "      - tap: continue\n      - tap: town\n    expect: {}\n",
                   encoding="utf-8")
    count, problems = check_file(shipped["kitchen-quiz"], bad)
    assert count == 1
    assert [str(p) for p in problems] == [
        f"{bad}:3: scenario 'typo': input 2: step 'location' has no option 'town' "
        "(options: city, far, suburbs)"]


@pytest.mark.parametrize("body", [
    "    do: {tap: continue}\n    expect: {}\n",
    "    do: []\n    expect: [outcome, close]\n",
    "    do: tap continue\n",
    "    do: []\n    expect: {tags: 5}\n",
])
def test_a_malformed_scenario_is_a_problem_not_a_crash(shipped, tmp_path, body):
    bad = tmp_path / "kitchen-quiz.scenarios.yaml"
    bad.write_text(f"flow: kitchen-quiz\nscenarios:\n  - name: odd\n{body}", encoding="utf-8")
    count, problems = check_file(shipped["kitchen-quiz"], bad)
    assert count <= 1 and len(problems) == 1
    assert "scenario 'odd'" in str(problems[0])
