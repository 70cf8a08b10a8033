"""Checks for every text in a flow: each declared language present, Telegram's limits kept,
placeholders that name something the engine knows."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from pydantic import BaseModel

from dialogs.engine.texts import SUPPORTED_LANGUAGES, placeholders
from dialogs.format.schema import ConsentStep, Flow, MessageStep, RewardStep
from dialogs.format.yamlsource import Path

MAX_MESSAGE = 4096  # Bot API sendMessage: 1-4096 characters after entities parsing
MAX_CAPTION = 1024  # Bot API sendDocument caption
GLOBAL_PLACEHOLDERS = {"discount", "score", "name", "company", "company_contact",
                       "retention_days", "recipients"}
OPERATOR_PLACEHOLDERS = {"company": "company", "company_contact": "contact"}

Found = tuple[Path, str]


def texts(value: Any, path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """Every localized text (a mapping of language -> string) inside a model, with its path."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from texts(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        if value and all(isinstance(v, str) for v in value.values()) and path[-1] != "steps":
            yield path, value
        else:
            for key, item in value.items():
                yield from texts(item, (*path, str(key)))
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from texts(item, (*path, index))


def check_languages(flow: Flow) -> Iterator[Found]:
    for language in flow.languages:
        if language not in SUPPORTED_LANGUAGES:
            yield ("languages",), (f"language '{language}' is not supported "
                                   f"(supported: {', '.join(SUPPORTED_LANGUAGES)})")
    if flow.default_language and flow.default_language not in flow.languages:
        yield ("default_language",), f"'{flow.default_language}' is not in languages"


def check_texts(flow: Flow) -> Iterator[Found]:
    for path, text in texts(flow, ()):
        for language in flow.languages:
            if not (text.get(language) or "").strip():
                yield path, f"missing translation for '{language}'"
        for language in text:
            if language not in flow.languages:
                yield path, f"text in '{language}', which is not in the flow's languages"
        limit = caption_limit(flow, path)
        for language, value in text.items():
            if len(value) > limit:
                kind = "a caption" if limit == MAX_CAPTION else "a message"
                yield path, (f"the '{language}' text is {len(value)} characters; Telegram "
                             f"allows {limit} in {kind}")


def caption_limit(flow: Flow, path: Path) -> int:
    if len(path) == 3 and path[0] == "steps" and path[2] == "text":
        step = flow.steps[str(path[1])]
        if isinstance(step, MessageStep | RewardStep) and step.file:
            return MAX_CAPTION
    return MAX_MESSAGE


def check_placeholders(flow: Flow, results: set[str]) -> Iterator[Found]:
    answers = {f"answers.{step_id}" for step_id, step in flow.steps.items()
               if step.kind in ("single_choice", "multiple_choice", "free_text", "number")}
    for path, text in texts(flow, ()):
        allowed = GLOBAL_PLACEHOLDERS | results | answers
        if path[:1] == ("steps",) and len(path) > 2:
            step = flow.steps[str(path[1])]
            if isinstance(step, RewardStep):
                allowed = allowed | {"code"}
            if step.kind == "consent":
                allowed = allowed | {"policy_url"}
        for language, value in text.items():
            for name in placeholders(value):
                field = OPERATOR_PLACEHOLDERS.get(name)
                if field and getattr(flow.operator, field) is None:
                    yield path, (f"the '{language}' text uses {{{name}}} but the flow has no "
                                 f"operator.{field} (LEADBOT_COMPANY_NAME / "
                                 f"LEADBOT_COMPANY_CONTACT override it when set)")
                if name not in allowed:
                    yield path, (f"unknown placeholder {{{name}}} in the '{language}' text "
                                 f"(known: {', '.join(sorted(allowed - answers))}, answers.STEP)")


# What a consent text must say, in every language (GDPR Art. 13, 152-FZ Art. 9): who (the
# company), how long, whom to ask, the rights and how to use them, and why: a purpose clause.
CONSENT_NEEDS = (("{company}", "the company ({company})"),
                 ("{retention_days}", "how long data is kept ({retention_days})"),
                 ("{company_contact}", "the contact for questions ({company_contact})"),
                 ("/mydata", "the right of access (/mydata)"),
                 ("/forget", "the right to withdraw and erase (/forget)"))
PURPOSE_WORDS = {"ru": ("чтобы", "для "), "uk": ("щоб", "для "), "en": (" to ", " for ")}


def check_consent_texts(flow: Flow, recipients: Collection[str] = (),
                        named: Collection[str] = ()) -> Iterator[Found]:
    """`recipients`: the categories of recipient the installation sends data to (its
    configured CRMs: "CRM"; ad platforms: "advertising"), given as plain data by whoever
    runs the linter (bot/cli); the flow's own `operator.recipients` count too. A consent
    text must name them (GDPR Art. 13(1)(e)): `{recipients}` (the bot fills in each one, by
    name), or each category. `named`: the recipients given the phone and email (hashed: an
    ad platform with `contacts: true`), which a category does not cover: `{recipients}`,
    or each by name."""
    categories = sorted({*recipients, *(r.category for r in flow.operator.recipients)})
    names = sorted({*named, *(r.name for r in flow.operator.recipients if r.contacts)})
    for step_id, step in flow.steps.items():
        if not isinstance(step, ConsentStep):
            continue
        for language, value in step.text.items():
            missing = [what for needed, what in CONSENT_NEEDS if needed not in value]
            unnamed = [c for c in categories if c.lower() not in value.lower()]
            if unnamed and "{recipients}" not in value:
                missing.append(f"who else receives the data: {', '.join(unnamed)} "
                               "({recipients}, filled in from the configured CRMs)")
            unnamed = [n for n in names if n.lower() not in value.lower()]
            if unnamed and "{recipients}" not in value:
                missing.append(f"by name who gets the phone and email (hashed): "
                               f"{', '.join(unnamed)} ({{recipients}} names them)")
            words = PURPOSE_WORDS.get(language, ())
            if words and not any(word in value.lower() for word in words):
                missing.append("the purpose (a clause with " + " / ".join(
                    repr(w.strip()) for w in words) + ")")
            if missing:
                yield ("steps", step_id, "text", language), (
                    f"the '{language}' consent text must name {', '.join(missing)}")
        if step.marketing is not None:
            for language, value in step.marketing.text.items():
                if "/stop" not in value:
                    yield ("steps", step_id, "marketing", "text", language), (
                        f"the '{language}' marketing opt-in must say how to stop (/stop)")
