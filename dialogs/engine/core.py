"""The engine: `step(flow, state, event) -> (new state, actions)`, pure and total.

No I/O and no exceptions for anything a prospect can do: bad input gets a polite answer
in the prospect's language, a stale or repeated tap is recognised and changes nothing.

Routes each event to its handler, and wires the Turn's hooks (kinds/: entering a step,
asking its question again). Nothing in the engine imports this module.
"""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import Action, SendMessage
from dialogs.engine.events import (
    Back,
    ChangeLanguage,
    ContactShared,
    Event,
    OtherMessage,
    Restart,
    Start,
    Tap,
    TextMessage,
)
from dialogs.engine.kinds import KINDS, enter_step, remind, reprompt
from dialogs.engine.nurture.schedule import schedule_reminder
from dialogs.engine.nurture.taps import on_nurture_tap, on_resume
from dialogs.engine.state import State
from dialogs.engine.texts import SUPPORTED_LANGUAGES
from dialogs.engine.turn import Turn
from dialogs.format.schema import Flow

Result = tuple[State, list[Action]]


def step(flow: Flow, state: State | None, event: Event) -> Result:
    if state is None:
        start = event if isinstance(event, Start) else Start(user_id=0)
        return begin(flow, start, None)
    if isinstance(event, Start):
        if state.flow_id == flow.id and not state.finished:
            return resume(flow, state)
        return begin(flow, event, state)
    if isinstance(event, Restart):  # on the flow given: a restart moves to its latest version
        return begin(flow, Start(user_id=state.user_id, source=state.source, seed=state.seed),
                     state, language=state.language)
    if (state.flow_id, state.flow_version) != (flow.id, flow.version):
        # A transport bug, not prospect input: a conversation is pinned to its flow version.
        raise ValueError(f"state of {state.flow_id} v{state.flow_version} given with flow "
                         f"{flow.id} v{flow.version}")
    turn = _turn(flow, state)
    ROUTES[type(event)](turn, event)
    return close_turn(turn)


def begin(flow: Flow, event: Start, previous: State | None, language: str | None = None) -> Result:
    """A new conversation; consents already given (same prospect) to the same company
    carry over: the ones the transport found in force (`event.consents`), else the previous
    conversation's when its company is this flow's. Another company asks its own."""
    operator = flow.operator.key
    consents = event.consents if event.consents is not None else (
        previous.consents if previous is not None and previous.operator == operator else {})
    state = State(
        flow_id=flow.id, flow_version=flow.version, user_id=event.user_id,
        language=language or pick_language(flow, event.language_code), step=flow.start,
        consents=consents, operator=operator,
        source=event.source, seed=event.seed or str(event.user_id))
    turn = _turn(flow, state)
    turn.enter(flow.start)
    return close_turn(turn, keyboard_open=previous is not None and previous.phase == "phone")


def resume(flow: Flow, state: State) -> Result:
    turn = _turn(flow, state)
    turn.send(turn.say("welcome_back"))
    reprompt(turn)
    return close_turn(turn)


def pick_language(flow: Flow, code: str | None) -> str:
    """Telegram's language_code (`uk`, `en-US`, `ru`) -> a language of the flow."""
    primary = (code or "").lower().replace("_", "-").split("-")[0]
    return primary if primary in flow.languages else flow.language


def _turn(flow: Flow, state: State) -> Turn:
    return Turn(flow, state, enter_step, reprompt)


def close_turn(turn: Turn, keyboard_open: bool | None = None) -> Result:
    """Whatever happened, a reply keyboard left open by the phone question is closed; a
    quiz still waiting has its reminder moved to `after` from now."""
    schedule_reminder(turn)
    if keyboard_open is None:
        keyboard_open = turn.original.phase == "phone"
    if keyboard_open and turn.phase != "phone" and not any(
            isinstance(a, SendMessage) and (a.remove_keyboard or a.reply_keyboard)
            for a in turn.actions):
        position = next((i for i, a in enumerate(turn.actions) if isinstance(a, SendMessage)),
                        len(turn.actions))
        turn.actions.insert(position, SendMessage(text=turn.say("keyboard_closed"),
                                                  remove_keyboard=True))
    return turn.state(), turn.actions


def on_tap(turn: Turn, tap: Tap) -> None:
    flow, state = turn.flow, turn.original
    ours = (tap.flow_id, tap.flow_version) == (flow.id, flow.version)
    if ours and tap.option == callback.RESUME:
        on_resume(turn)
    elif ours and tap.step.startswith(callback.NURTURE_STEP):
        on_nurture_tap(turn, tap)
    elif not ours:
        turn.answer_tap(turn.say("stale_version"))
        reprompt(turn)
    elif state.finished:
        turn.answer_tap(turn.say("stale_finished"))
    elif tap.option == callback.BACK and tap.step == state.step:
        turn.answer_tap()
        on_back(turn, Back())
    elif tap.step != state.step:
        repeated = state.answers.get(tap.step) == tap.option
        turn.answer_tap(turn.say("noted" if repeated else "stale_step"))
    else:
        handler = KINDS[turn.step.kind].tap
        if handler is None:
            turn.answer_tap()
        else:
            handler(turn, turn.step, tap.option)


def on_text(turn: Turn, message: TextMessage) -> None:
    if turn.finished:
        turn.send(turn.say("finished_hint"))
        return
    kind = KINDS[turn.step.kind]
    if kind.text is None:
        remind(turn, kind)
    elif message.forwarded and turn.step.kind == "contact" and turn.phase == "name":
        turn.send(turn.say("name_forwarded"))  # someone else's words are not their name
    elif message.forwarded and turn.step.kind == "consent":
        remind(turn, kind)  # someone else's "I agree" is not the prospect's consent
    else:
        kind.text(turn, turn.step, message.text)


def on_contact(turn: Turn, shared: ContactShared) -> None:
    kind = KINDS[turn.step.kind]
    own = shared.contact_user_id is not None and shared.contact_user_id == shared.sender_user_id
    if turn.finished or kind.contact is None:
        turn.send(turn.say("finished_hint" if turn.finished else "contact_not_expected"))
        return
    kind.contact(turn, turn.step, shared.phone, own)


def on_other(turn: Turn, message: OtherMessage) -> None:
    if turn.finished:
        turn.send(turn.say("finished_hint"))
        return
    remind(turn, KINDS[turn.step.kind], prefix="media_not_expected")


def on_back(turn: Turn, _: Back) -> None:
    if turn.finished:
        turn.send(turn.say("finished_hint"))
        return
    if not turn.flow.allow_back or not turn.history:
        turn.send(turn.say("nothing_back"))
        return
    target = turn.history.pop()
    turn.forget_answer(turn.step_id)
    turn.forget_answer(target)
    turn.enter(target)


def on_language(turn: Turn, change: ChangeLanguage) -> None:
    language = change.language.lower()
    if language not in turn.flow.languages or language not in SUPPORTED_LANGUAGES:
        turn.send(turn.say("language_unavailable", languages=", ".join(turn.flow.languages)))
        return
    turn.language = language
    turn.send(turn.say("language_changed"))
    reprompt(turn)


ROUTES = {Tap: on_tap, TextMessage: on_text, ContactShared: on_contact,
          OtherMessage: on_other, Back: on_back, ChangeLanguage: on_language}
