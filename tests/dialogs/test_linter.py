"""One broken fixture per linter rule; each refusal names the file, the step and the field."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from dialogs.format.loader import load_flow
from dialogs.format.problems import FlowError
from tests.dialogs.flowkit import MINIMAL, t


def refuse(write_flow, data, *patterns: str) -> str:
    path = write_flow(data)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    text = str(caught.value)
    for pattern in patterns:
        assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"
    assert text.startswith(str(path)), text
    return text


def test_minimal_flow_is_valid(make_flow, flow_data):
    assert make_flow(flow_data).id == "demo"


def test_unknown_next_step(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][0]["next"] = "agreee"
    refuse(write_flow, flow_data,
           r"demo\.yaml:\d+: step 'ask', field 'options\[0\]\.next': unknown step 'agreee'")


def test_unknown_start(write_flow, flow_data):
    flow_data["start"] = "begin"
    refuse(write_flow, flow_data, r"field 'start': unknown step 'begin'")


def test_unreachable_step(write_flow, flow_data):
    flow_data["steps"]["orphan"] = {"kind": "end", "text": t("Lost")}
    refuse(write_flow, flow_data, r"step 'orphan': unreachable")


def test_dead_end_without_next(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][1]["next"] = "note"
    flow_data["steps"]["note"] = {"kind": "message", "text": t("Note")}
    refuse(write_flow, flow_data, r"step 'note', field 'next': dead end")


def test_loop_that_never_ends(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][1]["next"] = "ping"
    flow_data["steps"]["ping"] = {"kind": "message", "text": t("Ping"), "button": t("Go"),
                                  "next": "pong"}
    flow_data["steps"]["pong"] = {"kind": "message", "text": t("Pong"), "button": t("Go"),
                                  "next": "ping"}
    refuse(write_flow, flow_data, r"step 'ping': dead end: no end step can be reached",
           r"step 'pong': dead end")


def test_option_without_next(write_flow, flow_data):
    del flow_data["steps"]["ask"]["options"][1]["next"]
    refuse(write_flow, flow_data,
           r"step 'ask', field 'options\[1\]\.next': option 'b' has no next step")


def test_duplicate_step_id(write_flow, flow_data):
    path = write_flow(flow_data)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  bye:\n", "  ask:\n    kind: end\n    text: {en: x}\n  bye:\n"),
                    encoding="utf-8")
    with pytest.raises(FlowError, match=r"demo\.yaml:\d+: step 'ask': duplicate step id 'ask'"):
        load_flow(path)


def test_duplicate_option_id(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][1]["id"] = "a"
    refuse(write_flow, flow_data,
           r"step 'ask', field 'options\[1\]\.id': duplicate option id 'a'")


def test_missing_translation(write_flow, flow_data):
    del flow_data["steps"]["ask"]["options"][1]["text"]["uk"]
    refuse(write_flow, flow_data,
           r"step 'ask', field 'options\[1\]\.text': missing translation for 'uk'")


def test_text_in_undeclared_language(write_flow, flow_data):
    flow_data["steps"]["bye"]["text"]["de"] = "Tschüss"
    refuse(write_flow, flow_data, r"step 'bye', field 'text': text in 'de'")


def test_unsupported_language(write_flow, flow_data):
    flow_data["languages"] = ["ru", "uk", "en", "fr"]
    refuse(write_flow, flow_data, r"field 'languages': language 'fr' is not supported")


@pytest.mark.parametrize(("condition", "message"), [
    ("answers.nope == 'x'", r"answers\.nope names unknown step 'nope'"),
    ("answers.ask == 'c'", r"compared with 'c', which is not an option of step 'ask'"),
    ("'vip' in tags", r"unknown tag 'vip'"),
    ("budget > 10", r"unknown variable 'budget'"),
    ("answers.agree == 'x'", r"step 'agree' is a consent, not a question"),
    ("values.ask > 1", r"values\.ask: no option of step 'ask' has a value"),
    ("score >=", r"cannot parse"),
    ("exec('x')", r"unknown function 'exec'"),
])
def test_conditions_naming_unknown_things(write_flow, flow_data, condition, message):
    flow_data["qualification"]["target"] = condition
    refuse(write_flow, flow_data, r"demo\.yaml:\d+: field 'qualification\.target': .*" + message)


def test_temperature_cannot_name_what_comes_later(write_flow, flow_data):
    flow_data["qualification"]["temperature"]["hot"] = "sql and score > 1"
    refuse(write_flow, flow_data,
           r"field 'qualification\.temperature\.hot': unknown variable 'sql'")


def test_branch_condition_checked(write_flow, flow_data):
    flow_data["steps"]["ask"]["branches"] = [{"when": "answers.ask == 'z'", "next": "bye"}]
    refuse(write_flow, flow_data,
           r"step 'ask', field 'branches\[0\]\.when': answers\.ask is compared with 'z'")


def test_contact_before_consent(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][1]["next"] = "contact"
    refuse(write_flow, flow_data,
           r"step 'contact': contact details asked before consent \(path: ask -> contact\)")


def test_free_text_before_consent(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][0]["next"] = "notes"
    flow_data["steps"]["notes"] = {"kind": "free_text", "text": t("Anything else?"),
                                   "next": "agree"}
    refuse(write_flow, flow_data,
           r"step 'notes': free text asked before consent \(path: ask -> notes\)")


def test_free_text_after_consent_is_fine(make_flow, flow_data):
    flow_data["steps"]["agree"]["next"] = "notes"
    flow_data["steps"]["notes"] = {"kind": "free_text", "text": t("Anything else?"),
                                   "next": "contact"}
    assert "notes" in make_flow(flow_data).steps


@pytest.mark.parametrize(("language", "cut", "expected"), [
    ("uk", "{company_contact}", r"the contact for questions \({company_contact}\)"),
    ("ru", "{company}", r"the company \({company}\)"),
    ("en", "{retention_days}", r"how long data is kept"),
    ("ru", "/forget", r"the right to withdraw and erase \(/forget\)"),
    ("uk", "/mydata", r"the right of access \(/mydata\)"),
    ("ru", "чтобы", r"the purpose \(a clause with 'чтобы' / 'для'\)"),
    ("en", " to contact you", r"the purpose"),
])
def test_consent_text_must_name_company_purpose_retention_contact_and_rights(
        write_flow, flow_data, language, cut, expected):
    text = flow_data["steps"]["agree"]["text"]
    text[language] = text[language].replace(cut, "")
    refuse(write_flow, flow_data,
           rf"step 'agree', field 'text\.{language}': the '{language}' consent text must name "
           rf".*{expected}")


def test_with_a_crm_configured_every_consent_text_must_name_its_recipients(
        write_flow, flow_data):
    """GDPR Art. 13(1)(e): with a CRM configured (the categories come from the settings,
    as plain data), a consent text must name it: `{recipients}` (filled in by the bot with
    each CRM by name), or the category itself. Without one, nothing more is asked."""
    path = write_flow(flow_data)
    assert load_flow(path).id == "demo"  # no CRM configured: fine as it is
    with pytest.raises(FlowError) as caught:
        load_flow(path, recipients=["CRM"])
    text = str(caught.value)
    for language in ("ru", "uk", "en"):
        assert re.search(
            rf"step 'agree', field 'text\.{language}': the '{language}' consent text must "
            r"name who else receives the data: CRM \(\{recipients\}", text), text
    texts = flow_data["steps"]["agree"]["text"]
    for language in texts:
        texts[language] += " {recipients}"
    assert load_flow(write_flow(flow_data), recipients=["CRM"]).id == "demo"
    texts["uk"] = texts["uk"].replace(" {recipients}", " Дані отримує наша CRM.")
    assert load_flow(write_flow(flow_data), recipients=["CRM"]).id == "demo"  # by category
    texts["en"] = texts["en"].replace(" {recipients}", "")
    with pytest.raises(FlowError, match=r"field 'text\.en'.*who else receives the data: CRM"):
        load_flow(write_flow(flow_data), recipients=["CRM"])


def test_an_ad_platform_given_contacts_must_be_named_in_every_consent_text(
        write_flow, flow_data):
    """Issue 29: every configured ad platform is a recipient ("advertising"); the one given
    the phone and email (hashed: Meta with `contacts: true`) must be named by name: the
    category's word does not cover it. `{recipients}` names it (the bot fills it in)."""
    texts = flow_data["steps"]["agree"]["text"]
    for language in texts:
        texts[language] += " Ads: advertising."
    path = write_flow(flow_data)
    assert load_flow(path, recipients=["advertising"]).id == "demo"  # no contacts: category
    with pytest.raises(FlowError) as caught:
        load_flow(path, recipients=["advertising"], named=["Meta"])
    text = str(caught.value)
    for language in ("ru", "uk", "en"):
        assert re.search(
            rf"demo\.yaml:\d+: step 'agree', field 'text\.{language}': the '{language}' "
            r"consent text must name by name who gets the phone and email \(hashed\): "
            r"Meta \(\{recipients\} names them\)", text), text
    texts["ru"] += " Meta."
    texts["uk"] += " {recipients}"
    texts["en"] = texts["en"].replace("advertising", "")
    with pytest.raises(FlowError) as caught:
        load_flow(write_flow(flow_data), recipients=["advertising"], named=["Meta"])
    text = str(caught.value)
    assert "text.ru" not in text and "text.uk" not in text, text
    assert re.search(r"field 'text\.en'.*who else receives the data: advertising.*by name "
                     r"who gets the phone and email \(hashed\): Meta", text), text
    texts["en"] += " {recipients}"
    assert load_flow(write_flow(flow_data), recipients=["advertising"], named=["Meta"]
                     ).id == "demo"


def test_a_flow_s_own_recipient_given_contacts_must_be_named_by_name(write_flow, flow_data):
    flow_data["operator"] = {"company": "Demo Ltd", "contact": "privacy@demo.example",
                             "recipients": [{"category": "advertising", "name": "AdCo",
                                             "contacts": True}]}
    for language in flow_data["steps"]["agree"]["text"]:
        flow_data["steps"]["agree"]["text"][language] += " advertising"
    refuse(write_flow, flow_data, r"field 'text\.en'.*who gets the phone and email "
                                  r"\(hashed\): AdCo")


def test_a_recipient_s_contacts_is_in_a_flow_s_snapshot_only_when_set():
    """A flow running with a CRM was snapshotted before `contacts` existed: its dump (and
    the digest that warns of a change without a new version) stays as it was; a pinned
    flow read back from its snapshot keeps a platform's contacts."""
    from dialogs.format.schema import Recipient

    assert Recipient(category="CRM", name="amoCRM").model_dump(mode="json") == {
        "category": "CRM", "name": "amoCRM"}
    given = Recipient(category="advertising", name="Meta", contacts=True)
    assert Recipient.model_validate(given.model_dump(mode="json")) == given


def test_a_flow_s_own_recipients_must_be_named_too(write_flow, flow_data):
    flow_data["operator"] = {"company": "Demo Ltd", "contact": "privacy@demo.example",
                             "recipients": [{"category": "call centre", "name": "CallCo"}]}
    refuse(write_flow, flow_data, r"who else receives the data: call centre")


def test_marketing_opt_in_must_say_how_to_stop(write_flow, flow_data):
    flow_data["steps"]["agree"]["marketing"] = {
        "text": {"ru": "Рассылка? /stop", "uk": "Розсилка?", "en": "News? /stop"},
        "accept": t("Yes"), "decline": t("No")}
    refuse(write_flow, flow_data, r"the 'uk' marketing opt-in must say how to stop \(/stop\)")


def test_every_shipped_consent_text_names_everything_in_every_language(shipped):
    from dialogs.format.schema import ConsentStep

    checked = 0
    for flow in shipped.values():
        for step in flow.steps.values():
            if not isinstance(step, ConsentStep):
                continue
            for language in flow.languages:
                text = step.text[language]
                for needed in ("{company}", "{retention_days}", "{company_contact}",
                               "/mydata", "/forget", "{policy_url}", "{recipients}"):
                    assert needed in text, (flow.id, language, needed)
                assert "/stop" in step.marketing.text[language], (flow.id, language)
                checked += 1
    assert checked == 12  # four flows (the calculator in two variants), three languages


def test_callback_data_over_64_bytes(write_flow, flow_data):
    flow_data["id"] = "a-very-long-flow-identifier-xyz"
    long_option = "option-with-a-rather-long-id-xy"
    flow_data["steps"]["ask"]["options"][0]["id"] = long_option
    refuse(write_flow, flow_data,
           r"step 'ask', field 'options\[0\]\.id': button data '.*' is \d+ bytes; "
           r"Telegram allows 64")


def test_text_over_4096_characters(write_flow, flow_data):
    flow_data["steps"]["bye"]["text"]["en"] = "x" * 4097
    refuse(write_flow, flow_data,
           r"step 'bye', field 'text': the 'en' text is 4097 characters; Telegram allows 4096")


def test_caption_with_a_file_over_1024(write_flow, flow_data, tmp_path):
    (tmp_path / "f.pdf").write_bytes(b"%PDF-1.4")
    flow_data["steps"]["ask"]["options"][1]["next"] = "gift"
    flow_data["steps"]["gift"] = {"kind": "message", "text": t("y" * 1100),
                                  "file": {"ru": "f.pdf", "uk": "f.pdf", "en": "f.pdf"},
                                  "next": "bye"}
    refuse(write_flow, flow_data, r"step 'gift', field 'text': .* Telegram allows 1024")


def test_missing_file(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][1]["next"] = "gift"
    flow_data["steps"]["gift"] = {"kind": "reward", "text": t("Here"),
                                  "file": {"ru": "a.pdf", "uk": "a.pdf", "en": "a.pdf"},
                                  "next": "bye"}
    refuse(write_flow, flow_data, r"step 'gift', field 'file\.en': file 'a\.pdf' not found")


def test_more_than_8_buttons_in_a_row(write_flow, flow_data):
    flow_data["steps"]["ask"]["columns"] = 9
    refuse(write_flow, flow_data, r"step 'ask', field 'columns': .* at most 8")


def test_more_than_100_buttons(write_flow, flow_data):
    options = flow_data["steps"]["ask"]["options"]
    options += [{"id": f"o{i}", "text": t(f"O{i}"), "next": "bye"} for i in range(99)]
    refuse(write_flow, flow_data, r"step 'ask', field 'options': 101 options")


def test_unknown_placeholder(write_flow, flow_data):
    flow_data["steps"]["bye"]["text"]["en"] = "Bye {nmae}"
    refuse(write_flow, flow_data, r"step 'bye', field 'text': unknown placeholder \{nmae\}")


def test_formula_over_a_skippable_answer(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][0]["value"] = 2
    flow_data["steps"]["ask"]["options"][1]["value"] = 3
    flow_data["steps"]["ask"]["options"][0]["next"] = "size"
    flow_data["steps"]["ask"]["options"][1]["next"] = "price"
    flow_data["steps"]["size"] = {"kind": "number", "text": t("Size?"), "next": "price"}
    flow_data["steps"]["price"] = {"kind": "calculator", "text": t("{price_low}"),
                                   "formula": "values.size * values.ask", "next": "agree"}
    refuse(write_flow, flow_data,
           r"step 'price', field 'formula': step 'size' can be skipped on the way here")


def test_typo_in_a_field_name(write_flow, flow_data):
    flow_data["steps"]["bye"]["txt"] = flow_data["steps"]["bye"].pop("text")
    refuse(write_flow, flow_data, r"step 'bye', field 'txt': unknown field \(a typo\?\)",
           r"step 'bye', field 'text': required field is missing")


def test_unknown_kind(write_flow, flow_data):
    flow_data["steps"]["bye"]["kind"] = "goodbye"
    refuse(write_flow, flow_data, r"step 'bye', field 'kind': unknown kind 'goodbye'")


def test_bad_id(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][0]["id"] = "Option A"
    refuse(write_flow, flow_data,
           r"step 'ask', field 'options\[0\]\.id': 'Option A' is not a valid id")


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: demo\nsteps:\n  ask: [unclosed\n", encoding="utf-8")
    with pytest.raises(FlowError, match=r"broken\.yaml:\d+: not valid YAML"):
        load_flow(path)


def _laughs(levels: int) -> str:
    """The "billion laughs": each anchor is nine uses of the one before."""
    rows = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(rows)


def _merges(levels: int) -> str:
    """The same through merge keys, which PyYAML copies into every mapping that merges."""
    rows = ["m0: &m0", "  x: 1"]
    for n in range(1, levels + 1):
        rows += [f"m{n}: &m{n}", f"  <<: [{', '.join([f'*m{n - 1}'] * 9)}]"]
    return "\n".join(rows)


@pytest.mark.parametrize(("body", "line", "message"), [
    (_laughs(9), 1, r"aliases expand to [\d,]+ values, more than 10,000"),
    (_merges(9), 1, r"aliases expand to [\d,]+ values, more than 10,000"),
    ("loop: &loop [1, *loop]", 3, "an alias refers to the value it stands in"),
    ("deep: " + "[" * 65 + "]" * 65, 3, "nested more than 64 levels deep"),
    # Deeper than libyaml's own bound (1,000 levels): which of the two refuses it first, and in
    # whose words, depends on the PyYAML build (6.0.4 says "exceeded maximum nesting depth").
    # What matters is that it is refused at once, naming the file and the line.
    ("deep: " + "[" * 100_000 + "]" * 100_000, 3, r"(?i)nest"),
])
def test_a_yaml_bomb_is_refused_at_once_naming_the_file(tmp_path, body, line, message):
    path = tmp_path / "bomb.yaml"
    path.write_text("id: bomb\nversion: 1\n" + body + "\n", encoding="utf-8")
    with pytest.raises(FlowError) as caught:  # before the fix: hours and gigabytes, or a crash
        load_flow(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:{line}: not valid YAML"), text
    assert re.search(message, text), text


def test_anchors_a_flow_reuses_are_still_welcome(tmp_path):
    from dialogs.format.yamlsource import parse_yaml

    rows = ["shared: &shared [" + ", ".join(f"v{n}" for n in range(40)) + "]"]
    rows += [f"use{n}: *shared" for n in range(200)]  # 8,000 values added: within the bound
    assert len(parse_yaml("\n".join(rows)).data) == 201
    text = yaml.safe_dump(copy.deepcopy(MINIMAL), allow_unicode=True, sort_keys=False)
    bye = ("  bye:\n    kind: end\n    text:\n"
           "      ru: Bye (ru)\n      uk: Bye (uk)\n      en: Bye\n")
    assert bye in text
    text = text.replace("title:\n", "title: &title\n", 1).replace(
        bye, "  bye:\n    kind: end\n    text: *title\n", 1)
    path = tmp_path / "demo.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_flow(path).steps["bye"].text == load_flow(path).title


def test_every_problem_is_listed(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][0]["next"] = "nowhere"
    del flow_data["steps"]["bye"]["text"]["ru"]
    flow_data["qualification"]["target"] = "'vip' in tags"
    text = refuse(write_flow, flow_data, "unknown step 'nowhere'", "missing translation",
                  "unknown tag 'vip'")
    assert len(text.splitlines()) >= 3


def test_line_numbers_point_at_the_field(tmp_path, flow_data, write_flow):
    flow_data["steps"]["ask"]["options"][1]["next"] = "nowhere"
    path = write_flow(flow_data)
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = next(i for i, line in enumerate(lines, 1) if "next: nowhere" in line)
    with pytest.raises(FlowError, match=rf"demo\.yaml:{expected}: step 'ask'"):
        load_flow(path)


def test_a_typo_in_next_is_two_problems_not_a_cascade(write_flow, flow_data):
    flow_data["steps"]["ask"]["options"][0]["next"] = "agre"
    flow_data["steps"]["agree"]["next"] = "more"
    flow_data["steps"]["more"] = {"kind": "message", "text": t("More"), "next": "contact"}
    text = refuse(write_flow, flow_data, r"field 'options\[0\]\.next': unknown step 'agre'",
                  r"step 'agree': unreachable: .* \(nor to more, contact, reached only from here\)")
    assert len(text.splitlines()) == 2, text
