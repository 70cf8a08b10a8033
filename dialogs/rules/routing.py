"""Which managers get a lead: rules in a YAML file (LEADBOT_ROUTING_FILE). Pure.

    routes:
      - name: senior
        when: "flow == 'renovation-calculator' and 'big_order' in tags"
        chat_id: -1001234567890          # the group the card goes to
        managers: [{id: 111, name: Anna}, {id: 222, name: Boris}]   # who may claim
        assign: round_robin              # or least_loaded: straight to one manager
      - name: ukrainian
        when: "language == 'uk'"
        chat_id: -1009876543210

The first route whose `when` holds is taken (no `when`: always); none: the managers' chat
of LEADBOT_MANAGERS_CHAT_ID. Conditions see flow, tags, answers.STEP, language,
temperature, score, source, sql, mql, target — evaluated safely (dialogs/rules/expressions.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dialogs.format.problems import plain
from dialogs.format.yamlsource import parse_yaml
from dialogs.rules.expressions import ExpressionError, Record, is_true, parse


class RoutingError(ValueError):
    """A routing file that cannot be used: one message naming the route and field."""


class Manager(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    name: str | None = None


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=32)]
    when: str | None = None
    chat_id: int | None = None
    managers: tuple[Manager, ...] = ()
    assign: Literal["round_robin", "least_loaded"] | None = None

    @field_validator("managers", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        """`[111, 222]` as well as `[{id: 111, name: Anna}]`."""
        if isinstance(value, list):
            return [{"id": item} if isinstance(item, int) else item for item in value]
        return value

    @field_validator("when")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse(value)
            except ExpressionError as error:
                raise ValueError(str(error)) from None
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> Route:
        if self.chat_id is None and not self.assign:
            raise ValueError("a route needs chat_id (a group), or managers with assign")
        if self.assign and not self.managers:
            raise ValueError(f"assign: {self.assign} needs a list of managers")
        return self

    def may_claim(self, user_id: int) -> bool:
        return not self.managers or any(m.id == user_id for m in self.managers)


class Routing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: tuple[Route, ...] = ()

    @classmethod
    def from_yaml(cls, text: str, source: str = "routing file") -> Routing:
        try:  # the flows' parser: it refuses alias bombs and nesting past any routing need
            parsed = parse_yaml(text)
        except yaml.YAMLError as error:
            raise RoutingError(f"{source}: not YAML: {error}") from None
        if parsed.duplicates:
            where, line = parsed.duplicates[0]
            raise RoutingError(f"{source}: line {line}: '{where[-1]}' is written twice")
        data = parsed.data or {}
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            item = error.errors()[0]
            where = ".".join(str(part) for part in item["loc"]) or "top level"
            raise RoutingError(f"{source}: {where}: {plain(item)}") from None

    def route(self, facts: Mapping[str, Any]) -> Route | None:
        for route in self.routes:
            if route.when is None or is_true(route.when, facts):
                return route
        return None

    def chats(self) -> set[int]:
        return {r.chat_id for r in self.routes if r.chat_id is not None}


def facts(*, flow: str, tags: Sequence[str], answers: Mapping[str, Any], language: str,
          temperature: str, score: int, source: str | None, sql: bool, mql: bool,
          target: bool) -> dict[str, Any]:
    return {"flow": flow, "tags": tuple(tags), "answers": Record(answers),
            "language": language, "temperature": temperature, "score": score,
            "source": source or "", "sql": sql, "mql": mql, "target": target}
