"""Checks for what prospects may type (docs/typed.md): option synonyms and FAQ entries.

A synonym is checked the way it will be used: `understand` at its own step must give back
its own option, alone. One that gives another option, or a "did you mean" between two, or an
FAQ entry, would make the step misread the very word the author taught it; one written the
same as another option's label is refused before that. An FAQ phrasing must come back as its
own entry at every choice step, or the question would be taken for an answer there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dialogs.format.schema import ChoiceStep, Flow
from dialogs.format.yamlsource import Path
from dialogs.typed import Understood, understand

Found = tuple[Path, str]

_PUNCTUATION = re.compile(r"[^\w\s]+")


def plain(text: str) -> str:
    """Case, ё/е, punctuation and spacing aside: what two phrasings share when "the same"."""
    text = _PUNCTUATION.sub(" ", text.casefold().replace("ё", "е"))
    return " ".join(text.split())


def check_typed(flow: Flow) -> Iterator[Found]:
    yield from check_faq_entries(flow)
    for step_id, step in flow.steps.items():
        if isinstance(step, ChoiceStep):
            yield from check_synonyms(flow, step_id, step)
    yield from check_faq_phrasings(flow)


def check_faq_entries(flow: Flow) -> Iterator[Found]:
    seen: set[str] = set()
    for index, entry in enumerate(flow.faq):
        base: Path = ("faq", index)
        if entry.id in seen:
            yield (*base, "id"), f"duplicate faq id '{entry.id}'"
        seen.add(entry.id)
        for language in flow.languages:
            if not any(ask.strip() for ask in entry.ask.get(language, ())):
                yield (*base, "ask"), (f"faq '{entry.id}' has no phrasing in '{language}': "
                                       "prospects writing in it would never get the answer")
        yield from foreign_languages(flow, entry.ask, (*base, "ask"))
        # a missing translation of `answer` (or `link`, `file`) is check_texts' report


def foreign_languages(flow: Flow, phrasings: dict, path: Path) -> Iterator[Found]:
    for language in phrasings:
        if language not in flow.languages:
            yield (*path, language), (
                f"phrasings in '{language}', which is not in the flow's languages")


def check_synonyms(flow: Flow, step_id: str, step: ChoiceStep) -> Iterator[Found]:
    labels = {plain(text): option.id for option in step.options
              for text in option.text.values()}
    for index, option in enumerate(step.options):
        base: Path = ("steps", step_id, "options", index, "synonyms")
        yield from foreign_languages(flow, option.synonyms, base)
        for language, words in option.synonyms.items():
            if language not in flow.languages:
                continue
            for word in words:
                other = labels.get(plain(word))
                if other is not None and other != option.id:
                    yield (*base, language), (
                        f"synonym '{word}' of option '{option.id}' is the label of option "
                        f"'{other}'")
                    continue
                result = understand(flow, step_id, word, language)
                if result.kind != "option" or result.options != (option.id,):
                    yield (*base, language), (
                        f"synonym '{word}' of option '{option.id}' is understood as "
                        f"{described(result)}")


def check_faq_phrasings(flow: Flow) -> Iterator[Found]:
    choice_steps = [step_id for step_id, step in flow.steps.items()
                    if isinstance(step, ChoiceStep)]
    for index, entry in enumerate(flow.faq):
        for language, asks in entry.ask.items():
            if language not in flow.languages:
                continue
            for ask in asks:
                wrong = {}
                for step_id in choice_steps:
                    result = understand(flow, step_id, ask, language)
                    if result.kind != "faq" or result.faq != entry.id:
                        wrong[step_id] = described(result)
                if wrong:
                    where = "; ".join(f"at step '{s}' as {what}" for s, what in wrong.items())
                    yield ("faq", index, "ask", language), (
                        f"faq '{entry.id}' phrasing '{ask}' is understood {where}")


def described(result: Understood) -> str:
    if result.kind == "option":
        ids = "', '".join(result.options)
        return f"option{'s' if len(result.options) > 1 else ''} '{ids}'"
    if result.kind == "ambiguous":
        return f"either '{result.options[0]}' or '{result.options[-1]}' (it matches both)"
    if result.kind == "faq":
        return f"faq '{result.faq}'"
    return "nothing"
