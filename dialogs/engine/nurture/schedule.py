"""Nurture scheduled by the engine: the sequences an outcome picks, each message rendered
when the quiz ends (kinds/end.py), and the abandoned-quiz reminder, moved while a quiz waits
(core.py, at the end of every turn)."""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import Button, Keyboard, ScheduleFollowUp, SendMessage
from dialogs.engine.turn import Turn
from dialogs.format.schema import NurtureMessage
from dialogs.rules.expressions import is_true

REMINDER = "~reminder"  # the reminder's key: one per conversation


def schedule_sequences(turn: Turn, outcome: str, temperature: str, target: bool) -> None:
    """Every sequence this outcome picks, each message rendered now (the rows keep it)."""
    if "processing" not in turn.consents:
        return
    names = turn.names() | {"temperature": temperature, "target": target, "outcome": outcome}
    nurture = turn.flow.nurture
    for sequence in turn.flow.sequences:
        if outcome not in sequence.outcomes:
            continue
        if sequence.marketing and "marketing" not in turn.consents:
            continue
        if not is_true(sequence.when, names):
            continue
        for position, message in enumerate(sequence.messages):
            turn.emit(ScheduleFollowUp(
                key=message.id, delay_seconds=message.delay_seconds,
                text=turn.text(message.text), marketing=sequence.marketing,
                sequence=sequence.id, position=position, buttons=buttons(turn, message),
                zone=nurture.timezone, quiet=nurture.quiet_hours,
                stop_on_message=nurture.stop_on_message))


def buttons(turn: Turn, message: NurtureMessage) -> Keyboard:
    flow, rows = turn.flow, []
    step = callback.NURTURE_STEP + message.id
    for option in message.question:
        rows.append((Button(text=turn.text(option.text),
                            data=callback.pack(flow.id, flow.version, step, option.id)),))
    if message.link is not None:
        rows.append((Button(text=turn.text(message.link.text), url=message.link.url),))
    if message.file is not None:
        rows.append((Button(text=turn.text(message.file.text),
                            data=callback.pack(flow.id, flow.version, step, callback.FILE)),))
    return tuple(rows)


def schedule_reminder(turn: Turn) -> None:
    """While the quiz waits for the prospect: the reminder, moved to `after` from now."""
    reminder = turn.flow.nurture.reminder
    if reminder is None or turn.finished or not any(
            isinstance(a, SendMessage) for a in turn.actions):
        return  # a stale tap, say: nothing asked again, the reminder stays where it was
    flow = turn.flow
    text = turn.text(reminder.text) if reminder.text else turn.say("reminder")
    resume = Button(text=turn.say("resume"),
                    data=callback.pack(flow.id, flow.version, turn.step_id, callback.RESUME))
    turn.emit(ScheduleFollowUp(
        key=REMINDER, delay_seconds=reminder.delay_seconds, text=text, marketing=False,
        kind="reminder", buttons=((resume,),), zone=flow.nurture.timezone,
        quiet=flow.nurture.quiet_hours))
