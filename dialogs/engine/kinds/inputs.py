"""free_text and number: the prospect types the answer."""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import SendMessage
from dialogs.engine.kinds.base import Kind
from dialogs.engine.kinds.typed import faq_at, unmatched
from dialogs.engine.texts import engine_text
from dialogs.engine.turn import Turn
from dialogs.format.schema import FreeTextStep, NumberStep
from dialogs.rules.validators import Ambiguous, format_number, parse_number, parse_range


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
    reading = parse_number(text, turn.language)
    if reading is None and step.range and _range(turn, step, text):
        return
    if reading is None and faq_at(turn, text):
        return
    if isinstance(reading, Ambiguous):
        fitting = [v for v in (reading.thousands, reading.decimal) if not _unfit(step, v)]
        if len(fitting) == 2:  # both would do: only the prospect knows
            turn.send(turn.say("number_which", whole=f"{reading.thousands:.0f}",
                               fraction=format_number(reading.decimal, turn.language)))
            return
        reading = fitting[0] if fitting else reading.thousands
    example = format_number(step.min if step.min and step.min > 0 else 10, turn.language)
    if reading is None:
        unmatched(turn, text)
        turn.send(turn.say("number_invalid", example=example))
        return
    problem = _unfit(step, reading)
    if problem == "number_whole":
        turn.send(turn.say("number_whole", example=example))
    elif problem:
        low = format_number(step.min, turn.language) if step.min is not None else None
        high = format_number(step.max, turn.language) if step.max is not None else None
        turn.send(turn.say(problem, min=low, max=high))
    else:
        turn.record(reading, turn.answer_label(turn.step_id, reading, turn.flow.language))
        turn.advance()


def _range(turn: Turn, step: NumberStep, text: str) -> bool:
    """A range at a `range: true` step ("от 50 до 70", "50-70"): its middle recorded, the
    range shown on the label. False when the text is not a range or does not fit the step
    (the single-number path then says why)."""
    found = parse_range(text, turn.language)
    if found is None:
        return False
    low, high = sorted(found)
    middle = (low + high) / 2
    if step.integer and not middle.is_integer():
        middle = float(round(middle))
    if _unfit(step, low) or _unfit(step, high) or _unfit(step, middle):
        return False
    unit = f" {turn.label(step.unit)}" if step.unit else ""
    label = engine_text("range_label", turn.flow.language,
                        low=format_number(low, turn.flow.language),
                        high=format_number(high, turn.flow.language)) + unit
    turn.record(middle, label)
    turn.advance()
    return True


def _unfit(step: NumberStep, value: float) -> str | None:
    """Why `value` will not do for `step` (the engine text's key), or None."""
    if step.integer and not value.is_integer():
        return "number_whole"
    low = step.min is not None and value < step.min
    high = step.max is not None and value > step.max
    if low or high:
        if step.min is not None and step.max is not None:
            return "number_range"
        return "number_min" if low else "number_max"
    return None


def tap_typed(turn: Turn, step: NumberStep, option: str) -> None:
    turn.answer_tap(turn.say("need_text"))


KINDS = {
    "free_text": Kind(prompt=prompt_free_text, text=text_free_text, tap=tap_free_text,
                      reminder="need_text"),
    "number": Kind(prompt=prompt_number, text=text_number, tap=tap_typed,
                   reminder="number_invalid"),
}
