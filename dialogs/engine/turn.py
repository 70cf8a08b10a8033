"""One engine step in the making: a working copy of the state and the actions so far.

The engine's contract is pure, `(flow, state, event) -> (new state, actions)`; a Turn is the
scratch pad that builds the new state without touching the one it was given.

What entering a step does and how its question is asked again depend on the step's kind:
kinds/ knows, and core.py hands both to the Turn as hooks: turn.py, kinds/ and nurture/
never import core.py, and nurture/ never imports kinds/.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from dialogs.engine import callback
from dialogs.engine.actions import (
    Action,
    AnswerTap,
    Button,
    EditMessage,
    EnterStep,
    Keyboard,
    RecordAnswer,
    SendMessage,
)
from dialogs.engine.state import AnswerValue, State
from dialogs.engine.texts import engine_text, fill, pick
from dialogs.format.schema import ADVERTISING, Flow, Step
from dialogs.rules.expressions import is_true
from dialogs.rules.scoring import Facts, answer_points, facts_of, names_of
from dialogs.rules.validators import format_number

MAX_AUTO_STEPS = 100  # steps entered in one turn; a safety net under the linter's loop check

EnterHook = Callable[["Turn", Step], None]
RepromptHook = Callable[["Turn"], None]


class Turn:
    def __init__(self, flow: Flow, state: State, enter_hook: EnterHook,
                 reprompt_hook: RepromptHook) -> None:
        self.flow = flow
        self._enter_hook = enter_hook  # what entering a step does, per kind (kinds/)
        self._reprompt_hook = reprompt_hook  # the current step's question again (kinds/)
        self.original = state
        self.language = state.language
        self.step_id = state.step
        self.phase = state.phase
        self.answers: dict[str, AnswerValue] = dict(state.answers)
        self.selected = list(state.selected)
        self.history = list(state.history)
        self.contact = dict(state.contact)
        self.consents = dict(state.consents)
        self.results = dict(state.results)
        self.finished = state.finished
        self.outcome = state.outcome
        self.actions: list[Action] = []
        self._entered = 0
        self._facts: Facts | None = None

    # -- the state ----------------------------------------------------------------------
    @property
    def step(self) -> Step:
        return self.flow.steps[self.step_id]

    def state(self) -> State:
        o = self.original
        return State(
            flow_id=o.flow_id, flow_version=o.flow_version, user_id=o.user_id,
            language=self.language, step=self.step_id, phase=self.phase,
            answers=MappingProxyType(self.answers), selected=tuple(self.selected),
            history=tuple(self.history), contact=MappingProxyType(self.contact),
            consents=MappingProxyType(self.consents), operator=self.flow.operator.key,
            results=MappingProxyType(self.results), source=o.source, seed=o.seed,
            finished=self.finished, outcome=self.outcome)

    def facts(self) -> Facts:
        if self._facts is None:
            self._facts = facts_of(self.flow, self.answers)
        return self._facts

    def names(self) -> dict[str, Any]:
        return names_of(self.flow, self.state(), self.facts())

    def record(self, value: AnswerValue, label: str, step_id: str | None = None,
               typed: str | None = None) -> None:
        """`typed`: the answer was typed, not tapped (what was typed and how it was read)."""
        step_id = step_id or self.step_id
        self.answers[step_id] = value
        self._facts = None
        points, tags = answer_points(self.flow, step_id, value)
        self.actions.append(RecordAnswer(step=step_id, value=value, label=label,
                                         points=points, tags=tags, typed=typed))

    def forget_answer(self, step_id: str) -> None:
        self.answers.pop(step_id, None)
        self._facts = None

    # -- words --------------------------------------------------------------------------
    def text(self, text: dict[str, str], **extra: object) -> str:
        """A flow text in the prospect's language, placeholders filled."""
        raw = pick(text, self.language, self.flow.language)
        return fill(raw, self.placeholders(extra)) if "{" in raw else raw

    def label(self, text: dict[str, str]) -> str:
        """A flow text in the flow's default language: what managers read."""
        return pick(text, self.flow.language, self.flow.language)

    def say(self, key: str, **values: object) -> str:
        return engine_text(key, self.language, **values)

    def placeholders(self, extra: dict[str, object]) -> dict[str, object]:
        facts = self.facts()
        values: dict[str, object] = {
            "discount": format_number(facts.discount, self.language),
            "score": facts.score,
            "name": self.contact.get("name", ""),
            "company": self.company(),
            "company_contact": self.flow.operator.contact or "",
            "retention_days": self.flow.operator.retention_days,
            "recipients": self.recipients(),
        }
        for key, number in self.results.items():
            values[key] = format_number(number, self.language)
        for step_id, answer in self.answers.items():
            if step_id not in self.flow.steps:  # a follow-up's question ("~id")
                continue
            values[f"answers.{step_id}"] = self.answer_label(step_id, answer, self.language)
        values.update(extra)
        return values

    def recipients(self) -> str:
        """`{recipients}`: a sentence naming everyone else the data goes to (the CRMs
        `leadbot run` found configured), another for the ad platforms (those given the
        phone and email say so), or one saying there is nobody."""
        found = self.flow.operator.recipients
        if not found:
            return self.say("recipients_none")
        others = [r for r in found if r.category != ADVERTISING]
        ads = [self.say("recipients_hashed", name=r.name) if r.contacts else r.name
               for r in found if r.category == ADVERTISING]
        said = [self.say("recipients_some", names=", ".join(
            f"{r.name} ({r.category})" for r in others))] if others else []
        if ads:
            said.append(self.say("recipients_ads", names=", ".join(ads)))
        return " ".join(said)

    def company(self) -> str:
        company = self.flow.operator.company
        if isinstance(company, dict):
            return pick(company, self.language, self.flow.language)
        return company or ""

    def answer_label(self, step_id: str, value: AnswerValue, language: str) -> str:
        step = self.flow.steps[step_id]
        options = getattr(step, "options", ())
        by_id = {o.id: o for o in options}
        if value is None:
            return engine_text("skipped", language)
        if isinstance(value, tuple):
            return ", ".join(pick(by_id[v].text, language, self.flow.language)
                             for v in value if v in by_id)
        if isinstance(value, str) and value in by_id:
            return pick(by_id[value].text, language, self.flow.language)
        if isinstance(value, float):
            unit = getattr(step, "unit", None)
            number = format_number(value, language)
            return f"{number} {pick(unit, language, self.flow.language)}" if unit else number
        return str(value)

    # -- messages -----------------------------------------------------------------------
    def emit(self, action: Action) -> None:
        self.actions.append(action)

    def send(self, text: str, buttons: Keyboard = (), **fields: Any) -> None:
        self.actions.append(SendMessage(text=text, buttons=buttons, **fields))

    def answer_tap(self, text: str | None = None, alert: bool = False) -> None:
        self.actions.append(AnswerTap(text=text, alert=alert))

    def button(self, label: str, option: str) -> Button:
        data = callback.pack(self.flow.id, self.flow.version, self.step_id, option)
        return Button(text=label, data=data)

    def back_row(self) -> tuple[tuple[Button, ...], ...]:
        if self.flow.allow_back and self.history:
            return ((self.button(self.say("back"), callback.BACK),),)
        return ()

    def show_chosen(self, question: str, answer: str) -> None:
        """Edit the question message: the buttons go, the chosen answer stays in view."""
        self.actions.append(EditMessage(step=self.step_id,
                                        text=f"{question}\n\n{self.say('chosen', answer=answer)}"))

    # -- moving -------------------------------------------------------------------------
    def enter(self, step_id: str) -> None:
        self._entered += 1
        if self._entered > MAX_AUTO_STEPS:
            return
        self.step_id, self.phase, self.selected = step_id, "", []
        step = self.flow.steps[step_id]
        self.actions.append(EnterStep(step=step_id, kind=step.kind))
        self._enter_hook(self, step)

    def reprompt(self) -> None:
        """The current step's question asked again (nothing once the quiz is finished)."""
        self._reprompt_hook(self)

    def advance(self, option_next: str | None = None, remember: bool = True) -> None:
        """Leave the current step for the first matching branch, the option's or step's next."""
        step = self.step
        target = None
        if step.branches:
            names = self.names()
            target = next((b.next for b in step.branches if is_true(b.when, names)), None)
        target = target or option_next or step.next
        if target is None:  # the linter refuses such flows; stay rather than crash
            return
        if remember:
            self.history.append(self.step_id)
        self.enter(target)

    def text_hash(self, text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
