"""What every step kind provides: its prompt, and what it does with taps, text and contacts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dialogs.engine.actions import Button, SendMessage
from dialogs.engine.turn import Turn
from dialogs.format.schema import Step


@dataclass(frozen=True)
class Kind:
    prompt: Callable[[Turn, Step], SendMessage | None]
    enter: Callable[[Turn, Step], None] | None = None  # default: send the prompt and wait
    tap: Callable[[Turn, Step, str], None] | None = None
    text: Callable[[Turn, Step, str], None] | None = None
    contact: Callable[[Turn, Step, str, bool], None] | None = None
    reminder: str = "use_buttons"  # engine text said when the input does not fit


def no_prompt(turn: Turn, step: Step) -> None:
    """Steps that never wait for the prospect have nothing to ask again."""
    return None


def rows(buttons: Sequence[Button], columns: int) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i:i + columns]) for i in range(0, len(buttons), columns))


def remind(turn: Turn, kind: Kind, prefix: str | None = None) -> None:
    """A polite word about what is expected, with the step's buttons again."""
    prompt = kind.prompt(turn, turn.step)
    words = [turn.say(prefix)] if prefix else []
    key = contact_reminder(turn) if turn.step.kind == "contact" else kind.reminder
    words.append(turn.say(key, **reminder_values(turn)))
    if prompt is None:
        turn.send("\n".join(words))
        return
    turn.send("\n".join(words), buttons=prompt.buttons, reply_keyboard=prompt.reply_keyboard,
              step=turn.step_id if prompt.buttons else None)


def contact_reminder(turn: Turn) -> str:
    return {"name": "ask_name", "phone": "ask_phone", "email": "ask_email"}.get(
        turn.phase, "use_buttons")


def reminder_values(turn: Turn) -> dict[str, object]:
    step = turn.step
    minimum = getattr(step, "min", None)
    example = minimum if isinstance(minimum, int | float) and minimum > 0 else 10
    return {"example": f"{example:g}" if isinstance(example, float) else example}
