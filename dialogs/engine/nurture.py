"""Nurture in the engine: the sequences scheduled at the end, the abandoned-quiz reminder
scheduled while a quiz waits, and the taps on a follow-up's buttons (the reminder's
Continue, a file, an answer to a follow-up's question that requalifies the lead)."""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import Button, HandOff, Keyboard, ScheduleFollowUp, SendMessage
from dialogs.engine.events import Tap
from dialogs.engine.turn import Turn
from dialogs.format.schema import NurtureMessage
from dialogs.rules.expressions import is_true
from dialogs.rules.scoring import qualify

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


def on_resume(turn: Turn) -> None:
    """The reminder's Continue: the question they stopped at, asked again."""
    from dialogs.engine.core import reprompt  # core routes taps here

    if turn.finished:
        turn.answer_tap(turn.say("stale_finished"))
        return
    turn.answer_tap()
    turn.send(turn.say("welcome_back"))
    reprompt(turn)


def on_nurture_tap(turn: Turn, tap: Tap) -> None:
    """A tap on a follow-up's button: its file, or an answer that requalifies the lead."""
    message = turn.flow.nurture_message(tap.step.removeprefix(callback.NURTURE_STEP))
    if message is None or not turn.finished:
        turn.answer_tap(turn.say("stale_step"))
        return
    if tap.option == callback.FILE and message.file is not None:
        turn.answer_tap()
        files = message.file.file
        name = files if isinstance(files, str) else turn.text(files)
        turn.send(turn.text(message.file.text), file=name)
        return
    option = next((o for o in message.question if o.id == tap.option), None)
    if option is None:
        turn.answer_tap(turn.say("stale_step"))
        return
    key = tap.step
    if turn.answers.get(key) == option.id:
        turn.answer_tap(turn.say("noted"))
        return
    turn.answer_tap()
    turn.record(option.id, turn.label(option.text), step_id=key)
    result = qualify(turn.flow, turn.state())
    turn.emit(result)
    if result.outcome == "handoff" and turn.outcome != "handoff":
        turn.emit(HandOff(temperature=result.temperature, score=result.score))
        turn.outcome = "handoff"
        turn.send(turn.say("nurture_hot"))
    else:
        turn.send(turn.say("nurture_thanks"))
