"""The taps on a follow-up's buttons, routed here by core.py: the reminder's Continue (the
question they stopped at, asked again through the turn's reprompt hook), a sequence
message's file, and an answer to a follow-up's question that requalifies the lead."""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import HandOff
from dialogs.engine.events import Tap
from dialogs.engine.turn import Turn
from dialogs.rules.scoring import qualify


def on_resume(turn: Turn) -> None:
    """The reminder's Continue: the question they stopped at, asked again."""
    if turn.finished:
        turn.answer_tap(turn.say("stale_finished"))
        return
    turn.answer_tap()
    turn.send(turn.say("welcome_back"))
    turn.reprompt()


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
