"""single_choice and multiple_choice: buttons; multiple choice toggles, then "done"."""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import EditMessage, SendMessage
from dialogs.engine.kinds.base import Kind, rows
from dialogs.engine.kinds.typed import text_choice
from dialogs.engine.turn import Turn
from dialogs.format.schema import MultipleChoiceStep, SingleChoiceStep
from dialogs.rules.scoring import option_of


def prompt_single(turn: Turn, step: SingleChoiceStep) -> SendMessage:
    buttons = [turn.button(turn.text(o.text), o.id) for o in step.options]
    return SendMessage(text=turn.text(step.text),
                       buttons=rows(buttons, step.columns) + turn.back_row(), step=turn.step_id)


def tap_single(turn: Turn, step: SingleChoiceStep, option_id: str) -> None:
    option = option_of(step, option_id)
    if option is None:
        turn.answer_tap(turn.say("use_buttons"))
        return
    question = turn.text(step.text)
    turn.answer_tap()
    turn.record(option.id, turn.label(option.text))
    turn.show_chosen(question, turn.text(option.text))
    turn.advance(option.next)


def prompt_multiple(turn: Turn, step: MultipleChoiceStep) -> SendMessage:
    marked = [turn.button(("✓ " if o.id in turn.selected else "") + turn.text(o.text), o.id)
              for o in step.options]
    done = turn.text(step.done) if step.done else turn.say("done")
    keyboard = rows(marked, step.columns) + ((turn.button(done, callback.DONE),),)
    return SendMessage(text=turn.text(step.text), buttons=keyboard + turn.back_row(),
                       step=turn.step_id)


def tap_multiple(turn: Turn, step: MultipleChoiceStep, option_id: str) -> None:
    if option_id == callback.DONE:
        finish_multiple(turn, step)
        return
    if option_of(step, option_id) is None:
        turn.answer_tap(turn.say("use_buttons_multi"))
        return
    if option_id in turn.selected:
        turn.selected.remove(option_id)
    elif step.max is not None and len(turn.selected) >= step.max:
        turn.answer_tap(turn.say("pick_at_most", max=step.max), alert=True)
        return
    else:
        turn.selected.append(option_id)
    shown = prompt_multiple(turn, step)
    turn.emit(EditMessage(step=turn.step_id, text=shown.text, buttons=shown.buttons))
    turn.answer_tap()


def finish_multiple(turn: Turn, step: MultipleChoiceStep) -> None:
    if len(turn.selected) < step.min:
        turn.answer_tap(turn.say("pick_at_least", min=step.min), alert=True)
        return
    chosen = tuple(o.id for o in step.options if o.id in turn.selected)
    question = turn.text(step.text)
    labels = [o.text for o in step.options if o.id in chosen]
    turn.answer_tap()
    turn.record(chosen, ", ".join(turn.label(t) for t in labels) or turn.say("skipped"))
    shown = ", ".join(turn.text(t) for t in labels) or turn.say("skipped")
    turn.selected = []
    turn.show_chosen(question, shown)
    turn.advance()


def text_single(turn: Turn, step: SingleChoiceStep, text: str) -> None:
    text_choice(turn, step, text, KINDS["single_choice"])


def text_multiple(turn: Turn, step: MultipleChoiceStep, text: str) -> None:
    text_choice(turn, step, text, KINDS["multiple_choice"])


KINDS = {
    "single_choice": Kind(prompt=prompt_single, tap=tap_single, text=text_single),
    "multiple_choice": Kind(prompt=prompt_multiple, tap=tap_multiple, text=text_multiple,
                            reminder="use_buttons_multi"),
}
