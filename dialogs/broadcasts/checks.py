"""The broadcast linter: what the schema cannot see. Telegram's limits (a text 4096, a caption
1024, counted in UTF-16 units as Telegram does, after the markup is parsed and with the
unsubscribe footer the bot appends), the markup, the placeholders, every language present or a
fallback, the buttons, the flows named, the segment's expression and dates.

Every problem is (path, message); checks.py never reads a file (parse.py looks for the photo).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator, Mapping

from dialogs.broadcasts.markup import parse_html, units
from dialogs.broadcasts.message import FOOTER_SEPARATOR, MAX_BROADCAST_ID, NAME, UNNAMED, pack
from dialogs.broadcasts.schema import Broadcast, BroadcastButton, Message, Segment
from dialogs.engine.callback import MAX_CALLBACK_BYTES
from dialogs.engine.texts import SUPPORTED_LANGUAGES, placeholders
from dialogs.format.problems import Problem, split_path
from dialogs.format.schema import QUESTION_KINDS, Flow
from dialogs.format.yamlsource import Path, YamlSource
from dialogs.lint.texts import MAX_CAPTION, MAX_MESSAGE
from dialogs.rules.expressions import FUNCTIONS, ExpressionError, parse, references

MAX_LABEL = 64  # a button's text, in characters
MAX_NAME = 60  # the longest name a contact step accepts (dialogs/rules/validators.py)
CONSTANTS = {"True", "False", "None"}

Found = tuple[Path, str]


def check_broadcast(broadcast: Broadcast, flows: Iterable[Flow | str] = (), *,
                    footer: Mapping[str, str] | None = None, file: str = "broadcast",
                    source: YamlSource | None = None) -> list[Problem]:
    """Everything wrong with `broadcast`, each problem naming its field.

    `flows`: the flows the bot runs, each a Flow (its id, its experiment's name and its steps
    are known) or only a name; none given: the flows named are not checked. `footer`: the
    unsubscribe footer per language, as the bot appends it (bot/service/rights.py
    unsubscribe_footer), counted in each text's length. `source`: the file's lines."""
    flows = list(flows)
    found = [*check_message(broadcast.message, footer or {}),
             *check_segment(broadcast.segment, flows),
             *check_flow_buttons(broadcast.message, flows)]
    problems = []
    for path, message in found:
        _, field = split_path(path)
        problems.append(Problem(file, source.line(path) if source else None, None, field,
                                message))
    return problems


def check_message(message: Message, footer: Mapping[str, str]) -> Iterator[Found]:
    if message.fallback is not None:
        if message.fallback not in SUPPORTED_LANGUAGES:
            yield ("message", "fallback"), _unsupported(message.fallback)
        elif message.fallback not in message.text:
            yield ("message", "fallback"), f"the text has no '{message.fallback}'"
    yield from check_languages(("message", "text"), message.text, message.fallback)
    limit = MAX_CAPTION if message.file else MAX_MESSAGE
    what = "a caption (the text of a photo or document)" if message.file else "a message"
    longest = max(units(word) for word in (*UNNAMED.values(), "x" * MAX_NAME))
    default = message.fallback if message.fallback in message.text else next(iter(message.text))
    for language, text in message.text.items():
        path: Path = ("message", "text", language)
        if not text.strip():
            yield path, "the text is empty"
            continue
        parsed = parse_html(text)
        for problem in parsed.problems:
            yield path, f"markup: {problem}"
        for name in placeholders(text):
            if name != NAME:
                yield path, f"unknown placeholder {{{name}}} (a broadcast knows only {{name}})"
        names = placeholders(parsed.text).count(NAME)
        if placeholders(text).count(NAME) > names:
            yield path, "{name} inside a tag: a name never goes into a link"
        tail = _footer_units(footer, language, language == default)
        size = units(parsed.text) + names * (longest - len("{name}")) + tail
        if size > limit:
            also = " with {name} as " + f"{longest} characters" if names else ""
            yield path, (f"{size} characters (UTF-16 units{also}, the unsubscribe footer "
                         f"included: {tail}); Telegram allows {limit} in {what}")
    if message.file and "://" in message.file and not message.file.startswith("https://"):
        yield ("message", "photo" if message.photo else "document"), "must be https"
    seen: dict[str, int] = {}
    for index, button in enumerate(message.buttons):
        yield from check_button(("message", "buttons", index), button, message.fallback)
        if button.answer is not None:
            if button.answer in seen:
                yield ("message", "buttons", index, "answer"), (
                    f"answer '{button.answer}' is also buttons[{seen[button.answer]}]")
            seen.setdefault(button.answer, index)


def _footer_units(footer: Mapping[str, str], language: str, default: bool) -> int:
    """The fallback's text (without one: the first) goes to people of every language without
    a text of their own, each with their footer: counted with the longest."""
    texts = footer.values() if default else [footer.get(language, "")]
    longest = max((units(text) for text in texts if text), default=0)
    return longest + units(FOOTER_SEPARATOR) if longest else 0


def check_languages(path: Path, text: Mapping[str, str], fallback: str | None
                    ) -> Iterator[Found]:
    for language in text:
        if language not in SUPPORTED_LANGUAGES:
            yield (*path, language), _unsupported(language)
    if fallback in text:
        return
    missing = [language for language in SUPPORTED_LANGUAGES if language not in text]
    if missing:
        yield path, (f"no text in {', '.join(missing)}: write one, or set message.fallback "
                     "to a language this text has")


def check_button(path: Path, button: BroadcastButton, fallback: str | None) -> Iterator[Found]:
    yield from check_languages((*path, "text"), button.text, fallback)
    for language, text in button.text.items():
        if not 1 <= len(text.strip()) <= MAX_LABEL:
            yield (*path, "text", language), (
                f"a button's text is 1-{MAX_LABEL} characters (this one: {len(text.strip())})")
        if placeholders(text):
            yield (*path, "text", language), "a button's text has no placeholders"
    if button.kind != "url":
        data = pack(MAX_BROADCAST_ID, path[-1])  # type: ignore[arg-type]
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            yield path, f"button data '{data}' is over {MAX_CALLBACK_BYTES} bytes"


def check_flow_buttons(message: Message, flows: list[Flow | str]) -> Iterator[Found]:
    known = flow_names(flows)
    for index, button in enumerate(message.buttons):
        if known and button.flow is not None and button.flow not in known:
            yield ("message", "buttons", index, "flow"), _unknown_flow(button.flow, known)


def check_segment(segment: Segment, flows: list[Flow | str]) -> Iterator[Found]:
    known = flow_names(flows)
    for index, name in enumerate(segment.flows):
        if known and name not in known:
            yield ("segment", "flows", index), _unknown_flow(name, known)
    for index, language in enumerate(segment.languages):
        if language not in SUPPORTED_LANGUAGES:
            yield ("segment", "languages", index), _unsupported(language)
    both = set(segment.statuses) & set(segment.not_statuses)
    if both:
        yield ("segment", "not_statuses"), (f"{', '.join(sorted(both))} both wanted and not: "
                                            "no one matches")
    days = segment.started
    if days and days.since and days.until and days.since > days.until:
        yield ("segment", "started"), f"since ({days.since}) is after until ({days.until})"
    window = segment.active
    if window and window.before and window.after and window.after >= window.before:
        yield ("segment", "active"), (f"after ({window.after}) is not before before "
                                      f"({window.before}): no one matches")
    if segment.answers is not None:
        yield from check_answers(segment, flows)


def check_answers(segment: Segment, flows: list[Flow | str]) -> Iterator[Found]:
    """The flows' expression language; its names are the step ids of the person's answers
    (`layout == 'island'`, or `answers['kitchen-size']` for an id that is not a name)."""
    path: Path = ("segment", "answers")
    try:
        refs = references(segment.answers or "")
    except ExpressionError as error:
        yield path, str(error)
        return
    for call in sorted(refs.calls - set(FUNCTIONS)):
        yield path, f"unknown function '{call}' (allowed: {', '.join(sorted(FUNCTIONS))})"
    if "values" in refs.names:
        yield path, "values.STEP is not kept for a segment: compare answers (option ids)"
    steps = question_steps(segment.flows, flows)
    if steps is None:
        return
    named = (refs.names - set(FUNCTIONS) - CONSTANTS - {"answers", "values"}) | {
        step for record, step in refs.steps if record == "answers"}
    for name in sorted(named - set(steps)):
        yield path, (f"'{name}' is not a question of {', '.join(segment.flows)} (its steps: "
                     f"{', '.join(sorted(steps))})")
    for step_id, literal in sorted(refs.compared | compared_names(segment.answers or "")):
        if step_id in steps and steps[step_id] and literal not in steps[step_id]:
            yield path, f"'{literal}' is not an option of step '{step_id}'"


def compared_names(expression: str) -> set[tuple[str, str]]:
    """(step id, literal) of `layout == 'island'`, `layout in ('a', 'b')`: a bare name
    compared with text (references() finds these for `answers.layout` only)."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(parse(expression)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for left, right in itertools.pairwise(operands):
            for name, other in ((left, right), (right, left)):
                if isinstance(name, ast.Name):
                    found |= {(name.id, text) for text in _texts(other)}
    return found


def _texts(node: ast.AST) -> list[str]:
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [item.value for item in items
            if isinstance(item, ast.Constant) and isinstance(item.value, str)]


def question_steps(names: tuple[str, ...], flows: list[Flow | str]
                   ) -> dict[str, set[str]] | None:
    """The question steps (id -> its option ids) of the flows named, or None when no flow is
    named or one named is not given whole (then any name may be an answer)."""
    if not names:
        return None
    steps: dict[str, set[str]] = {}
    for name in names:
        chosen = [flow for flow in flows if isinstance(flow, Flow) and name in (
            flow.id, flow.experiment.name if flow.experiment else None)]
        if not chosen:
            return None
        for flow in chosen:
            for step_id, step in flow.steps.items():
                if step.kind in QUESTION_KINDS:
                    options = {option.id for option in getattr(step, "options", ())}
                    steps[step_id] = steps.get(step_id, set()) | options
    return steps


def flow_names(flows: Iterable[Flow | str]) -> set[str]:
    names: set[str] = set()
    for flow in flows:
        if isinstance(flow, Flow):
            names.add(flow.id)
            if flow.experiment is not None:
                names.add(flow.experiment.name)
        else:
            names.add(flow)
    return names


def _unknown_flow(name: str, known: set[str]) -> str:
    return f"unknown flow '{name}' (known: {', '.join(sorted(known))})"


def _unsupported(language: str) -> str:
    return f"language '{language}' is not supported ({', '.join(SUPPORTED_LANGUAGES)})"
