"""What one recipient is sent: the text in their language (or the fallback) with `{name}`
filled, the buttons as inline keyboard rows, and the buttons' callback data `bc:<id>:<index>`.

The bot adds the rest: the unsubscribe footer (`to_plain` puts it after a blank line, as
the checks count it) and the Unsubscribe button under these rows (bot/service/rights.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dialogs.broadcasts.markup import escape, parse_html
from dialogs.broadcasts.schema import Message
from dialogs.engine.texts import fill, pick
from dialogs.rules.expressions import Record, is_true

NAME = "name"  # the one placeholder: the lead's name, else a neutral word
# "Привет, {name}!" for someone who never gave a name
UNNAMED = {"ru": "друг", "uk": "друже", "en": "friend"}
PREFIX = "bc"  # flows' button data has four parts (dialogs/engine/callback.py), this three
FOOTER_SEPARATOR = "\n\n"  # between the text and the unsubscribe footer
MAX_BROADCAST_ID = 9_999_999_999  # ten digits: the data stays far below Telegram's 64 bytes
LARGEST_ID = 2**31 - 1  # the largest id the database's integer holds: anything past it in a
# tap's data or a link's token was made up (PostgreSQL would refuse to look it up)


def language_of(message: Message, language: str) -> str:
    """The prospect's language if the message has it, else the fallback, else its first."""
    if language in message.text:
        return language
    if message.fallback in message.text:
        return message.fallback  # type: ignore[return-value]
    return next(iter(message.text))


def render(message: Message, language: str, name: str | None,
           unnamed: Mapping[str, str] = UNNAMED) -> tuple[str, str]:
    """(the text as HTML, the language it is in). `name`: the lead's, escaped into the HTML;
    none: the neutral word of that language (`unnamed`)."""
    used = language_of(message, language)
    word = escape(name) if name else escape(unnamed.get(used) or unnamed.get("en") or "")
    return fill(message.text[used], {NAME: word}), used


def to_plain(text: str, footer: str = "") -> tuple[str, list[dict[str, Any]]]:
    """A rendered text as the outbox sends every text: plain words and Bot API entities (no
    parse_mode), the footer after a blank line. The text passed the checks (checks.py), so
    its markup parses; should it not, Telegram is sent the words without the markup."""
    parsed = parse_html(text)
    plain = f"{parsed.text}{FOOTER_SEPARATOR}{footer}" if footer else parsed.text
    return plain, parsed.entities


def keyboard(broadcast_id: int, message: Message, language: str,
             link: Callable[[int], str] | None = None) -> list[list[dict[str, str]]]:
    """inline_keyboard rows, one button a row: a link as a url button (`link` given: the
    address, by the button's index, that counts the tap and leads on to it), the others
    tapped back to the bot. Without the Unsubscribe button (the bot adds it)."""
    rows = []
    for index, button in enumerate(message.buttons):
        text = pick(button.text, language, message.fallback or "")
        if button.url is not None:
            rows.append([{"text": text, "url": link(index) if link else button.url}])
        else:
            rows.append([{"text": text, "callback_data": pack(broadcast_id, index)}])
    return rows


def pack(broadcast_id: int, index: int) -> str:
    return f"{PREFIX}:{broadcast_id}:{index}"


def unpack(data: str) -> tuple[int, int] | None:
    """(broadcast id, button index) from a tap's data, or None if it is not a broadcast's."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    if not all(p.isascii() and p.isdigit() and len(p) <= 10 for p in parts[1:]):
        return None
    if int(parts[1]) > LARGEST_ID:
        return None
    return int(parts[1]), int(parts[2])


def answer_names(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The names a segment's `answers:` expression sees: each step id (an option id, a list
    of them, a number or a text), and `answers` for ids that are not names
    (`answers['kitchen-size']`)."""
    names = {step: value for step, value in answers.items() if step.isidentifier()}
    return {**names, "answers": Record(answers)}


def matches_answers(expression: str | None, answers: Mapping[str, Any]) -> bool:
    """A person's latest answers against the segment's expression; a step they did not
    answer makes a comparison with it false (not in the segment), never an error."""
    return is_true(expression, answer_names(answers))
