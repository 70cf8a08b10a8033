"""Scenarios that type instead of tap (`say:`, dialogs/format/scenarios.py): the text goes to
the engine as a prospect's message and `expect` beside it is checked."""

from __future__ import annotations

import pytest

from dialogs.format.scenarios import ScenarioError, check, run
from tests.dialogs.flowkit import t


@pytest.fixture
def flow(make_flow, flow_data):
    options = flow_data["steps"]["ask"]["options"]
    options[0]["text"] = {"ru": "Кухня", "uk": "Кухня", "en": "Kitchen"}
    options[0]["synonyms"] = {"ru": ["кухню"], "uk": ["кухню"], "en": ["cooking room"]}
    options[1]["text"] = {"ru": "Ванная", "uk": "Ванна", "en": "Bathroom"}
    flow_data["faq"] = [{"id": "price", "answer": t("From 100 a metre."), "ask": {
        "ru": ["сколько стоит"], "uk": ["скільки коштує"], "en": ["how much is it"]}}]
    return make_flow(flow_data)


def test_a_typed_answer_is_recorded_as_a_tap(flow):
    typed = run(flow, [{"say": "cooking room", "expect": "a"}], "en")
    tapped = run(flow, [{"tap": "a"}], "en")
    assert check(typed, {}) == []
    assert typed.state.step == tapped.state.step == "agree"
    assert typed.state.answers == tapped.state.answers


def test_a_typed_answer_that_means_another_option_is_reported_in_words(flow):
    result = run(flow, [{"say": "Kitchen", "expect": "b"}], "en")
    assert check(result, {}) == [
        "input 1: say 'Kitchen' at step 'ask': expected 'b', understood as a (label)"]


def test_faq_and_nothing_are_expectations_too(flow):
    result = run(flow, [{"say": "how much is it?", "expect": "faq:price"},
                        {"say": "the weather is nice", "expect": "none"},
                        {"say": "how much is it?", "expect": "a"}], "en")
    assert result.state.step == "ask"
    assert check(result, {"says": "From 100 a metre."}) == [
        "input 3: say 'how much is it?' at step 'ask': expected 'a', understood as faq:price"]


def test_say_without_expect_only_types(flow):
    result = run(flow, [{"say": "bathroom"}], "en")
    assert result.state.step == "bye"


def test_say_takes_only_expect_beside_it(flow):
    with pytest.raises(ScenarioError, match="input 1: say: takes only 'expect'"):
        run(flow, [{"say": "kitchen", "tap": "a"}], "en")


def test_an_option_understood_but_not_recorded_says_so(make_flow, flow_data):
    step = flow_data["steps"]["ask"]
    step.update(kind="multiple_choice", max=1, next="agree")
    for option in step["options"]:
        option.pop("next")
    step["options"][0]["text"] = {"ru": "Кухня", "uk": "Кухня", "en": "Kitchen"}
    step["options"][1]["text"] = {"ru": "Ванная", "uk": "Ванна", "en": "Bathroom"}
    flow_data["qualification"]["target"] = "'a' in answers.ask"
    result = run(make_flow(flow_data), [{"say": "kitchen and bathroom",
                                         "expect": ["a", "b"]}], "en")
    assert check(result, {}) == [
        "input 1: say 'kitchen and bathroom' at step 'ask': expected ['a', 'b'], understood "
        "as a, b (label) (not recorded: see what the bot said)"]
