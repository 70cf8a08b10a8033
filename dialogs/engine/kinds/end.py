"""end: qualify the lead, decide the outcome (hand off, nurture, close), say goodbye."""

from __future__ import annotations

from dialogs.engine.actions import Close, HandOff
from dialogs.engine.kinds.base import Kind, no_prompt
from dialogs.engine.nurture.schedule import schedule_sequences
from dialogs.engine.turn import Turn
from dialogs.format.schema import ConsentStep, EndStep
from dialogs.rules.scoring import qualify


def enter_end(turn: Turn, step: EndStep) -> None:
    result = qualify(turn.flow, turn.state(), step.outcome)
    turn.emit(result)
    if result.outcome == "handoff":
        turn.emit(HandOff(temperature=result.temperature, score=result.score))
    elif result.outcome == "nurture":
        schedule_sequences(turn, result.outcome, result.temperature, result.target)
    else:
        turn.emit(Close(reason=close_reason(turn, result.target)))
    text = step.by_outcome.get(result.outcome, step.text)
    turn.send(turn.text(text))
    turn.finished, turn.outcome = True, result.outcome


def close_reason(turn: Turn, target: bool) -> str:
    for step_id, value in turn.answers.items():
        if value == "declined" and isinstance(turn.flow.steps.get(step_id), ConsentStep):
            return "consent_declined"
    return "not_target" if not target else "closed"


KINDS = {"end": Kind(prompt=no_prompt, enter=enter_end)}
