"""Typed answers (docs/typed.md): text a prospect types where the step has buttons, read by
dialogs.typed.understand. An option is recorded exactly as a tap would be (with what was
typed kept on the answer); two close candidates get a "did you mean" with both as buttons;
an FAQ question is answered, then the same question is asked again; anything else gets the
reminder, and text that looks like something said is kept (masked) for the marketer.

Number steps ask the FAQ only when the text is not a number; free text never does (the text
is its answer)."""

from __future__ import annotations

import re
from collections.abc import Callable

from dialogs.engine.actions import Button, FaqHit, Unmatched
from dialogs.engine.kinds.base import Kind, remind
from dialogs.engine.turn import Turn
from dialogs.format.schema import MultipleChoiceStep, SingleChoiceStep, Step
from dialogs.rules.scoring import option_of
from dialogs.typed import Understood, mask, understand
from dialogs.typed.buttons import pressed

MAX_KEPT = 500  # characters of an unmatched text kept for the marketer
_WORD = re.compile(r"\w+")


def typed_note(text: str, understood: Understood) -> str:
    """What is kept on the answer: '"двушка" -> two_rooms (synonym)' (masked, short)."""
    said = mask(" ".join(text.split()))[:120]
    return f'"{said}" -> {", ".join(understood.options)} ({understood.how})'


def text_choice(turn: Turn, step: Step, text: str, kind: Kind) -> None:
    understood = understand(turn.flow, turn.step_id, text, turn.language)
    if understood.kind == "option" and understood.options:
        if isinstance(step, MultipleChoiceStep):
            _choose_many(turn, step, text, understood, kind)
        elif isinstance(step, SingleChoiceStep):
            _choose_one(turn, step, text, understood, kind)
    elif understood.kind == "ambiguous" and len(understood.options) >= 2:
        did_you_mean(turn, step, understood.options)
    elif not answer_faq(turn, understood):
        unmatched(turn, text)
        remind(turn, kind)


def _choose_one(turn: Turn, step: SingleChoiceStep, text: str, understood: Understood,
                kind: Kind) -> None:
    option = option_of(step, understood.options[0])
    if option is None:  # the matcher's contract says it cannot be; stay polite anyway
        remind(turn, kind)
        return
    question = turn.text(step.text)
    turn.record(option.id, turn.label(option.text), typed=typed_note(text, understood))
    turn.show_chosen(question, turn.text(option.text))
    turn.advance(option.next)


def _choose_many(turn: Turn, step: MultipleChoiceStep, text: str, understood: Understood,
                 kind: Kind) -> None:
    """As if each were tapped, then "Done": the typed ones join any already ticked."""
    wanted = set(turn.selected) | set(understood.options)
    chosen = tuple(o.id for o in step.options if o.id in wanted)
    if step.max is not None and len(chosen) > step.max:
        turn.send(turn.say("pick_at_most", max=step.max))
        remind(turn, kind)
        return
    if len(chosen) < step.min:
        turn.selected = list(chosen)
        turn.send(turn.say("pick_at_least", min=step.min))
        remind(turn, kind)
        return
    question = turn.text(step.text)
    labels = [o.text for o in step.options if o.id in chosen]
    turn.record(chosen, ", ".join(turn.label(t) for t in labels),
                typed=typed_note(text, understood))
    turn.selected = []
    turn.show_chosen(question, ", ".join(turn.text(t) for t in labels))
    turn.advance()


def did_you_mean(turn: Turn, step: Step, candidates: tuple[str, ...]) -> None:
    """The two candidates as the step's own option buttons: a tap is an ordinary tap."""
    buttons = []
    for option_id in candidates[:2]:
        option = option_of(step, option_id)  # type: ignore[arg-type]
        if option is not None:
            buttons.append((turn.button(turn.text(option.text), option.id),))
    turn.send(turn.say("did_you_mean"), buttons=tuple(buttons) + turn.back_row(),
              step=turn.step_id)


def answer_faq(turn: Turn, understood: Understood) -> bool:
    """The FAQ entry's answer (its link as a button, its file attached), then the same
    question again. False when `understood` is not an FAQ hit of this flow."""
    if understood.kind != "faq" or understood.faq is None:
        return False
    entry = next((e for e in turn.flow.faq if e.id == understood.faq), None)
    if entry is None:
        return False
    link = ((Button(text=turn.text(entry.link.text), url=entry.link.url),),) if entry.link else ()
    turn.send(turn.text(entry.answer), buttons=link,
              file=turn.text(entry.file) if entry.file else None)
    turn.emit(FaqHit(step=turn.step_id, entry=entry.id))
    turn.reprompt()
    return True


def faq_at(turn: Turn, text: str) -> bool:
    """At a step without options (a number): answered from the FAQ if it is a question."""
    if not turn.flow.faq:
        return False
    return answer_faq(turn, understand(turn.flow, turn.step_id, text, turn.language))


def said_something(text: str) -> bool:
    """Worth keeping for the marketer: two words or more, or a question ("ok", "да" are not)."""
    return len(_WORD.findall(text)) >= 2 or text.strip().endswith("?")


def unmatched(turn: Turn, text: str) -> None:
    if said_something(text):
        turn.emit(Unmatched(step=turn.step_id, text=mask(text.strip())[:MAX_KEPT],
                            language=turn.language))


def press(turn: Turn, text: str, kind: Kind, buttons: dict[str, list[str]],
          tap: Callable[[str], None]) -> None:
    """A step whose buttons are not options (a message's, the consent's): the button the
    text presses (dialogs/typed/buttons.py) is tapped; otherwise the FAQ, or the reminder
    (the text kept if it looks like something said)."""
    button = pressed(text, buttons)
    if button is not None:
        tap(button)
    elif not answer_faq(turn, understand(turn.flow, turn.step_id, text, turn.language)):
        unmatched(turn, text)
        remind(turn, kind)


def labels(text: dict[str, str] | None) -> list[str]:
    """A button's label in every language of the flow."""
    return list(text.values()) if text else []
