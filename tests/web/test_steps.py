"""bot/web/steps.py, a table each: a step's name from its text, the rates shown."""

from __future__ import annotations

import pytest

from bot.web.steps import distribution, named, question
from dialogs.rules.funnel import branch_ends


@pytest.mark.parametrize(("text", "name"), [
    ("Where will the kitchen be? We measure in the city.", "Where will the kitchen be?"),
    ("Какая планировка? Ваша скидка уже {discount} %.", "Какая планировка?"),
    ("Your discount is {discount} %! To reserve it", "Your discount is … %! To reserve it"),
    ("Hello!\n\nAnswer 6 questions", "Hello!"),
    ("x" * 100, "x" * 69 + "…"),
    ("", None), (None, None),
])
def test_a_step_is_named_by_its_question(text, name):
    assert question(text) == name


DEFINITION = {"default_language": "ru", "steps": {
    "intro": {"kind": "message", "text": {"ru": "Привет!"}},
    "where": {"kind": "single_choice", "text": {"ru": "Где?", "en": "Where?"}, "options": [
        {"id": "near", "text": {"ru": "Рядом", "en": "Near"}},
        {"id": "far", "text": {"ru": "Далеко"}, "next": "away"}]},
    "size": {"kind": "number", "text": {"ru": "Сколько метров?"}},
    "done": {"kind": "end"}, "away": {"kind": "end"}}}
STEPS = [{"step": "intro", "kind": "message", "reached": 10, "answered": 0, "drop_off": None},
         {"step": "where", "kind": "single_choice", "reached": 10, "answered": 9,
          "drop_off": 0.0},
         {"step": "size", "kind": "number", "reached": 8, "answered": 8, "drop_off": 20.0},
         {"step": "done", "kind": "end", "reached": 8, "answered": 0, "drop_off": 0.0},
         {"step": "away", "kind": "end", "reached": 2, "answered": 0, "drop_off": None,
          "branch_of": "where", "branch_share": 20.0}]


def test_rates_only_where_they_mean_something():
    shown = {s["step"]: s for s in named(STEPS, DEFINITION, "en")}
    assert [shown[s]["name"] for s in shown] == ["Привет!", "Where?", "Сколько метров?",
                                                 None, None]  # the flow's language: ru
    assert [s["asks"] for s in shown.values()] == [False, True, True, False, False]
    assert shown["where"]["lost"] is None and shown["size"]["lost"] == 20.0  # no −0.0 %
    assert shown["away"]["branch_of"] == "where" and shown["done"]["branch_of"] is None
    assert branch_ends(DEFINITION) == {"away": "where"}


def test_answers_per_option_in_the_flows_order_never_a_free_answer():
    steps = named(STEPS, DEFINITION, "en")
    [where, size] = distribution(steps, DEFINITION, {"where": {"far": 3, "near": 6,
                                                                "gone": 1}}, "en")
    assert [(o["id"], o["label"], o["people"], o["share"]) for o in where["options"]] == [
        ("near", "Near", 6, 66.7), ("far", "Далеко", 3, 33.3), ("gone", "gone", 1, 11.1)]
    assert size["options"] == [] and size["answered"] == 8
