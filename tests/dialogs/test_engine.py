"""The engine, step kind by step kind, on the shipped flows and small ones made here."""

from __future__ import annotations

import hashlib
import json

import pytest

from dialogs.engine.actions import (
    AnswerTap,
    EditMessage,
    GiveReward,
    HandOff,
    RecordAnswer,
    RecordConsent,
    RecordQualification,
    ScheduleFollowUp,
    SendMessage,
    SetContact,
)
from dialogs.engine.core import step
from dialogs.engine.events import Back, ChangeLanguage, Restart, Start, Tap
from dialogs.engine.state import State
from tests.dialogs.chat import Chat

QUIZ_TO_CONSENT = ["continue", "city", "island", "large", "veneer", "~done", "month"]


def quiz(shipped, language="en", upto=QUIZ_TO_CONSENT, **kwargs) -> Chat:
    chat = Chat(shipped["kitchen-quiz"], language, **kwargs)
    for option in upto:
        chat.tap(option)
    return chat


@pytest.mark.parametrize(("code", "language"), [
    ("uk", "uk"), ("uk-UA", "uk"), ("en-GB", "en"), ("ru", "ru"), ("de", "ru"), (None, "ru")])
def test_start_picks_the_prospects_language(shipped, code, language):
    state, actions = step(shipped["kitchen-quiz"], None, Start(user_id=1, language_code=code))
    assert state.language == language
    assert state.step == "intro" and actions


def test_start_records_the_deep_link_source(shipped):
    assert Chat(shipped["kitchen-quiz"], source="instagram").state.source == "instagram"


def test_single_choice_records_and_shows_the_chosen_answer(shipped):
    chat = quiz(shipped, upto=["continue"])
    actions = chat.tap("city")
    answer = chat.of(RecordAnswer)[0]
    assert (answer.step, answer.value, answer.points, answer.label) == (
        "location", "city", 5, "В городе")  # labels in the flow's language, for managers
    edit = chat.of(EditMessage)[0]
    assert edit.step == "location" and edit.text.endswith("Your answer: In the city")
    assert edit.buttons == ()
    assert chat.state.step == "layout"
    assert isinstance(actions[0], AnswerTap)  # the button stops spinning first


def test_text_where_buttons_are_expected_gets_a_reminder_with_buttons(shipped):
    chat = quiz(shipped, upto=["continue"])
    before = chat.state
    chat.text("hmm")
    assert chat.state == before
    reminder = chat.of(SendMessage)[0]
    assert "choose one of the buttons" in reminder.text
    assert [b.text for row in reminder.buttons for b in row][:3] == [
        "In the city", "Within 50 km", "Farther than 50 km"]


def test_sticker_gets_a_polite_answer_in_the_prospects_language(shipped):
    chat = quiz(shipped, language="uk", upto=["continue"])
    before = chat.state
    chat.sticker()
    assert chat.state == before
    assert "розумію лише текст і кнопки" in chat.said()


def test_double_tap_counts_once(shipped):
    chat = quiz(shipped, upto=["continue"])
    chat.tap("city")
    after_first = chat.state
    actions = chat.tap("city", step_id="location")
    assert chat.state == after_first
    assert actions == [AnswerTap(text="Noted")]
    assert len(chat.of(RecordAnswer, chat.log)) == 1


def test_tap_on_an_older_question_is_answered_politely(shipped):
    chat = quiz(shipped, upto=["continue", "city"])
    before = chat.state
    actions = chat.tap("far", step_id="location")
    assert chat.state == before
    assert "behind us" in actions[0].text


def test_stale_button_from_an_older_flow_version(shipped):
    chat = quiz(shipped, upto=["continue"])
    before = chat.state
    actions = chat.send(Tap("kitchen-quiz", 0, "location", "city"))
    assert chat.state == before
    assert "has been updated" in actions[0].text
    assert chat.of(SendMessage)[0].step == "location"  # the current question again


def test_garbage_callback_data_changes_nothing(shipped):
    from dialogs.engine.callback import unpack

    chat = quiz(shipped, upto=["continue"])
    before = chat.state
    chat.send(unpack("not:ours"))
    assert chat.state == before


def test_multiple_choice_toggles_in_place_then_done(shipped):
    chat = quiz(shipped, upto=["continue", "city", "island", "large", "veneer"])
    chat.tap("appliances")
    edit = chat.of(EditMessage)[0]
    assert edit.buttons[0][0].text == "✓ Built-in appliances"
    chat.tap("lighting")
    chat.tap("appliances")  # untick
    assert chat.state.selected == ("lighting",)
    chat.tap("done")
    answer = chat.of(RecordAnswer)[0]
    assert answer.value == ("lighting",) and answer.points == 3
    assert chat.state.step == "timing"


def test_multiple_choice_minimum(make_flow, flow_data):
    flow_data["steps"]["ask"] = {
        "kind": "multiple_choice", "text": {"ru": "?", "uk": "?", "en": "?"}, "min": 1,
        "max": 1, "next": "agree",
        "options": [{"id": i, "text": {"ru": i, "uk": i, "en": i}} for i in ("a", "b")]}
    flow_data["qualification"] = {}
    chat = Chat(make_flow(flow_data))
    actions = chat.tap("done")
    assert actions[0].alert and "at least 1" in actions[0].text
    chat.tap("a")
    actions = chat.tap("b")
    assert "at most 1" in actions[0].text and chat.state.selected == ("a",)


def test_number_step_validates_and_accepts_a_decimal_comma(shipped):
    chat = Chat(shipped["renovation-calculator"], "ru")
    chat.tap("continue")
    chat.tap("resale")
    chat.text("много")
    assert "введите число" in chat.said()
    chat.text("5")
    assert "от 10 до 1\u00a0000" in chat.said()
    chat.text("64,5 м²")
    assert chat.of(RecordAnswer)[0].value == 64.5
    assert chat.of(RecordAnswer)[0].label == "64,5 м²"
    assert chat.state.step == "level"


def _at_area(shipped, language: str) -> Chat:
    chat = Chat(shipped["renovation-calculator"], language)
    chat.tap("continue")
    chat.tap("resale")
    assert chat.state.step == "area"
    return chat


@pytest.mark.parametrize("typed", ["1,000", "1,000 m²", "1000"])
def test_an_english_thousands_comma_reaches_the_calculators_own_bound(shipped, typed):
    chat = _at_area(shipped, "en")
    chat.text(typed)  # before: 1,000 was read as 1.0 and refused ("from 10 to 1,000")
    assert chat.of(RecordAnswer)[0].value == 1000 and chat.state.step == "level"


@pytest.mark.parametrize(("language", "typed", "asked", "retyped", "value"), [
    ("en", "64.500", "Just to be sure: 64500 or 64.5?", "64.5", 64.5),
    ("ru", "64,500", "Уточните, пожалуйста: 64500 или 64,5?", "64,5", 64.5),
    ("uk", "64.500", "Уточніть, будь ласка: 64500 чи 64,5?", "64500", None),
])
def test_a_number_that_reads_two_ways_within_the_range_is_asked_about(
        shipped, language, typed, asked, retyped, value):
    calculator = shipped["renovation-calculator"]
    area = calculator.steps["area"].model_copy(update={"max": 100_000})
    chat = _at_area({"renovation-calculator": calculator.model_copy(
        update={"steps": {**calculator.steps, "area": area}})}, language)
    chat.text(typed)
    assert asked in chat.said() and chat.state.step == "area"
    assert not chat.of(RecordAnswer)
    chat.text(retyped)
    assert chat.of(RecordAnswer)[0].value == (value or float(retyped))


@pytest.mark.parametrize(("typed", "value"), [("1,000", 1000), ("10,500", 10.5)])
def test_where_only_one_reading_fits_the_step_it_is_taken(shipped, typed, value):
    chat = _at_area(shipped, "ru")  # 10..1000 m²: 1,0 is too small, 10 500 too large
    chat.text(typed)
    assert chat.of(RecordAnswer)[0].value == value


def test_free_text_lengths_and_skip(make_flow, flow_data):
    flow_data["steps"]["agree"]["next"] = "notes"  # the prospect's own words: after consent
    flow_data["steps"]["notes"] = {
        "kind": "free_text", "text": {"ru": "?", "uk": "?", "en": "?"}, "min_length": 3,
        "max_length": 10, "optional": True, "next": "contact"}
    chat = Chat(make_flow(flow_data))
    chat.tap("a")
    chat.tap("agree")
    assert chat.state.step == "notes"
    chat.text("ab")
    assert "at least 3" in chat.said()
    chat.text("x" * 11)
    assert "under 10" in chat.said()
    chat.tap("skip")
    assert chat.of(RecordAnswer)[-1].value is None and chat.state.step == "contact"


def test_consent_records_version_and_the_hash_of_the_text_shown(shipped):
    chat = quiz(shipped)
    shown = chat.of(SendMessage)[-1].text
    chat.tap("agree")
    consent = chat.of(RecordConsent)[0]
    assert consent.purpose == "processing" and consent.granted
    assert consent.policy_version == "2026-11" and consent.language == "en"
    assert consent.text_sha256 == hashlib.sha256(shown.encode()).hexdigest()
    # the marketing opt-in is a separate question, and nothing is granted until chosen
    assert chat.state.phase == "marketing"
    assert [c.purpose for c in chat.of(RecordConsent, chat.log)] == ["processing"]
    chat.tap("marketing_no")
    assert "marketing" not in chat.state.consents
    assert chat.state.step == "contact"


def test_declining_consent_stores_nothing_personal(shipped):
    chat = quiz(shipped)
    chat.tap("decline")
    assert chat.state.finished and chat.state.step == "no_consent"
    assert not chat.of(SetContact, chat.log) and not chat.of(RecordConsent, chat.log)
    assert chat.state.contact == {}


def test_contact_refuses_someone_elses_phone_and_takes_the_own(shipped):
    chat = quiz(shipped, upto=[*QUIZ_TO_CONSENT, "agree", "marketing_no"])
    chat.text("Ivan")
    assert chat.of(SendMessage)[-1].reply_keyboard.request_contact == "📱 Share my phone number"
    chat.share("79161234567", owner=999)
    assert "someone else's contact" in chat.said()
    assert not chat.of(SetContact)
    chat.share("79161234567")
    assert chat.of(SetContact)[0].phone == "+79161234567"
    assert chat.of(SendMessage)[0].remove_keyboard  # the share button goes away


@pytest.mark.parametrize(("typed", "stored"), [
    ("8 916 123-45-67", "+79161234567"), ("+380 67 123 4567", "+380671234567")])
def test_typed_phone_is_stored_as_e164(shipped, typed, stored):
    chat = quiz(shipped, upto=[*QUIZ_TO_CONSENT, "agree", "marketing_no"])
    chat.text("Ivan")
    chat.text(typed)
    assert chat.of(SetContact)[0].phone == stored


def test_invalid_name_phone_and_email_are_explained(shipped):
    chat = Chat(shipped["renovation-checklist"], "ru")
    for option in ["continue", "planning", "quarter", "maybe", "agree", "marketing_no"]:
        chat.tap(option)
    chat.text("R2-D2")
    assert "имя буквами" in chat.said()
    chat.text("Ирина")
    chat.text("irina@")
    assert "опечатка" in chat.said()
    chat.text("irina@mail.ru")
    chat.text("12")
    assert "с кодом страны, например: +380 50 123 4567" in chat.said()
    assert chat.state.contact == {"name": "Ирина", "email": "irina@mail.ru"}


def test_hot_lead_is_handed_off_with_its_breakdown(shipped):
    chat = quiz(shipped, upto=[*QUIZ_TO_CONSENT, "agree", "marketing_no"])
    chat.text("Ivan")
    chat.share("79161234567")
    result = chat.of(RecordQualification)[0]
    assert (result.temperature, result.outcome, result.mql, result.sql, result.target) == (
        "hot", "handoff", True, True, True)
    assert sum(item.points for item in result.breakdown) == result.score == 85
    assert chat.of(HandOff)[0].temperature == "hot"
    assert chat.of(GiveReward)[0].code.startswith("KITCHEN15-")
    assert chat.state.finished


def test_reward_code_is_stable_per_conversation_and_unguessable_across(shipped):
    codes = set()
    for seed in ("a", "a", "b"):
        chat = quiz(shipped, upto=[*QUIZ_TO_CONSENT, "agree", "marketing_no"], seed=seed)
        chat.text("Ivan")
        chat.share("79161234567")
        codes.add(chat.of(GiveReward)[0].code)
    assert len(codes) == 2


def test_follow_ups_only_with_the_marketing_opt_in(shipped):
    warm = ["continue", "suburbs", "corner", "medium", "enamel", "~done", "quarter", "agree"]
    for choice, expected in (("marketing_yes", ["gallery", "ready", "code-expires"]),
                             ("marketing_no", [])):
        chat = quiz(shipped, upto=[*warm, choice])
        chat.text("Anna")
        chat.text("+79161234567")
        assert [f.key for f in chat.of(ScheduleFollowUp)] == expected
        assert chat.state.outcome == "nurture"


def test_calculator_shows_a_rounded_range(shipped):
    chat = Chat(shipped["renovation-calculator"], "en")
    for option in ["continue", "resale"]:
        chat.tap(option)
    chat.text("64")
    chat.tap("full")
    chat.tap("heated-floor")
    chat.tap("done")
    chat.tap("month")
    assert chat.state.results == {"price": 489000.0, "price_low": 440000.0,
                                  "price_high": 587000.0}
    assert "from 440,000 to 587,000 UAH" in chat.said()


def test_back_undoes_the_answer_and_its_score(shipped):
    chat = quiz(shipped, upto=["continue", "city", "island"])
    chat.send(Back())
    assert chat.state.step == "layout" and "layout" not in chat.state.answers
    chat.tap("straight")
    chat.tap("back")  # the inline back button works the same
    chat.tap("corner")
    assert chat.state.answers["layout"] == "corner"


def test_back_on_the_first_step(shipped):
    chat = Chat(shipped["kitchen-quiz"])
    chat.send(Back())
    assert "nothing to go back to" in chat.said() and chat.state.step == "intro"


def test_language_switch_keeps_answers(shipped):
    chat = quiz(shipped, upto=["continue", "city"])
    chat.send(ChangeLanguage("uk"))
    assert chat.state.language == "uk" and chat.state.answers == {"location": "city"}
    assert "Яке планування кухні?" in chat.said()
    chat.send(ChangeLanguage("de"))
    assert "доступне мовами: ru, uk, en" in chat.said() and chat.state.language == "uk"


def test_restart_keeps_consent_language_and_source(shipped):
    chat = quiz(shipped, upto=[*QUIZ_TO_CONSENT, "agree", "marketing_no"], source="ads")
    chat.send(Restart())
    assert chat.state.step == "intro" and chat.state.answers == {}
    assert chat.state.consents == {"processing": "2026-11"} and chat.state.source == "ads"
    for option in QUIZ_TO_CONSENT:
        chat.tap(option)
    assert chat.state.step == "consent" and chat.state.phase == "marketing"  # asked once


def test_start_mid_quiz_resumes_where_the_prospect_was(shipped):
    chat = quiz(shipped, upto=["continue", "city"])
    chat.send(Start(user_id=7, language_code="en"))
    assert chat.state.step == "layout" and chat.state.answers == {"location": "city"}
    assert "Welcome back" in chat.said()


def test_after_the_end_text_gets_a_hint(shipped):
    chat = quiz(shipped, upto=["continue", "far"])
    chat.text("hello?")
    assert "/restart" in chat.said()


def test_state_survives_json(shipped):
    chat = quiz(shipped, upto=["continue", "city", "island", "large", "veneer", "lighting"])
    restored = State.from_dict(json.loads(json.dumps(chat.state.to_dict())))
    assert restored == chat.state
    chat.state = restored
    chat.tap("done")
    assert chat.of(RecordAnswer)[0].value == ("lighting",)


@pytest.mark.parametrize("leave", [Restart(), Back(), ChangeLanguage("uk")])
def test_leaving_the_phone_question_closes_its_keyboard(shipped, leave):
    chat = quiz(shipped, upto=[*QUIZ_TO_CONSENT, "agree", "marketing_no"])
    chat.text("Ivan")
    assert chat.state.phase == "phone"
    chat.send(leave)
    if chat.state.phase != "phone":
        assert any(m.remove_keyboard for m in chat.of(SendMessage))


def test_a_state_given_with_another_flow_version_is_refused(shipped):
    chat = quiz(shipped, upto=["continue"])
    newer = shipped["kitchen-quiz"].model_copy(update={"version": 2})
    with pytest.raises(ValueError, match="kitchen-quiz v1 given with flow kitchen-quiz v2"):
        step(newer, chat.state, Back())
    state, _ = step(newer, chat.state, Restart())  # a restart moves to the new version
    assert state.flow_version == 2
