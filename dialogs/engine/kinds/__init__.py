"""Step kinds, dispatched by a dict keyed by the `kind` written in the flow file:
`enter_step` and `reprompt`, the hooks core.py gives every Turn."""

from __future__ import annotations

from dialogs.engine.kinds import choice, consent, contact, end, inputs, showing
from dialogs.engine.kinds.base import Kind, remind
from dialogs.engine.turn import Turn
from dialogs.format.schema import Step

KINDS: dict[str, Kind] = {
    **choice.KINDS, **inputs.KINDS, **contact.KINDS, **consent.KINDS, **showing.KINDS,
    **end.KINDS,
}


def enter_step(turn: Turn, step: Step) -> None:
    kind = KINDS[step.kind]
    if kind.enter is not None:
        kind.enter(turn, step)
        return
    prompt = kind.prompt(turn, step)
    if prompt is not None:
        turn.emit(prompt)


def reprompt(turn: Turn) -> None:
    if turn.finished:
        return
    prompt = KINDS[turn.step.kind].prompt(turn, turn.step)
    if prompt is not None:
        turn.emit(prompt)


__all__ = ["KINDS", "Kind", "enter_step", "remind", "reprompt"]
