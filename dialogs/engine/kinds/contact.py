"""contact: name, phone and email, one at a time; only ever after consent.

The phone comes from Telegram's share-contact button (accepted only when the contact is the
sender's own) or typed, checked with `phonenumbers` and stored as E.164.
"""

from __future__ import annotations

from dialogs.engine import callback
from dialogs.engine.actions import ReplyKeyboard, SendMessage, SetContact
from dialogs.engine.kinds.base import Kind
from dialogs.engine.turn import Turn
from dialogs.format.schema import ContactStep
from dialogs.rules.validators import (
    example_phone,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_shared_phone,
)


def fields_of(step: ContactStep) -> list[str]:
    return [field for field in step.order if getattr(step, field) != "no"]


def enter_contact(turn: Turn, step: ContactStep) -> None:
    if "processing" not in turn.consents:  # the linter forbids this path; never collect
        turn.advance(remember=False)
        return
    turn.phase = fields_of(step)[0]
    turn.emit(prompt_contact(turn, step))


def prompt_contact(turn: Turn, step: ContactStep) -> SendMessage:
    field = turn.phase
    ask = turn.say(f"ask_{field}")
    if step.text and field == fields_of(step)[0]:
        ask = f"{turn.text(step.text)}\n\n{ask}"
    optional = getattr(step, field) == "optional"
    if field == "phone":
        keyboard = ReplyKeyboard(request_contact=turn.say("share_phone"),
                                 skip=turn.say("skip") if optional else None)
        return SendMessage(text=ask, reply_keyboard=keyboard)
    skip = ((turn.button(turn.say("skip"), callback.SKIP),),) if optional else ()
    return SendMessage(text=ask, buttons=skip + turn.back_row(), step=turn.step_id)


def text_contact(turn: Turn, step: ContactStep, text: str) -> None:
    field = turn.phase
    if field == "phone" and step.phone == "optional" and text.strip() == turn.say("skip"):
        next_field(turn, step)
        return
    value, error = {
        "name": (normalize_name, "name_invalid"),
        "phone": (lambda t: normalize_phone(t, turn.flow.phone_region), "phone_invalid"),
        "email": (normalize_email, "email_invalid"),
    }[field]
    normalized = value(text)
    if normalized is None:
        turn.send(turn.say(error, example=example_phone(turn.flow.phone_region)))
        return
    save(turn, step, field, normalized)


def contact_shared(turn: Turn, step: ContactStep, phone: str, own: bool) -> None:
    if turn.phase != "phone":
        turn.send(turn.say("contact_not_expected"))
        return
    if not own:
        turn.send(turn.say("contact_not_own"))
        return
    normalized = normalize_shared_phone(phone, turn.flow.phone_region)
    if normalized is None:
        turn.send(turn.say("phone_invalid", example=example_phone(turn.flow.phone_region)))
        return
    save(turn, step, "phone", normalized)


def tap_contact(turn: Turn, step: ContactStep, option: str) -> None:
    if option == callback.SKIP and getattr(step, turn.phase, "no") == "optional":
        turn.answer_tap()
        next_field(turn, step)
    else:
        turn.answer_tap(turn.say(f"ask_{turn.phase}"))


def save(turn: Turn, step: ContactStep, field: str, value: str) -> None:
    turn.contact[field] = value
    turn.emit(SetContact(**{field: value}))
    next_field(turn, step)


def next_field(turn: Turn, step: ContactStep) -> None:
    if turn.phase == "phone":
        turn.send(turn.say("thanks"), remove_keyboard=True)
    fields = fields_of(step)
    position = fields.index(turn.phase) + 1
    if position < len(fields):
        turn.phase = fields[position]
        turn.emit(prompt_contact(turn, step))
    else:
        turn.advance()


KINDS = {"contact": Kind(prompt=prompt_contact, enter=enter_contact, tap=tap_contact,
                         text=text_contact, contact=contact_shared)}
