"""The broadcast file (dialogs/broadcasts/): each refusal names its field; the shipped example
passes against the shipped flows; Telegram's limits hold to the unit; render, keyboard and
callback data; the definition's JSON round trip."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from dialogs.broadcasts.checks import MAX_NAME, check_broadcast
from dialogs.broadcasts.markup import escape, parse_html, units
from dialogs.broadcasts.message import (
    UNNAMED,
    keyboard,
    matches_answers,
    pack,
    render,
    to_plain,
    unpack,
)
from dialogs.broadcasts.parse import BroadcastError, load_broadcast, parse_broadcast
from dialogs.broadcasts.schema import Broadcast, from_dict, to_dict
from dialogs.format.loader import load_flows
from dialogs.format.problems import FlowError
from dialogs.format.schema import Flow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "dialogs" / "flows" / "broadcasts" / "november-offer.yaml"
FOOTER = {"ru": "Не хотите таких сообщений? Нажмите «Отписаться» или отправьте /stop.",
          "uk": "Не хочете таких повідомлень? Натисніть «Відписатися» або надішліть /stop.",
          "en": "Don't want these messages? Tap “Unsubscribe” or send /stop."}
BASE = {
    "name": "winter-sale",
    "segment": {"flows": ["kitchen-quiz"], "temperatures": ["warm"]},
    "message": {
        "text": {"ru": "Привет, {name}!", "uk": "Вітаємо, {name}!", "en": "Hi {name}!"},
        "buttons": [
            {"text": {"ru": "Сайт", "uk": "Сайт", "en": "Site"}, "url": "https://e.example/a"},
            {"text": {"ru": "Квиз", "uk": "Квіз", "en": "Quiz"}, "flow": "kitchen-quiz"},
            {"text": {"ru": "Да", "uk": "Так", "en": "Yes"}, "answer": "yes", "points": 5},
        ],
    },
}


@cache
def shipped() -> tuple[Flow, ...]:
    return tuple(entry.flow for entry in load_flows([ROOT / "dialogs" / "flows"]).values())


def data(**changes) -> dict:
    """BASE with keys changed, a path joined by '__' (`message__fallback="en"`); None
    removes the key."""
    result = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        key: str | int = int(last) if last.isdigit() else last
        place = result
        for part in parents:
            place = place[int(part)] if part.isdigit() else place[part]
        if value is None:
            del place[key]
        else:
            place[key] = value
    return result


def problems(value: dict, base_dir: Path | None = None, footer=None) -> dict[str, str]:
    """field -> message of every problem load_broadcast finds (one per field)."""
    try:
        load_broadcast(yaml.safe_dump(value, allow_unicode=True, sort_keys=False), "b.yaml",
                       base_dir,
                       shipped(), footer=footer)
    except BroadcastError as error:
        return {p.field or "": p.message for p in error.problems}
    return {}


def test_the_base_passes():
    assert problems(BASE) == {}


def test_the_example_passes_against_the_shipped_flows():
    broadcast = load_broadcast(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE),
                               EXAMPLE.parent, shipped(), footer=FOOTER)
    assert broadcast.name == "november-offer"
    assert set(broadcast.message.text) == {"ru", "uk", "en"}
    assert [b.kind for b in broadcast.message.buttons] == ["flow", "answer"]
    assert broadcast.message.file is None


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"name": "Winter"}, "name", "not a valid name"),
    ({"name": "x" * 33}, "name", "not a valid name"),
    ({"message__buttons__0__url": "http://e.example"}, "message.buttons[0].url",
     "must be https"),
    ({"message__buttons__2__answer": "Yes!"}, "message.buttons[2].answer", "not a valid name"),
    ({"message__buttons__2__points": 101}, "message.buttons[2].points", "less than or equal"),
    ({"message__buttons__2__points": -101}, "message.buttons[2].points", "greater than"),
    ({"message__buttons__1__points": 3}, "message.buttons[1]", "only on an answer"),
    ({"message__buttons__1__url": "https://e.example"}, "message.buttons[1]", "exactly one"),
    ({"message__buttons": [BASE["message"]["buttons"][0]] * 4}, "message.buttons",
     "at most 3"),
    ({"message__photo": "a.jpg", "message__document": "b.pdf"}, "message", "not both"),
    ({"segment__temperatures": ["tepid"]}, "segment.temperatures[0]", "'cold', 'warm'"),
    ({"segment__statuses": ["sold"]}, "segment.statuses", "unknown status 'sold'"),
    ({"segment__qualified": ["lead"]}, "segment.qualified[0]", "'mql' or 'sql'"),
    ({"segment__versions": [0]}, "segment.versions[0]", "greater than or equal to 1"),
    ({"segment__sources": []}, "segment.sources", "matches no one"),
    ({"segment__colour": ["red"]}, "segment.colour", "unknown field"),
    ({"send_at": "2026-12-05T10:00:00"}, "send_at", "timezone"),
    ({"message": None}, "message", "required"),
])
def test_the_shape_refused_names_the_field(changes, field, words):
    found = problems(data(**changes))
    assert field in found, found
    assert words in found[field]


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"message__buttons__1__flow": "no-such-flow"}, "message.buttons[1].flow",
     "unknown flow 'no-such-flow'"),
    ({"segment__flows": ["kitchen-quiz", "nope"]}, "segment.flows[1]", "unknown flow 'nope'"),
    ({"message__text": {"ru": "Привет", "en": "Hi"}}, "message.text", "no text in uk"),
    ({"message__text": {"ru": "a", "uk": "b", "en": "c", "de": "d"}}, "message.text.de",
     "not supported"),
    ({"message__fallback": "de"}, "message.fallback", "not supported"),
    ({"message__text": {"ru": "a", "uk": "b"}, "message__fallback": "en"}, "message.fallback",
     "has no 'en'"),
    ({"message__text": {"ru": "Hi {first_name}", "uk": "b", "en": "c"}}, "message.text.ru",
     "unknown placeholder {first_name}"),
    ({"message__text": {"ru": "a <b>b", "uk": "b", "en": "c"}}, "message.text.ru",
     "<b> is never closed"),
    ({"message__text": {"ru": "a < b", "uk": "b", "en": "c"}}, "message.text.ru", "&lt;"),
    ({"message__text": {"ru": "R&D", "uk": "b", "en": "c"}}, "message.text.ru", "&amp;"),
    ({"message__text": {"ru": "<div>x</div>", "uk": "b", "en": "c"}}, "message.text.ru",
     "not markup Telegram knows"),
    ({"message__text": {"ru": "<a href='http://x.example'>x</a>", "uk": "b", "en": "c"}},
     "message.text.ru", "https"),
    ({"message__text": {"ru": "  ", "uk": "b", "en": "c"}}, "message.text.ru", "empty"),
    ({"message__text": {"ru": "<a href='https://x.example/?n={name}'>x</a>", "uk": "b",
                        "en": "c"}}, "message.text.ru", "never goes into a link"),
    ({"message__text": {}}, "message.text", "at least 1"),
    ({"message__buttons__0__text": {"ru": "x" * 65, "uk": "b", "en": "c"}},
     "message.buttons[0].text.ru", "1-64 characters"),
    ({"message__buttons__0__text": {"ru": "", "uk": "b", "en": "c"}},
     "message.buttons[0].text.ru", "1-64 characters"),
    ({"message__buttons__0__text": {"ru": "{name}", "uk": "b", "en": "c"}},
     "message.buttons[0].text.ru", "no placeholders"),
    ({"message__buttons__0__text": {"ru": "a", "en": "c"}}, "message.buttons[0].text",
     "no text in uk"),
    ({"message__buttons__1": {"text": "Ещё", "answer": "yes"}}, "message.buttons[2].answer",
     "also buttons[1]"),
    ({"segment__started": {"since": date(2026, 12, 1), "until": date(2026, 11, 1)}},
     "segment.started", "is after until"),
    ({"segment__active": {"before": date(2026, 11, 1), "after": date(2026, 11, 1)}},
     "segment.active", "no one matches"),
    ({"segment__statuses": ["won"], "segment__not_statuses": ["won"]}, "segment.not_statuses",
     "no one matches"),
    ({"segment__languages": ["de"]}, "segment.languages[0]", "not supported"),
    ({"segment__answers": "layout == "}, "segment.answers", "cannot parse"),
    ({"segment__answers": "open('x')"}, "segment.answers", "unknown function 'open'"),
    ({"segment__answers": "colour == 'red'"}, "segment.answers",
     "'colour' is not a question of kitchen-quiz"),
    ({"segment__answers": "answers.intro == 'x'"}, "segment.answers",
     "'intro' is not a question"),
    ({"segment__answers": "answers.layout == 'round'"}, "segment.answers",
     "'round' is not an option of step 'layout'"),
    ({"segment__answers": "layout in ('island', 'round')"}, "segment.answers",
     "'round' is not an option of step 'layout'"),
    ({"segment__answers": "'marble' in extras"}, "segment.answers",
     "'marble' is not an option of step 'extras'"),
])
def test_the_checks_name_the_field(changes, field, words):
    found = problems(data(**changes))
    assert field in found, found
    assert words in found[field]


def test_a_problem_says_file_line_and_field():
    text = yaml.safe_dump(data(message__buttons__0__url="http://e.example"), sort_keys=False)
    with pytest.raises(FlowError) as error:  # the flows' error: the CLI reports it the same
        parse_broadcast(text, "offer.yaml", None)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "http://" in row)
    assert str(error.value).startswith(
        f"offer.yaml:{line}: field 'message.buttons[0].url': must be https")


@pytest.mark.parametrize(("segment", "expression"), [
    ({"flows": ["kitchen-quiz"]}, "layout == 'island' and 'stone-top' in extras"),
    ({"flows": ["kitchen-quiz"]}, "answers['layout'] in ('corner', 'island')"),
    ({"flows": ["renovation-calculator"]}, "area >= 40"),  # an experiment: both variants
    ({}, "anything == 1"),  # no flow named: any step id may be meant
])
def test_a_segment_expression_names_the_steps_of_its_flows(segment, expression):
    assert problems(data(segment={**segment, "answers": expression})) == {}


def test_no_flows_given_means_flow_names_are_not_checked():
    broadcast = parse_broadcast(yaml.safe_dump(data(segment__flows=["elsewhere"])), "b", None)
    assert check_broadcast(broadcast, ()) == []
    assert [p.field for p in check_broadcast(broadcast, ("kitchen-quiz",))] == [
        "segment.flows[0]"]


def message_of(text: str, **message) -> dict:
    return data(message={"text": {"ru": text, "uk": "b", "en": "c"}, **message})


@pytest.mark.parametrize(("limit", "file"), [(4096, {}), (1024, {"photo": "https://e.example/a.jpg"})])
def test_a_text_at_the_limit_passes_and_one_unit_over_fails(limit, file):
    tail = max(units("\n\n" + footer) for footer in FOOTER.values())  # ru: the first
    markup = "<b>😀</b>&amp;"  # 2 units of emoji + 1 of '&': tags count nothing
    fits = markup + "x" * (limit - tail - 3)
    assert problems(message_of(fits, **file), footer=FOOTER) == {}
    found = problems(message_of(fits + "x", **file), footer=FOOTER)
    assert f"Telegram allows {limit}" in found["message.text.ru"]
    assert f"{limit + 1} characters" in found["message.text.ru"]


def test_name_counts_as_the_longest_name():
    fits = "{name}" + "x" * (4096 - MAX_NAME)
    assert problems(message_of(fits)) == {}
    assert "with {name} as 60" in problems(message_of(fits + "x"))["message.text.ru"]


def test_the_fallback_text_counts_the_longest_footer():
    footer = {"ru": "f" * 10, "uk": "f" * 300, "en": "f" * 10}
    text = {"uk": "b", "ru": "x" * 4000, "en": "c"}
    assert problems(data(message__text=text), footer=footer) == {}
    assert "message.text.ru" in problems(data(message__text=text, message__fallback="ru"),
                                         footer=footer)
    first = {"ru": "x" * 4000, "uk": "b", "en": "c"}  # no fallback: the first is the default
    assert "message.text.ru" in problems(data(message__text=first), footer=footer)


def test_a_local_file_is_found_next_to_the_broadcast(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "offer.jpg").write_bytes(b"\xff\xd8\xff")
    broadcast = parse_broadcast(yaml.safe_dump(message_of("a", photo="files/offer.jpg")),
                                "b.yaml", tmp_path)
    assert broadcast.message.photo == str((tmp_path / "files" / "offer.jpg").resolve())
    assert problems(message_of("a", photo="files/missing.jpg"), tmp_path) == {
        "message.photo": f"file 'files/missing.jpg' not found next to the broadcast ({tmp_path})"}
    assert "https URL" in problems(message_of("a", photo="files/offer.jpg"))["message.photo"]
    assert "must be https" in problems(message_of("a", document="http://e.example/p.pdf"),
                                       tmp_path)["message.document"]
    (tmp_path / "files" / "price.pdf").write_bytes(b"%PDF")
    assert "as document" in problems(message_of("a", photo="files/price.pdf"),
                                     tmp_path)["message.photo"]


def test_yaml_that_is_not_a_broadcast_is_refused_with_a_line():
    for text, words in (("name: [", "not valid YAML"), ("- a", "must be a mapping"),
                        ("name: a\nname: b\nmessage: {text: x}", "duplicate key 'name'")):
        with pytest.raises(BroadcastError, match=words):
            parse_broadcast(text, "b.yaml", None)


def broadcast(**changes) -> Broadcast:
    return parse_broadcast(yaml.safe_dump(data(**changes), allow_unicode=True, sort_keys=False),
                           "b", None)


@pytest.mark.parametrize(("language", "name", "expected"), [
    ("uk", "Олена", ("Вітаємо, Олена!", "uk")),
    ("ru", None, (f"Привет, {UNNAMED['ru']}!", "ru")),
    ("de", "<Tom & Jerry>", ("Hi &lt;Tom &amp; Jerry&gt;!", "en")),  # escaped; the fallback
    ("de", None, ("Hi friend!", "en")),
])
def test_render_fills_the_name_in_the_language_or_the_fallback(language, name, expected):
    message = broadcast(message__fallback="en").message
    assert render(message, language, name) == expected


def test_render_without_a_fallback_takes_the_first_language():
    message = broadcast(message__text={"uk": "Вітаємо", "en": "Hi"}).message
    assert render(message, "ru", None) == ("Вітаємо", "uk")


def test_a_text_for_every_language_is_one_string():
    message = broadcast(message__text="Hello, {name}").message
    assert render(message, "uk", "Ann", {"uk": "друже"}) == ("Hello, Ann", "uk")


def test_to_plain_gives_words_entities_and_the_footer():
    text, entities = to_plain("Hi <b>Ann</b> &amp; 😀 <a href=\"https://e.example\">go</a>",
                              "stop?")
    assert text == "Hi Ann & 😀 go\n\nstop?"
    assert entities == [{"type": "bold", "offset": 3, "length": 3},
                        {"type": "text_link", "offset": 12, "length": 2,
                         "url": "https://e.example"}]


def test_keyboard_rows_links_and_taps_without_unsubscribe():
    message = broadcast(message__fallback="en",
                        message__buttons__0__text={"ru": "Сайт", "en": "Site"}).message
    assert keyboard(4_294_967_296, message, "uk") == [
        [{"text": "Site", "url": "https://e.example/a"}],
        [{"text": "Квіз", "callback_data": "bc:4294967296:1"}],
        [{"text": "Так", "callback_data": "bc:4294967296:2"}],
    ]


@pytest.mark.parametrize(("data_", "expected"), [
    (pack(7, 2), (7, 2)),
    ("bc:2147483647:0", (2_147_483_647, 0)),
    ("bc:9999999999:0", None),  # past the database's integer: made up, never looked up
    ("bc:1", None), ("bc:1:2:3", None), ("xx:1:2", None), ("bc:²:1", None), ("bc:-1:0", None),
    ("kitchen-quiz:1:layout:island", None), ("bc::1", None),
])
def test_unpack(data_, expected):
    assert unpack(data_) == expected


def test_the_definition_round_trips_through_json():
    example = load_broadcast(EXAMPLE.read_text(encoding="utf-8"), "x", EXAMPLE.parent)
    everything = broadcast(segment={
        "flows": ["kitchen-quiz"], "versions": [1, 2], "variants": ["a"], "sources": ["vk"],
        "campaigns": ["nov"], "temperatures": ["hot"], "qualified": ["mql", "sql"],
        "statuses": ["open"], "not_statuses": ["won"], "answers": "layout == 'island'",
        "started": {"since": date(2026, 11, 1)}, "active": {"before": date(2026, 12, 1)},
        "languages": ["ru"]}, message__fallback="ru", send_at="2026-12-05T10:00:00+03:00")
    for original in (example, everything):
        stored = json.loads(json.dumps(to_dict(original)))
        assert from_dict(stored) == original
    assert to_dict(example)["segment"]["started"] == {"since": "2026-11-01",
                                                      "until": "2026-11-30"}
    assert from_dict(to_dict(everything)).send_at == datetime(2026, 12, 5, 7, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "answers", "expected"), [
    ("layout == 'island'", {"layout": "island"}, True),
    ("layout == 'island'", {}, False),  # not answered: not in the segment
    ("'stone-top' in extras", {"extras": ["stone-top", "sink"]}, True),
    ("answers['kitchen-size'] > 3", {"kitchen-size": 4}, True),
    (None, {}, True),
])
def test_matches_answers(expression, answers, expected):
    assert matches_answers(expression, answers) is expected


def test_markup_counts_what_the_reader_sees():
    parsed = parse_html("<i>a<b>b</b></i>&#128512;&#x41;&quot;")
    assert (parsed.text, parsed.problems) == ("ab😀A\"", [])
    assert units(parsed.text) == 6
    assert parse_html("<b>x</i></b>").problems == ["</i> closes what is not open here "
                                                   "(</b> first)"]


WORDS = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # emoji included


@given(WORDS, WORDS, WORDS)
def test_markup_keeps_any_words_and_counts_offsets_in_utf16_units(before, inside, after):
    # runs of plain words are taken whole: their offsets must still be Telegram's units
    parsed = parse_html(f"{escape(before)}<b>{escape(inside)}</b>{escape(after)}")
    assert (parsed.text, parsed.problems) == (before + inside + after, [])
    assert parsed.entities == ([{"type": "bold", "offset": units(before),
                                 "length": units(inside)}] if inside else [])


def test_the_docs_show_the_example_as_it_is():
    page = (ROOT / "docs" / "broadcasts.md").read_text(encoding="utf-8")
    shown = page.split("## The broadcast file", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert shown == EXAMPLE.read_text(encoding="utf-8")
