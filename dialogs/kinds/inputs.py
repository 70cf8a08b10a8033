"""free_text and number: the prospect types the answer."""

from __future__ import annotations

from dialogs import callback
from dialogs.actions import SendMessage
from dialogs.kinds.base import Kind
from dialogs.schema import FreeTextStep, NumberStep
from dialogs.turn import Turn
from dialogs.validators import format_number, parse_number


def prompt_free_text(turn: Turn, step: FreeTextStep) -> SendMessage:
    skip = ((turn.button(turn.say("skip"), callback.SKIP),),) if step.optional else ()
    return SendMessage(text=turn.text(step.text), buttons=skip + turn.back_row(),
                       step=turn.step_id)


def text_free_text(turn: Turn, step: FreeTextStep, text: str) -> None:
    answer = text.strip()
    if len(answer) < step.min_length:
        turn.send(turn.say("text_too_short", min=step.min_length))
    elif len(answer) > step.max_length:
        turn.send(turn.say("text_too_long", max=step.max_length))
    else:
        turn.record(answer, answer)
        turn.advance()


def tap_free_text(turn: Turn, step: FreeTextStep, option: str) -> None:
    if option != callback.SKIP or not step.optional:
        turn.answer_tap(turn.say("need_text"))
        return
    turn.answer_tap()
    turn.record(None, turn.say("skipped"))
    turn.advance()


def prompt_number(turn: Turn, step: NumberStep) -> SendMessage:
    return SendMessage(text=turn.text(step.text), buttons=turn.back_row(), step=turn.step_id)


def text_number(turn: Turn, step: NumberStep, text: str) -> None:
    value = parse_number(text)
    example = format_number(step.min if step.min and step.min > 0 else 10, turn.language)
    low = format_number(step.min, turn.language) if step.min is not None else None
    high = format_number(step.max, turn.language) if step.max is not None else None
    if value is None:
        turn.send(turn.say("number_invalid", example=example))
    elif step.integer and not value.is_integer():
        turn.send(turn.say("number_whole", example=example))
    elif (step.min is not None and value < step.min) or (step.max is not None
                                                          and value > step.max):
        key = "number_range" if low and high else ("number_min" if low else "number_max")
        turn.send(turn.say(key, min=low, max=high))
    else:
        turn.record(value, turn.answer_label(turn.step_id, value, turn.flow.language))
        turn.advance()


def tap_typed(turn: Turn, step: NumberStep, option: str) -> None:
    turn.answer_tap(turn.say("need_text"))


KINDS = {
    "free_text": Kind(prompt=prompt_free_text, text=text_free_text, tap=tap_free_text,
                      reminder="need_text"),
    "number": Kind(prompt=prompt_number, text=text_number, tap=tap_typed,
                   reminder="number_invalid"),
}
