"""A/B experiments in the flow format: the linter's refusals (one per rule), the assignment
of variants (deterministic, by weight) and the significance arithmetic."""

from __future__ import annotations

import copy
import re
from collections import Counter

import pytest

from dialogs.format.loader import load_flows
from dialogs.format.problems import FlowError
from dialogs.rules.experiments import assign, bucket
from dialogs.rules.significance import (
    FISHER,
    Z_TEST,
    compare,
    fisher_exact,
    needed_per_variant,
    two_proportions,
    z_test,
)
from tests.dialogs.flowkit import MINIMAL, t


def variant(flow_id: str, name: str, weight: int = 1, experiment: str = "demo-test") -> dict:
    data = copy.deepcopy(MINIMAL)
    data["id"] = flow_id
    data["experiment"] = {"name": experiment, "variant": name, "weight": weight}
    return data


def write_all(write_flow, *flows: dict) -> list:
    return [write_flow(data, f"{data['id']}.yaml") for data in flows]


def refuse(write_flow, flows: list[dict], pattern: str, file: str) -> None:
    paths = write_all(write_flow, *flows)
    with pytest.raises(FlowError) as caught:
        load_flows([paths[0].parent])
    text = str(caught.value)
    assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"
    [line] = [line for line in text.splitlines() if re.search(pattern, line)]
    assert line.startswith(f"{paths[0].parent / file}:"), line  # the file and its line


def test_a_consistent_experiment_loads(write_flow):
    paths = write_all(write_flow, variant("demo-a", "a", 50), variant("demo-b", "b", 50))
    flows = load_flows([paths[0].parent])
    assert {f.flow.experiment.variant for f in flows.values()} == {"a", "b"}


def test_an_experiment_of_one_variant(write_flow):
    refuse(write_flow, [variant("demo-a", "a")],
           r"experiment 'demo-test' has only this variant: add another flow file", "demo-a.yaml")


def test_two_variants_of_one_name(write_flow):
    refuse(write_flow, [variant("demo-a", "a"), variant("demo-b", "a")],
           r"variant 'a' of experiment 'demo-test' is also declared by .*demo-a\.yaml",
           "demo-b.yaml")


@pytest.mark.parametrize("weight", [0, -5, 1_000_001])
def test_a_weight_out_of_range(write_flow, weight):
    refuse(write_flow, [variant("demo-a", "a"), variant("demo-b", "b", weight)],
           rf"field 'experiment.weight': weight is {weight}: a weight is a whole number "
           "from 1 to 1,000,000", "demo-b.yaml")


@pytest.mark.parametrize(("weight", "words"), [
    (10**400, "weight is a number of more than 100 digits: a weight is a whole number"),
    (float("inf"), "Input should be a finite number"),
    (float("nan"), "Input should be a finite number"),
    (1e300, "Unable to parse input string as an integer")])
def test_an_absurd_weight_is_refused_with_its_file_and_line(write_flow, weight, words):
    """10^400 passed the linter, and then assigning a variant raised OverflowError (a float
    product past 1e308): every prospect entering the experiment failed 3 times, skipped."""
    refuse(write_flow, [variant("demo-a", "a"), variant("demo-b", "b", weight)],
           rf"demo-b\.yaml:\d+: field 'experiment.weight': {re.escape(words)}",
           "demo-b.yaml")


def test_a_number_python_cannot_build_is_a_lint_line_not_a_traceback(write_flow):
    path = write_flow(variant("demo-b", "b"), "demo-b.yaml")
    path.write_text(path.read_text().replace("weight: 1", "weight: 1" + "0" * 5000))
    write_flow(variant("demo-a", "a"), "demo-a.yaml")
    with pytest.raises(FlowError) as caught:
        load_flows([path.parent])
    assert re.search(r"demo-b\.yaml:\d+: not valid YAML: a value that cannot be read",
                     str(caught.value))


def test_weights_of_zero_for_every_variant_are_each_refused(write_flow):
    paths = write_all(write_flow, variant("demo-a", "a", 0), variant("demo-b", "b", 0))
    with pytest.raises(FlowError) as caught:
        load_flows([paths[0].parent])
    assert str(caught.value).count("weight is 0: a weight is a whole number") == 2


def test_variants_must_speak_the_same_languages(write_flow):
    other = variant("demo-b", "b")
    other["languages"] = ["en"]
    other["steps"]["agree"]["text"] = {"en": MINIMAL["steps"]["agree"]["text"]["en"]}
    for step in other["steps"].values():
        for key in ("text", "accept", "decline"):
            if isinstance(step.get(key), dict):
                step[key] = {"en": step[key]["en"]}
        for option in step.get("options", ()):
            option["text"] = {"en": option["text"]["en"]}
    other["title"] = {"en": "Demo"}
    refuse(write_flow, [variant("demo-a", "a"), other],
           r"languages en \(default en\) differ from variant 'a'", "demo-b.yaml")


def test_variants_share_the_menu_title(write_flow):
    other = variant("demo-b", "b")
    other["title"] = t("Another demo")
    refuse(write_flow, [variant("demo-a", "a"), other],
           r"title differs from variant 'a'.*the menu shows the experiment once",
           "demo-b.yaml")


def test_variants_ask_for_the_same_consent(write_flow):
    other = variant("demo-b", "b")
    other["steps"]["agree"]["policy_version"] = "2"
    refuse(write_flow, [variant("demo-a", "a"), other],
           r"consent differs from variant 'a'.*policy https://shop.example/privacy v2 here",
           "demo-b.yaml")


def test_variants_ask_for_contact_alike(write_flow):
    other = variant("demo-b", "b")
    other["steps"]["agree"]["next"] = "bye"
    del other["steps"]["contact"]
    refuse(write_flow, [variant("demo-a", "a"), other],
           r"does not ask for contact details but variant 'a'", "demo-b.yaml")


def test_an_experiment_named_like_a_plain_flow(write_flow):
    plain = copy.deepcopy(MINIMAL)
    plain["id"] = "demo-test"
    refuse(write_flow, [variant("demo-a", "a"), variant("demo-b", "b"), plain],
           r"experiment 'demo-test' has the id of flow 'demo-test' .* not one of its variants",
           "demo-a.yaml")


def test_an_experiment_may_keep_the_id_of_its_first_variant(write_flow):
    """A flow that becomes an experiment under its own id keeps its deep links."""
    paths = write_all(write_flow, variant("demo-test", "a"), variant("demo-test-b", "b"))
    assert set(load_flows([paths[0].parent])) == {"demo-test", "demo-test-b"}


def test_the_lint_command_checks_experiments_too(write_flow):
    from tests.bot.test_cli import leadbot

    paths = write_all(write_flow, variant("demo-a", "a"))
    result = leadbot("lint", str(paths[0].parent))
    assert result.returncode == 1
    assert "experiment 'demo-test' has only this variant" in result.stdout
    # a variant's file named alone is linted (and simulated) alone: its sibling is elsewhere
    alone = leadbot("lint", "--no-scenarios", str(paths[0]))
    assert alone.returncode == 0, alone.stdout
    assert load_flows([paths[0]])["demo-a"].flow.experiment.variant == "a"


# -- assignment ----------------------------------------------------------------------------
def test_assignment_is_deterministic_and_ignores_the_order_of_variants():
    variants = [("a", 50), ("b", 50)]
    first = [assign("kitchen", user, variants) for user in range(1000)]
    again = [assign("kitchen", user, list(reversed(variants))) for user in range(1000)]
    assert first == again
    assert bucket("kitchen", 42) == bucket("kitchen", 42)
    # a different experiment splits the same people independently
    other = [assign("calculator", user, variants) for user in range(1000)]
    assert first != other


@pytest.mark.parametrize("weights", [(50, 50), (80, 20), (1, 1, 2)])
def test_assignment_respects_the_weights(weights):
    """20,000 ids: each share within 2 points of its weight (the standard error at 50 % is
    0.35 points, so this fails by chance far less than once in a billion runs)."""
    variants = [(chr(ord("a") + i), w) for i, w in enumerate(weights)]
    counts = Counter(assign("exp", 10**9 + user, variants) for user in range(20_000))
    total = sum(weights)
    for name, weight in variants:
        assert abs(counts[name] / 20_000 - weight / total) < 0.02, (counts, weights)


@pytest.mark.parametrize("weights", [(1, 1_000_000), (1_000_000, 1_000_000), (10**400, 1)])
def test_assignment_never_overflows_whatever_the_weights(weights):
    """A flow that lints (weights 1 to 1,000,000) always gets a variant; exact whole-number
    arithmetic, so even a weight the linter refuses cannot make the choice raise."""
    variants = [("a", weights[0]), ("b", weights[1])]
    chosen = {assign("exp", user, variants) for user in range(2000)}
    assert chosen <= {"a", "b"} and chosen


def test_assignment_refuses_weights_that_are_not_positive():
    with pytest.raises(ValueError):
        assign("exp", 1, [("a", 1), ("b", 0)])


# -- significance --------------------------------------------------------------------------
def test_fisher_exact_matches_known_values():
    # the lady tasting tea: 3 of 4 vs 1 of 4, two-sided p = 0.4857
    assert fisher_exact(3, 4, 1, 4) == pytest.approx(0.485714, abs=1e-5)
    # 0 of 10 vs 10 of 10: p = 2 / C(20, 10)
    assert fisher_exact(0, 10, 10, 10) == pytest.approx(2 / 184756, rel=1e-6)
    assert fisher_exact(2, 5, 2, 5) == pytest.approx(1.0)


def test_z_test_matches_a_known_value():
    # 60 of 200 vs 40 of 200: pooled 0.25, z = 0.1 / 0.0433 = 2.309, two-sided p = 0.0209
    assert z_test(60, 200, 40, 200) == pytest.approx(0.0209, abs=2e-4)
    assert z_test(0, 100, 0, 100) == 1.0


def test_the_test_is_chosen_by_the_expected_counts():
    assert two_proportions(1, 3, 2, 3).method == FISHER
    assert two_proportions(60, 200, 40, 200).method == Z_TEST
    # (1.96 + 0.84)^2 * (0.09 + 0.1056) / 0.02^2 = 3838.2
    assert needed_per_variant(0.10, 0.12) == 3839
    assert needed_per_variant(0.1, 0.1) is None


def test_compare_says_significant_or_not_enough_data_in_plain_words():
    result = compare({"a": {"started": 120, "leads": 12, "hot": 5, "handoffs": 5},
                      "b": {"started": 120, "leads": 42, "hot": 6, "handoffs": 0}})
    tests = {t["metric"]: t for t in result["tests"]}
    assert result["reference"] == "a"
    assert tests["leads"]["verdict"] == "significant"
    assert "more than noise (two-proportion z-test, p = " in tests["leads"]["note"]
    assert "95 % confidence" in tests["leads"]["note"]
    assert tests["hot"]["verdict"] == "not_enough_data"
    assert "not enough data to tell this from noise" in tests["hot"]["note"]
    assert "Fisher's exact test" in tests["handoffs"]["note"]  # 5 of 240 expected: small
    none = compare({"a": {"started": 5, "leads": 1}, "b": {"started": 0}})
    assert none["tests"][0]["note"] == "not enough data: nobody started variant b yet"


def test_more_than_two_variants_are_each_compared_with_the_first_at_a_stricter_level():
    result = compare({name: {"started": 100, "leads": 10} for name in ("a", "b", "c")})
    assert result["alpha"] == 0.025
    assert {t["variant"] for t in result["tests"]} == {"b", "c"}
