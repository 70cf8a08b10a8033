"""The broadcast file as frozen pydantic models, the shape checks (types, ids, https, how many
buttons), and the plain JSON of it kept in `broadcasts.definition` (`to_dict` / `from_dict`).

Checks that need more than one field or the flows (languages, lengths, markup, the segment's
expression) live in checks.py, as the flow linter's do.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from dialogs.engine.texts import SUPPORTED_LANGUAGES
from dialogs.format.schema import Id, Model, VariantName
from dialogs.rules import crm

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
SOURCE = "broadcast:"  # what a conversation a broadcast's button started has as its source
SOURCE_PATTERN = f"^{SOURCE}{NAME_PATTERN[1:]}"  # `leadbot report --source broadcast:NAME`
ANSWER_PATTERN = r"^[a-z0-9_]{1,32}$"
HTTPS = r"^https://\S+$"
MAX_BUTTONS = 3  # one a row; the bot adds the Unsubscribe button below them
MAX_POINTS = 100
TEMPERATURES = ("cold", "warm", "hot")
# A lead's status (storage/schema/tables.py Lead.status: open, handoff, nurture, closed, and
# what a manager or a CRM sets) or its hand-off's (Handoff.status: new, claimed, ...).
STATUSES = tuple(dict.fromkeys(("open", "new", *crm.STATUSES)))

Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Text = Annotated[dict[str, str], Field(min_length=1)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]  # source, campaign


def _one_text_for_all(value: Any) -> Any:
    """`text: "..."`: the same words in every language."""
    if isinstance(value, str):
        return {language: value for language in SUPPORTED_LANGUAGES}
    return value


class Days(Model):
    """`started`: the first and last day, both included, in LEADBOT_TIMEZONE."""

    since: date | None = None
    until: date | None = None


class Window(Model):
    """`active`: last active before and/or after these days."""

    before: date | None = None
    after: date | None = None


class Segment(Model):
    """Who is sent to: every filter given must hold (AND); a list is any of its items (OR)."""

    flows: tuple[Id, ...] = ()
    versions: tuple[Annotated[int, Field(ge=1)], ...] = ()
    variants: tuple[VariantName, ...] = ()
    sources: tuple[Label, ...] = ()
    campaigns: tuple[Label, ...] = ()
    temperatures: tuple[Literal["cold", "warm", "hot"], ...] = ()
    qualified: tuple[Literal["mql", "sql"], ...] = ()
    statuses: tuple[str, ...] = ()
    not_statuses: tuple[str, ...] = ()
    answers: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    started: Days | None = None
    active: Window | None = None
    languages: tuple[str, ...] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        if value == []:  # not "everyone": an empty list matches no one
            raise ValueError("an empty list matches no one: leave the key out instead")
        return value

    @model_validator(mode="before")
    @classmethod
    def _one_item(cls, data: Any) -> Any:
        """`flows: kitchen-quiz` is `flows: [kitchen-quiz]`."""
        if isinstance(data, dict):
            data = {key: [value] if key not in ("answers", "started", "active")
                    and isinstance(value, str | int) and not isinstance(value, bool)
                    else value for key, value in data.items()}
        return data

    @field_validator("statuses", "not_statuses")
    @classmethod
    def _known_status(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for status in value:
            if status not in STATUSES:
                raise ValueError(f"unknown status '{status}' (known: {', '.join(STATUSES)})")
        return value


class BroadcastButton(Model):
    """One of: a link (`url`), a flow to start (`flow`), an answer that scores (`answer`)."""

    text: Text
    url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    flow: Id | None = None
    answer: Annotated[str, StringConstraints(pattern=ANSWER_PATTERN)] | None = None
    points: int = Field(0, ge=-MAX_POINTS, le=MAX_POINTS)

    _text = field_validator("text", mode="before")(_one_text_for_all)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not re.match(HTTPS, value):
            raise ValueError("must be https (https://..., no spaces)")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> BroadcastButton:
        given = [kind for kind in ("url", "flow", "answer") if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError("a button needs exactly one of url, flow, answer "
                             f"(given: {', '.join(given) or 'none'})")
        if self.points and self.answer is None:
            raise ValueError("points count only on an answer button")
        return self

    @property
    def kind(self) -> Literal["url", "flow", "answer"]:
        return "url" if self.url else "flow" if self.flow else "answer"


class Message(Model):
    text: Text
    fallback: str | None = None
    photo: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None
    document: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None
    buttons: tuple[BroadcastButton, ...] = Field((), max_length=MAX_BUTTONS)

    _text = field_validator("text", mode="before")(_one_text_for_all)

    @model_validator(mode="after")
    def _one_file(self) -> Message:
        if self.photo is not None and self.document is not None:
            raise ValueError("a photo or a document, not both")
        return self

    @property
    def file(self) -> str | None:
        """The photo or document: the text becomes its caption."""
        return self.photo or self.document


class Broadcast(Model):
    name: Name
    segment: Segment = Segment()
    message: Message
    send_at: AwareDatetime | None = None  # `leadbot broadcast send --at` overrides it

    @property
    def source(self) -> str:
        """What a flow started from it records as its source (and reports group by)."""
        return source_of(self.name)


def source_of(name: str) -> str:
    """The source of a broadcast named `name` (its results and reports count by it)."""
    return f"{SOURCE}{name}"


def to_dict(broadcast: Broadcast) -> dict[str, Any]:
    """The plain JSON of `broadcasts.definition` (nothing personal is in a broadcast): the
    file's own shape, what was left out left out (an empty list would match no one)."""
    return broadcast.model_dump(mode="json", exclude_defaults=True)


def from_dict(data: dict[str, Any]) -> Broadcast:
    return Broadcast.model_validate(data)
