"""understand() on the shipped flows: typed answers in ru / uk / en as people write them,
and the property that any label, however it is typed, is its own option."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.format.schema import Flow
from dialogs.typed import Understood, understand
from dialogs.typed.index import step_index


@pytest.fixture(scope="module")
def kitchen(shipped) -> Flow:
    return shipped["kitchen-quiz"]


@pytest.fixture(scope="module")
def renovation(shipped) -> Flow:
    return shipped["renovation-calculator"]


@pytest.mark.parametrize(("step", "language", "text", "option", "how"), [
    ("layout", "ru", "Угловая!!", "corner", "label"),
    ("layout", "ru", "угловую", "corner", None),
    ("layout", "ru", "хочу с островом", "island", None),
    ("layout", "ru", "уголовая", "corner", "fuzzy"),
    ("facades", "ru", "эмал", "enamel", None),
    ("layout", "ru", "третья", "u-shaped", "ordinal"),
    ("layout", "ru", "2", "corner", "ordinal"),
    ("layout", "uk", "кутова кухня", "corner", None),
    ("layout", "en", "the second one", "corner", "ordinal"),
    ("layout", "en", "last", "island", "ordinal"),
    ("size", "ru", "4 метра", "medium", "number"),
    ("size", "ru", "метров шесть", "large", "number"),
    ("size", "en", "about 2 metres", "small", "number"),
    ("size", "ru", "больше 5", "large", None),
    ("location", "ru", "40 км от города", "suburbs", None),
    ("location", "ru", "мы за городом", "suburbs", None),
    ("location", "ru", "В городе живём", "city", None),
    ("timing", "ru", "через 2 месяца", "quarter", None),
    ("facades", "ru", "эмаль", "enamel", None),
    ("facades", "ru", "ещё не решила", "undecided", None),
])
def test_single_choice(kitchen, step, language, text, option, how):
    result = understand(kitchen, step, text, language)
    assert result.kind == "option" and result.options == (option,), result
    if how is not None:
        assert result.how == how


@pytest.mark.parametrize(("step", "language", "text", "options"), [
    ("extras", "ru", "подсветка и мойка", ("lighting", "sink")),
    ("extras", "ru", "технику, столешницу", ("appliances", "stone-top")),
    ("extras", "en", "lighting and a stone worktop", ("stone-top", "lighting")),
    ("extras", "uk", "мийку та підсвічування", ("lighting", "sink")),
    ("extras", "ru", "мойка и смеситель", ("sink",)),
    ("extras", "ru", "всё", ("appliances", "stone-top", "lighting", "sink")),
])
def test_multiple_choice_lists(kitchen, step, language, text, options):
    result = understand(kitchen, step, text, language)
    assert result == Understood("option", options, how=result.how, score=result.score)


def test_a_numbered_list_picks_by_position(renovation):
    result = understand(renovation, "extras", "1, 3", "ru")
    assert (result.kind, result.options, result.how) == (
        "option", ("heated-floor", "aircon"), "ordinal")


@pytest.mark.parametrize(("step", "language", "text"), [
    ("layout", "ru", "п образную или угловую"),  # two options named: which one?
    ("size", "ru", "3"),  # «до 3 метров» and «3–5 метров» both name 3
])
def test_two_candidates_are_a_did_you_mean(kitchen, step, language, text):
    result = understand(kitchen, step, text, language)
    assert result.kind == "ambiguous" and len(result.options) == 2, result


def test_a_shared_word_alone_is_a_did_you_mean_not_a_guess(renovation):
    result = understand(renovation, "property", "квартира", "ru")
    assert result.kind == "ambiguous"
    assert set(result.options) == {"new-build", "resale"}


@pytest.mark.parametrize(("step", "text"), [
    ("layout", "позвоните мне"), ("size", "какая сегодня погода завтра"), ("layout", "!!!"),
    ("layout", ""), ("layout", "7"),
])
def test_nothing_matched(kitchen, step, text):
    assert understand(kitchen, step, text, "ru").kind == "none"


def test_faq_at_a_choice_and_at_a_number_step(kitchen, renovation):
    entry = kitchen.faq[0]
    ask = entry.ask["ru"][0]
    assert understand(kitchen, "layout", ask + "?", "ru") == Understood(
        "faq", faq=entry.id, how="faq", score=100.0)
    number_step = next(s for s, v in renovation.steps.items() if v.kind == "number")
    renovation_ask = renovation.faq[0].ask["en"][0]
    found = understand(renovation, number_step, renovation_ask, "en")
    assert (found.kind, found.faq) == ("faq", renovation.faq[0].id)
    assert understand(renovation, number_step, "55", "en").kind == "none"


def test_the_index_is_built_once_per_step(kitchen):
    assert step_index(kitchen, "layout") is step_index(kitchen, "layout")
    assert step_index(kitchen, "layout") is not step_index(kitchen, "size")


def _labels(flow: Flow):
    return [(step_id, option.id, language, text)
            for step_id, step in flow.steps.items()
            if step.kind in ("single_choice", "multiple_choice")
            for option in step.options for language, text in option.text.items()]


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_label_however_typed_is_its_own_option(shipped, data):
    """Case, punctuation around it and extra spaces never change what a label means."""
    flow = shipped[data.draw(st.sampled_from(sorted(shipped)))]
    labels = _labels(flow)
    if not labels:
        return
    step_id, option_id, language, text = data.draw(st.sampled_from(labels))
    case = data.draw(st.sampled_from([str.lower, str.upper, str.title, str]))
    before = data.draw(st.sampled_from(["", " ", "  ", "«", "\"", "- "]))
    after = data.draw(st.sampled_from(["", " ", "!", "?!", ".", "»", " 🙂", ")))"]))
    typed = before + case(text).replace(" ", data.draw(st.sampled_from([" ", "  ", " \t"]))) \
        + after
    result = understand(flow, step_id, typed, language)
    assert (result.kind, result.options) == ("option", (option_id,)), (typed, result)


@pytest.mark.parametrize(("step", "text"), [
    ("layout", "не угловая"), ("layout", "точно не угловая"), ("extras", "без техники"),
    ("extras", "всё кроме подсветки"), ("location", "не в городе"),
    ("timing", "не в ближайший месяц"),
])
def test_a_negated_option_is_never_chosen(kitchen, step, text):
    assert understand(kitchen, step, text, "ru").kind != "option"


def test_a_negation_inside_the_label_is_the_label(kitchen):
    result = understand(kitchen, "size", "не знаю", "ru")
    assert (result.kind, result.options) == ("option", ("unknown",))


def test_two_options_named_with_or_even_when_one_matches_well(shipped):
    result = understand(shipped["renovation-calculator"], "property",
                        "дом или квартира в новостройке", "ru")
    assert result.kind == "ambiguous" and set(result.options) == {"house", "new-build"}


def test_a_question_that_names_an_option_is_the_faq(kitchen):
    result = understand(kitchen, "layout", "how much is an island kitchen?", "en")
    assert (result.kind, result.faq) == ("faq", "price")
    assert understand(kitchen, "layout", "угловая?", "ru").options == ("corner",)


@pytest.mark.parametrize("text", ["9" * 400, "1" * 20 + " метров", "1e400", "inf", "-", "..."])
def test_huge_or_odd_numbers_are_not_an_error(kitchen, text):
    for step_id in ("layout", "size", "extras"):
        assert understand(kitchen, step_id, text, "ru").kind in (
            "option", "ambiguous", "faq", "none")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flow_id=st.sampled_from(["kitchen-quiz", "renovation-calculator",
                                "renovation-checklist"]),
       text=st.text(max_size=80), language=st.sampled_from(["ru", "uk", "en"]))
def test_any_text_at_any_step_is_answered_without_error(shipped, flow_id, text, language):
    flow = shipped[flow_id]
    for step_id in flow.steps:
        result = understand(flow, step_id, text, language)
        assert result.kind in ("option", "ambiguous", "faq", "none")


def test_every_label_in_every_language_is_its_option_for_every_prospect(shipped):
    """A Ukrainian prospect may type the Russian label, an English one the Ukrainian."""
    wrong = []
    for flow in shipped.values():
        for step_id, step in flow.steps.items():
            for option in getattr(step, "options", ()):
                for text in option.text.values():
                    for language in flow.languages:
                        for typed in (text, text.upper() + "!!", "  " + text.lower() + " 🙂"):
                            result = understand(flow, step_id, typed, language)
                            if (result.kind, result.options) != ("option", (option.id,)):
                                wrong.append((flow.id, step_id, language, typed, result))
    assert wrong == []
