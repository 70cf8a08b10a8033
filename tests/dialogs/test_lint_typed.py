"""The linter's checks of what prospects may type (dialogs/lint/typed.py): synonyms and FAQ
entries, each refusal naming the file, the step and the field."""

from __future__ import annotations

from tests.dialogs.flowkit import t
from tests.dialogs.test_linter import refuse


def faq(entry_id: str = "price", **ask: list[str]) -> dict:
    asks = ask or {"ru": ["сколько стоит"], "uk": ["скільки коштує"], "en": ["how much is it"]}
    return {"id": entry_id, "ask": asks, "answer": t("From 100 a metre.")}


def test_synonyms_and_faq_that_fit_load(make_flow, flow_data):
    options = flow_data["steps"]["ask"]["options"]
    options[0]["synonyms"] = {"ru": ["первое"], "uk": ["перше"], "en": ["alpha"]}
    options[1]["synonyms"] = {"en": ["bravo"]}
    flow_data["faq"] = [faq()]
    flow = make_flow(flow_data)
    assert flow.steps["ask"].options[0].synonyms["en"] == ("alpha",)
    assert [entry.id for entry in flow.faq] == ["price"]


def test_synonym_equal_to_another_options_label(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][0]["synonyms"] = {"en": ["B!"]}
    refuse(write_flow, flow_data,
           r"demo\.yaml:\d+: step 'ask', field 'options\[0\]\.synonyms\.en': synonym 'B!' of "
           r"option 'a' is the label of option 'b'")


def test_synonym_that_matches_two_options(write_flow, flow_data):
    options = flow_data["steps"]["ask"]["options"]
    options[0]["synonyms"] = {"en": ["kitchen"]}
    options[1]["synonyms"] = {"en": ["kitchen"]}
    refuse(write_flow, flow_data,
           r"step 'ask', field 'options\[[01]\]\.synonyms\.en': synonym 'kitchen' of option "
           r"'[ab]' is understood as (option '[ab]'|either 'a' or 'b')")


def test_synonym_in_a_language_the_flow_does_not_speak(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][1]["synonyms"] = {"de": ["Küche"]}
    refuse(write_flow, flow_data,
           r"field 'options\[1\]\.synonyms\.de': phrasings in 'de', which is not in the "
           r"flow's languages")


def test_faq_phrasing_that_matches_an_option(write_flow, flow_data):
    flow_data["faq"] = [faq(ru=["сколько стоит"], uk=["скільки коштує"], en=["a"])]
    refuse(write_flow, flow_data,
           r"demo\.yaml:\d+: field 'faq\[0\]\.ask\.en': faq 'price' phrasing 'a' is understood "
           r"at step 'ask' as option 'a'")


def test_faq_without_a_phrasing_in_a_flow_language(write_flow, flow_data):
    flow_data["faq"] = [faq(en=["how much is it"], uk=["  "])]
    refuse(write_flow, flow_data,
           r"field 'faq\[0\]\.ask': faq 'price' has no phrasing in 'ru'",
           r"field 'faq\[0\]\.ask': faq 'price' has no phrasing in 'uk'")


def test_faq_answer_missing_a_language(write_flow, flow_data):
    entry = faq()
    entry["answer"] = {"ru": "От 100 за метр.", "en": "From 100 a metre."}
    flow_data["faq"] = [entry]
    refuse(write_flow, flow_data, r"field 'faq\[0\]\.answer': missing translation for 'uk'")


def test_duplicate_faq_id(write_flow, flow_data):
    second = faq(ru=["гарантия"], uk=["гарантія"], en=["warranty"])
    flow_data["faq"] = [faq(), second]
    refuse(write_flow, flow_data, r"field 'faq\[1\]\.id': duplicate faq id 'price'")


def test_synonym_that_is_also_an_faq_phrasing(write_flow, flow_data):
    """One of the two loses when typed: the report names the one that does."""
    flow_data["steps"]["ask"]["options"][0]["synonyms"] = {"en": ["how much is it"]}
    flow_data["faq"] = [faq()]
    refuse(write_flow, flow_data,
           r"(field 'options\[0\]\.synonyms\.en': synonym 'how much is it' of option 'a' is "
           r"understood as faq 'price'|field 'faq\[0\]\.ask\.en': faq 'price' phrasing "
           r"'how much is it' is understood at step 'ask' as option 'a')")
