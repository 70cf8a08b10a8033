"""consent: its own message and buttons, then a separate marketing opt-in, off unless chosen.

The ledger gets the policy version and a SHA-256 of the exact text shown (GDPR Art. 7(1):
consent must be demonstrable). A prospect who declines goes to `declined`, nothing stored.
"""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import Button, RecordConsent, SendMessage
from dialogs.engine.kinds.base import Kind
from dialogs.engine.kinds.typed import labels, press
from dialogs.engine.turn import Turn
from dialogs.format.schema import ConsentStep
from dialogs.typed.buttons import AGREE, DECLINE, NO, YES


def enter_consent(turn: Turn, step: ConsentStep) -> None:
    if turn.consents.get("processing") == step.policy_version:
        if step.marketing and "marketing" not in turn.consents:
            turn.phase = "marketing"
            turn.emit(prompt_consent(turn, step))
        else:
            turn.advance(remember=False)
        return
    turn.emit(prompt_consent(turn, step))


def prompt_consent(turn: Turn, step: ConsentStep) -> SendMessage:
    if turn.phase == "marketing" and step.marketing:
        offer = step.marketing
        keyboard = ((turn.button(turn.text(offer.accept), callback.MARKETING_YES),),
                    (turn.button(turn.text(offer.decline), callback.MARKETING_NO),))
        return SendMessage(text=turn.text(offer.text), buttons=keyboard, step=turn.step_id)
    keyboard = ((turn.button(turn.text(step.accept), callback.ACCEPT),),
                (turn.button(turn.text(step.decline), callback.DECLINE),),
                (Button(text=turn.say("policy"), url=step.policy_url),))
    return SendMessage(text=shown_text(turn, step), buttons=keyboard + turn.back_row(),
                       step=turn.step_id)


def shown_text(turn: Turn, step: ConsentStep) -> str:
    return turn.text(step.text, policy_url=step.policy_url)


def tap_consent(turn: Turn, step: ConsentStep, option: str) -> None:
    expected = ((callback.MARKETING_YES, callback.MARKETING_NO) if turn.phase == "marketing"
                else (callback.ACCEPT, callback.DECLINE))
    if option not in expected:
        turn.answer_tap(turn.say("use_buttons"))
        return
    turn.answer_tap()
    if option == callback.ACCEPT:
        grant(turn, step, "processing", shown_text(turn, step))
        turn.record("accepted", turn.label(step.accept))
        turn.show_chosen(shown_text(turn, step), turn.text(step.accept))
        if step.marketing and "marketing" not in turn.consents:
            turn.phase = "marketing"
            turn.emit(prompt_consent(turn, step))
        else:
            turn.advance(remember=False)
    elif option == callback.DECLINE:
        turn.record("declined", turn.label(step.decline))
        turn.show_chosen(shown_text(turn, step), turn.text(step.decline))
        turn.history.append(turn.step_id)
        turn.enter(step.declined)
    else:
        offer = step.marketing
        assert offer is not None
        chosen = offer.accept if option == callback.MARKETING_YES else offer.decline
        if option == callback.MARKETING_YES:
            grant(turn, step, "marketing", turn.text(offer.text))
        turn.show_chosen(turn.text(offer.text), turn.text(chosen))
        turn.advance(remember=False)


def grant(turn: Turn, step: ConsentStep, purpose: str, text: str) -> None:
    turn.consents[purpose] = step.policy_version
    turn.emit(RecordConsent(purpose=purpose, granted=True, policy_version=step.policy_version,
                            text_sha256=turn.text_hash(text), language=turn.language,
                            step=turn.step_id, operator=turn.flow.operator.key))


def text_consent(turn: Turn, step: ConsentStep, text: str) -> None:
    """«Согласен», "I agree", «нет» typed: the button they name is tapped, never a guess
    (dialogs/typed/buttons.py: a negated text never agrees). A forwarded message never
    reaches here (core.py): someone else's words are no consent."""
    if turn.phase == "marketing" and step.marketing:
        offer = step.marketing
        buttons = {callback.MARKETING_YES: [*labels(offer.accept), *YES],
                   callback.MARKETING_NO: [*labels(offer.decline), *NO]}
    else:
        buttons = {callback.ACCEPT: [*labels(step.accept), *AGREE],
                   callback.DECLINE: [*labels(step.decline), *DECLINE]}
    press(turn, text, KINDS["consent"], buttons, lambda option: tap_consent(turn, step, option))


KINDS = {"consent": Kind(prompt=prompt_consent, enter=enter_consent, tap=tap_consent,
                         text=text_consent)}
