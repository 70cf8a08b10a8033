"""end: qualify the lead, decide the outcome (hand off, nurture, close), say goodbye."""

from __future__ import annotations

from dialogs.engine.actions import Close, HandOff, ScheduleFollowUp
from dialogs.engine.kinds.base import Kind, no_prompt
from dialogs.engine.turn import Turn
from dialogs.format.schema import ConsentStep, EndStep
from dialogs.rules.expressions import is_true
from dialogs.rules.scoring import qualify


def enter_end(turn: Turn, step: EndStep) -> None:
    result = qualify(turn.flow, turn.state(), step.outcome)
    turn.emit(result)
    if result.outcome == "handoff":
        turn.emit(HandOff(temperature=result.temperature, score=result.score))
    elif result.outcome == "nurture":
        schedule_follow_ups(turn, result.outcome, result.temperature, result.target)
    else:
        turn.emit(Close(reason=close_reason(turn, result.target)))
    text = step.by_outcome.get(result.outcome, step.text)
    turn.send(turn.text(text))
    turn.finished, turn.outcome = True, result.outcome


def schedule_follow_ups(turn: Turn, outcome: str, temperature: str, target: bool) -> None:
    if "processing" not in turn.consents:
        return
    names = turn.names() | {"temperature": temperature, "target": target, "outcome": outcome}
    for follow_up in turn.flow.follow_ups:
        if outcome not in follow_up.outcomes:
            continue
        if follow_up.marketing and "marketing" not in turn.consents:
            continue
        if is_true(follow_up.when, names):
            turn.emit(ScheduleFollowUp(key=follow_up.id, delay_seconds=follow_up.delay_seconds,
                                       text=turn.text(follow_up.text),
                                       marketing=follow_up.marketing))


def close_reason(turn: Turn, target: bool) -> str:
    for step_id, value in turn.answers.items():
        if value == "declined" and isinstance(turn.flow.steps.get(step_id), ConsentStep):
            return "consent_declined"
    return "not_target" if not target else "closed"


KINDS = {"end": Kind(prompt=no_prompt, enter=enter_end)}
