"""One prospect's conversation with one flow: everything needed to resume it after a restart.

Immutable: the engine returns a new State. `to_dict` / `from_dict` give plain JSON for storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

AnswerValue = str | float | tuple[str, ...] | None
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class State:
    flow_id: str
    flow_version: int
    user_id: int
    language: str
    step: str
    phase: str = ""  # within a step: the contact field asked, or "marketing" in consent
    answers: Mapping[str, AnswerValue] = field(default_factory=lambda: _EMPTY)
    selected: tuple[str, ...] = ()  # multiple choice toggles not yet confirmed
    history: tuple[str, ...] = ()  # steps that waited for the prospect, for "back"
    # name / phone / email: only ever after consent
    contact: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    # purpose ("processing", "marketing") -> the policy version granted to `operator`
    consents: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    operator: str = ""  # the controller (the flow's company, Operator.key) consents are to
    # calculator results: price, price_low, price_high
    results: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    source: str | None = None
    seed: str = ""
    finished: bool = False
    outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("contact", "consents", "results"):
            data[key] = dict(data[key])
        for key in ("selected", "history"):
            data[key] = list(data[key])
        data["answers"] = {k: list(v) if isinstance(v, tuple) else v
                           for k, v in self.answers.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        values = dict(data)
        values["answers"] = MappingProxyType(
            {k: tuple(v) if isinstance(v, list) else v for k, v in values["answers"].items()})
        for key in ("contact", "consents", "results"):
            values[key] = MappingProxyType(dict(values.get(key) or {}))
        for key in ("selected", "history"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)
