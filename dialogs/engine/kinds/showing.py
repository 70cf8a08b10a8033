"""message, calculator and reward: the bot speaks, then the flow goes on by itself
(a message with a `button` waits for the tap)."""

from __future__ import annotations

import base64
import hashlib
import math

from dialogs.engine import callback
from dialogs.engine.actions import Button, GiveReward, SendMessage
from dialogs.engine.kinds.base import Kind, no_prompt, remind
from dialogs.engine.kinds.typed import labels, press
from dialogs.engine.turn import Turn
from dialogs.format.schema import CalculatorStep, MessageStep, RewardStep
from dialogs.rules.expressions import ExpressionError, evaluate
from dialogs.typed.buttons import GO


def prompt_message(turn: Turn, step: MessageStep) -> SendMessage:
    links = tuple((Button(text=turn.text(link.text), url=link.url),) for link in step.links)
    go = ((turn.button(turn.text(step.button), callback.CONTINUE),),) if step.button else ()
    return SendMessage(text=turn.text(step.text), buttons=links + go + (
        turn.back_row() if step.button else ()),
        file=turn.text(step.file) if step.file else None, step=turn.step_id)


def enter_message(turn: Turn, step: MessageStep) -> None:
    turn.emit(prompt_message(turn, step))
    if not step.button:
        turn.advance(remember=False)


def tap_message(turn: Turn, step: MessageStep, option: str) -> None:
    if option != callback.CONTINUE or not step.button:
        turn.answer_tap()
        return
    turn.answer_tap()
    turn.advance()


def text_message(turn: Turn, step: MessageStep, text: str) -> None:
    """«Начать», "next" typed under a message's button taps it (docs/typed.md)."""
    if not step.button:
        remind(turn, KINDS["message"])
        return
    press(turn, text, KINDS["message"], {callback.CONTINUE: [*labels(step.button), *GO]},
          lambda option: tap_message(turn, step, option))


def enter_calculator(turn: Turn, step: CalculatorStep) -> None:
    try:
        value = float(evaluate(step.formula, turn.names()))
    except (ExpressionError, TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        turn.send(turn.say("calc_failed"))
        turn.advance(remember=False)
        return
    name = step.save_as
    turn.results[name] = rounded(value, step.round_to)
    turn.results[f"{name}_low"] = rounded(value * step.range.low, step.round_to)
    turn.results[f"{name}_high"] = rounded(value * step.range.high, step.round_to)
    turn.send(turn.text(step.text))
    turn.advance(remember=False)


def rounded(value: float, step: float) -> float:
    return float(round(value / step) * step)


def enter_reward(turn: Turn, step: RewardStep) -> None:
    discount = turn.facts().discount
    code = reward_code(turn, step.code.prefix, discount) if step.code else None
    file = turn.text(step.file) if step.file else None
    turn.emit(GiveReward(step=turn.step_id, code=code, file=file,
                         url=step.link.url if step.link else None, discount=discount))
    links = ((Button(text=turn.text(step.link.text), url=step.link.url),),) if step.link else ()
    turn.send(turn.text(step.text, code=code or ""), buttons=links, file=file)
    turn.advance(remember=False)


def reward_code(turn: Turn, prefix: str, discount: float) -> str:
    """Same prospect, same conversation -> same code; the seed makes it unguessable."""
    state = turn.original
    digest = hashlib.sha256(f"{turn.flow.id}:{state.user_id}:{state.seed}".encode()).digest()
    suffix = base64.b32encode(digest).decode()[:6]
    return f"{prefix}{int(discount)}-{suffix}"


KINDS = {
    "message": Kind(prompt=prompt_message, enter=enter_message, tap=tap_message,
                    text=text_message),
    "calculator": Kind(prompt=no_prompt, enter=enter_calculator),
    "reward": Kind(prompt=no_prompt, enter=enter_reward),
}
