"""Typed answers in the engine (docs/typed.md "In the chat"): an option typed is recorded as
a tap would be, an FAQ question is answered and the question asked again, anything else
gets the reminder and, when it looks like something said, is kept masked."""

from __future__ import annotations

import pytest

from dialogs.engine import callback
from dialogs.engine.actions import (
    EditMessage,
    FaqHit,
    RecordAnswer,
    SendMessage,
    Unmatched,
)
from dialogs.engine.core import _turn
from dialogs.engine.kinds.typed import did_you_mean
from tests.dialogs.chat import Chat
from tests.dialogs.flowkit import t


def _typed_flow(flow_data: dict) -> dict:
    flow_data["steps"]["ask"]["options"][0]["synonyms"] = {
        "ru": ["двушка"], "uk": ["двокімнатна"], "en": ["two rooms"]}
    flow_data["steps"]["ask"]["options"][1]["synonyms"] = {"en": ["studio"]}
    flow_data["faq"] = [
        {"id": "price", "ask": {"ru": ["сколько стоит замер?"], "uk": ["скільки коштує замір?"],
                                "en": ["how much is measuring?"]},
         "answer": t("Measuring is free."),
         "link": {"text": t("Prices"), "url": "https://shop.example/prices"}},
        {"id": "catalogue", "ask": {"ru": ["каталог"], "uk": ["каталог"], "en": ["catalogue"]},
         "answer": t("Here it is."), "file": t("catalogue.pdf")},
    ]
    return flow_data


@pytest.fixture
def typed(make_flow, flow_data):
    return make_flow(_typed_flow(flow_data))


def test_a_typed_synonym_is_recorded_as_the_tap_would_be(typed):
    tapped, chat = Chat(typed), Chat(typed, "ru")
    tapped.tap("a")
    chat.text("  Двушка ")
    answer, by_tap = chat.of(RecordAnswer)[0], tapped.of(RecordAnswer)[0]
    assert (answer.value, answer.points, answer.tags, answer.label) == (
        by_tap.value, by_tap.points, by_tap.tags, by_tap.label)
    assert answer.typed == '"Двушка" -> a (synonym)' and by_tap.typed is None
    assert chat.state.step == tapped.state.step == "agree"
    edit = chat.of(EditMessage)[0]
    assert edit.step == "ask" and edit.text.endswith("A (ru)")


def test_a_typed_label_in_another_language_is_an_answer_too(typed):
    chat = Chat(typed, "en")
    chat.text("b (uk)")
    assert chat.of(RecordAnswer)[0].value == "b" and chat.state.step == "bye"


def test_an_faq_question_is_answered_then_the_same_question_asked_again(typed):
    chat = Chat(typed, "ru")
    before = chat.state
    actions = chat.text("Сколько стоит замер?")
    sent = chat.of(SendMessage)
    assert sent[0].text == "Measuring is free. (ru)"
    assert sent[0].buttons[0][0].url == "https://shop.example/prices"
    assert sent[0].buttons[0][0].text == "Prices (ru)"
    assert sent[-1].step == "ask" and sent[-1].text == "Which? (ru)"
    assert chat.of(FaqHit) == [FaqHit(step="ask", entry="price")]
    assert not chat.of(RecordAnswer) and not chat.of(Unmatched)
    assert chat.state.step == before.step == "ask" and chat.state.answers == before.answers
    assert actions.index(chat.of(FaqHit)[0]) < actions.index(sent[-1])


def test_an_faq_file_is_sent_in_the_prospects_language(typed):
    chat = Chat(typed, "uk")
    chat.text("каталог")
    assert chat.of(SendMessage)[0].file == "catalogue.pdf (uk)"


def test_something_said_that_matches_nothing_is_kept_masked(typed):
    chat = Chat(typed, "ru")
    chat.text("меня интересует кухня, мой email ivan@mail.example и +7 999 123-45-67")
    kept = chat.of(Unmatched)
    assert len(kept) == 1 and kept[0].step == "ask" and kept[0].language == "ru"
    assert "ivan@" not in kept[0].text and "123-45" not in kept[0].text
    assert "кухня" in kept[0].text
    assert "кнопкой" in chat.said() and chat.state.step == "ask"
    assert not chat.of(RecordAnswer)


@pytest.mark.parametrize("said", ["ok", "да", "👍", "7"])
def test_a_single_word_is_not_kept(typed, said):
    chat = Chat(typed, "ru")
    chat.text(said)
    assert not chat.of(Unmatched) and chat.buttons()[:2] == ["a", "b"]


def test_a_one_word_question_is_kept(typed):
    chat = Chat(typed, "en")
    chat.text("delivery?")
    assert chat.of(Unmatched)[0].text == "delivery?"


def test_did_you_mean_offers_the_two_as_ordinary_buttons(typed):
    chat = Chat(typed, "en")
    turn = _turn(typed, chat.state)
    did_you_mean(turn, turn.step, ("b", "a"))
    offer = turn.actions[0]
    assert offer.text.startswith("Did you mean") and offer.step == "ask"
    options = [callback.unpack(b.data) for row in offer.buttons for b in row]
    assert [o.option for o in options] == ["b", "a"] and {o.step for o in options} == {"ask"}
    chat.send_tap = chat.tap(options[0].option)  # a tap on one is an ordinary tap
    assert chat.of(RecordAnswer)[0].value == "b" and chat.of(RecordAnswer)[0].typed is None


def _multiple(flow_data: dict, minimum: int = 1, maximum: int | None = 2) -> dict:
    flow_data = _typed_flow(flow_data)
    flow_data["steps"]["ask"] = {
        "kind": "multiple_choice", "text": t("Which?"), "min": minimum, "max": maximum,
        "next": "agree", "options": [
            {"id": i, "text": t(i.upper()), "score": 1, "synonyms": {"en": [f"{i}{i}"]}}
            for i in ("a", "b", "c")]}
    flow_data["qualification"] = {}
    return flow_data


def test_multiple_choice_typed_finishes_the_step_as_tap_then_done(make_flow, flow_data):
    chat = Chat(make_flow(_multiple(flow_data)))
    chat.tap("c")
    chat.text("aa")
    answer = chat.of(RecordAnswer)[0]
    assert answer.value == ("a", "c") and answer.points == 2
    assert answer.typed == '"aa" -> a (synonym)'
    assert chat.state.step == "agree" and chat.state.selected == ()
    assert chat.of(EditMessage)[0].text.endswith("A, C")


def test_multiple_choice_typed_over_the_maximum_is_refused_politely(make_flow, flow_data):
    chat = Chat(make_flow(_multiple(flow_data, maximum=1)))
    chat.tap("c")
    chat.text("aa")
    assert "at most 1" in chat.said() and not chat.of(RecordAnswer)
    assert chat.state.step == "ask" and chat.state.selected == ("c",)


def test_multiple_choice_typed_under_the_minimum_ticks_and_asks_for_more(make_flow, flow_data):
    chat = Chat(make_flow(_multiple(flow_data, minimum=2, maximum=None)))
    chat.text("bb")
    assert "at least 2" in chat.said() and not chat.of(RecordAnswer)
    assert chat.state.selected == ("b",)
    assert any(b.text == "✓ B" for m in chat.of(SendMessage) for row in m.buttons for b in row)


def _number(flow_data: dict, **extra) -> dict:
    flow_data = _typed_flow(flow_data)
    flow_data["steps"]["area"] = {"kind": "number", "text": t("Area?"), "min": 10, "max": 200,
                                  "unit": t("m²"), "next": "agree", **extra}
    flow_data["steps"]["ask"]["options"][0]["next"] = "area"
    return flow_data


def test_a_number_step_answers_an_faq_then_asks_again(make_flow, flow_data):
    chat = Chat(make_flow(_number(flow_data)), "ru")
    chat.tap("a")
    chat.text("сколько стоит замер?")
    assert chat.of(FaqHit) == [FaqHit(step="area", entry="price")]
    assert chat.of(SendMessage)[-1].text == "Area? (ru)" and chat.state.step == "area"
    chat.text("не знаю точно")
    assert "введите число" in chat.said() and chat.of(Unmatched)[0].step == "area"
    chat.text("55")
    assert chat.of(RecordAnswer)[0].value == 55


@pytest.mark.parametrize(("said", "middle", "label"), [
    ("от 50 до 70", 60, "50 to 70 m²"), ("40-45", 42.5, "40 to 45 m²"),
    ("70 to 50", 60, "50 to 70 m²")])
def test_a_range_step_records_the_middle_and_shows_the_range(make_flow, flow_data, said,
                                                              middle, label):
    chat = Chat(make_flow(_number(flow_data, range=True)), "ru")
    chat.tap("a")
    chat.text(said)
    answer = chat.of(RecordAnswer)[0]
    assert (answer.value, answer.label) == (middle, label)
    assert chat.state.step == "agree"


def test_a_range_is_refused_where_the_step_has_no_range_or_it_does_not_fit(make_flow, flow_data):
    chat = Chat(make_flow(_number(flow_data)), "en")
    chat.tap("a")
    chat.text("50-70")
    assert not chat.of(RecordAnswer) and chat.state.step == "area"
    chat = Chat(make_flow(_number(flow_data, range=True)), "en")
    chat.tap("a")
    chat.text("5 to 70")
    assert not chat.of(RecordAnswer) and chat.state.step == "area"


def test_free_text_never_asks_the_faq(make_flow, flow_data):
    flow_data = _typed_flow(flow_data)
    flow_data["steps"]["note"] = {"kind": "free_text", "text": t("Anything?"),
                                  "next": "contact"}
    flow_data["steps"]["agree"]["next"] = "note"
    chat = Chat(make_flow(flow_data), "en")
    chat.tap("a")
    chat.tap("agree")
    assert chat.state.step == "note"
    chat.text("how much is measuring?")
    assert chat.of(RecordAnswer)[0].value == "how much is measuring?"
    assert not chat.of(FaqHit)


def test_on_the_shipped_quiz_a_did_you_mean_is_tapped_and_an_faq_asked_mid_quiz(shipped):
    chat = Chat(shipped["kitchen-quiz"], "ru")
    chat.tap("continue")
    chat.text("в городе")
    assert chat.of(RecordAnswer)[0].value == "city" and chat.state.step == "layout"
    chat.text("п образная или угловая")
    offer = chat.of(SendMessage)[0]
    assert offer.text.startswith("Вы имели в виду") and not chat.of(RecordAnswer)
    assert sorted(chat.buttons()) == ["corner", "u-shaped", "~back"]
    chat.tap("corner")
    assert chat.of(RecordAnswer)[0].value == "corner" and chat.state.step == "size"
    chat.text("какая гарантия?")
    assert chat.of(FaqHit) == [FaqHit(step="size", entry="warranty")]
    assert chat.state.step == "size" and chat.of(SendMessage)[-1].step == "size"
