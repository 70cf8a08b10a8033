"""The port between the outbox sender and a Telegram transport: the call the sender asks
for, and the results it acts on. A transport (bot/telegram/delivery.py for aiogram) makes the
call and says what Telegram answered in these words, so the sender never sees a library's
types or exceptions.

May import: the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

TOO_LONG = re.compile(r"too long|MESSAGE_TOO_LONG", re.IGNORECASE)


@dataclass(frozen=True)
class Upload:
    """A file made in memory and sent as the call's document (the /mydata export)."""

    filename: str
    body: bytes


@dataclass(frozen=True)
class Call:
    """One Bot API call for one outbox row, resolved by the sender: `method` is the Bot API
    name ("sendMessage", "editMessageCaption", ...), `payload` its parameters as stored in the
    row, within Telegram's length limits and with an edit's `message_id` filled in. A
    `document` of the form {"path": ...} is a file on disk; `upload`, if given, is sent as
    the document instead."""

    method: str
    payload: dict[str, Any]
    upload: Upload | None = field(default=None)


@dataclass(frozen=True)
class Sent:
    """Telegram accepted the call; `message_id` is the message it made or edited, if any."""

    message_id: int | None = None


@dataclass(frozen=True)
class NotModified:
    """An edit to what the message already says: as good as sent."""


@dataclass(frozen=True)
class RetryAfter:
    """429: every send waits `seconds` before the next call; the row is tried again."""

    seconds: float


@dataclass(frozen=True)
class Blocked:
    """403: the chat refuses the bot (a prospect blocked it, the bot left a group, or a
    manager never started a private chat). `message` is Telegram's description."""

    message: str


@dataclass(frozen=True)
class BadRequest:
    """400: Telegram refused the call itself, `message` saying why (e.g. "message to edit
    not found"). A text Telegram found too long is told apart by `too_long`."""

    message: str

    @property
    def too_long(self) -> bool:
        return TOO_LONG.search(self.message) is not None


@dataclass(frozen=True)
class NotFound:
    """404: the chat or method does not exist; `message` is Telegram's description."""

    message: str


@dataclass(frozen=True)
class Refused:
    """Any other refusal from the Bot API (401, 409, an error of no known kind)."""

    message: str


@dataclass(frozen=True)
class Unavailable:
    """The network, a timeout or a 5xx: Telegram may not have seen the call, so it is worth
    trying again. `reason` is the error as text. `answered`: a 5xx came back, so Telegram
    took nothing; otherwise (a timeout, a connection lost) it may have delivered the call,
    which a broadcast's message (sent at most once) is then not tried again for."""

    reason: str
    answered: bool = False


@dataclass(frozen=True)
class NotSendable:
    """The call could not even be made from this row (a bug in one row, never Telegram's
    answer): `error` is what was raised, kept for the log's traceback."""

    error: BaseException


Result = (Sent | NotModified | RetryAfter | Blocked | BadRequest | NotFound | Refused
          | Unavailable | NotSendable)


class Delivery(Protocol):
    """A Telegram transport as the sender sees it."""

    async def deliver(self, call: Call) -> Result:
        """Makes `call` once and says how it went; raises nothing for Telegram's answers,
        the network or a payload that cannot be sent."""
        ...
