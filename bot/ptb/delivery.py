"""The outbox's calls made with PTB: a resolved call (bot/outbox/port.py) becomes the PTB
Bot method of the same name, files on disk and the /mydata export become input files, and
PTB's answers and errors become the port's results, exactly as bot/telegram/delivery.py
says them for aiogram.

The row's payload is Bot API JSON already (what the service stored): the method's required
parameters are passed by name, everything else (reply_markup, parse_mode, ...) as PTB's
`api_kwargs`, sent as stored, never read into PTB's objects and written back.

May import: telegram (PTB), bot.outbox, bot.ptb.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Bot, InputFile, Message
from telegram.error import (
    BadRequest as PtbBadRequest,
)
from telegram.error import (
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramError,
)
from telegram.error import (
    RetryAfter as PtbRetryAfter,
)

from bot.outbox.port import (
    BadRequest,
    Blocked,
    Call,
    NotFound,
    NotModified,
    NotSendable,
    Refused,
    Result,
    RetryAfter,
    Sent,
    Unavailable,
)
from bot.ptb.wire import seconds

# Bot API method -> (PTB's Bot method, its required parameters, passed by name)
METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sendMessage": ("send_message", ("chat_id", "text")),
    "sendDocument": ("send_document", ("chat_id", "document")),
    "sendPhoto": ("send_photo", ("chat_id", "photo")),
    "editMessageText": ("edit_message_text", ("text",)),
    "editMessageCaption": ("edit_message_caption", ()),
    "answerCallbackQuery": ("answer_callback_query", ("callback_query_id",)),
}


class PtbDelivery:
    """The port's `Delivery` over PTB's Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, call: Call) -> Result:
        try:
            answer = await request_for(self.bot, call)()
        except PtbRetryAfter as error:
            return RetryAfter(seconds(error.retry_after))
        except Forbidden as error:
            return Blocked(error.message)
        except PtbBadRequest as error:  # before NetworkError: PTB makes 400 a NetworkError
            # PTB shortens Telegram's description: "Bad Request: " cut, the rest capitalised
            if "message is not modified" in error.message.lower():
                return NotModified()
            return BadRequest(error.message)
        except EndPointNotFound as error:
            return NotFound(error.message)
        except InvalidToken as error:  # PTB's 401 and 404 alike; Telegram's text tells
            if "not found" in error.message.lower():
                return NotFound(error.message)
            return Refused(error.message)
        except (TimeoutError, NetworkError, OSError) as error:  # TimedOut, 5xx, the network
            return Unavailable(str(error), answered=server_error(error))
        except TelegramError as error:
            return Refused(error.message)
        except Exception as error:  # a bug in one row must not stop every other message
            return NotSendable(error)
        return Sent(answer.message_id if isinstance(answer, Message) else None)


def server_error(error: BaseException) -> bool:
    """A 5xx Telegram answered (PTB raises a bare NetworkError for it, from nothing or from
    an unreadable body), not a timeout or a connection lost (raised from httpx's error)."""
    return type(error) is NetworkError and (
        error.__cause__ is None or isinstance(error.__cause__, TelegramError))


def request_for(bot: Bot, call: Call) -> Callable[[], Awaitable[Any]]:
    """The PTB Bot call for `call`, ready to be awaited: a document on disk read from its
    path, an upload sent from memory under its file name."""
    name, required = METHODS[call.method]
    payload = dict(call.payload)
    if call.upload is not None:
        payload["document"] = InputFile(call.upload.body, filename=call.upload.filename)
    for kind in ("document", "photo"):  # a file on disk (a flow's, a broadcast's)
        if call.upload is None and isinstance(payload.get(kind), dict):
            path = Path(payload[kind]["path"])
            payload[kind] = InputFile(path.read_bytes(), filename=path.name)
    named = {key: payload.pop(key) for key in required}
    method = getattr(bot, name)
    return lambda: method(**named, api_kwargs=payload)
