"""The outbox's calls made with aiogram: a resolved call (bot/outbox/port.py) becomes an
aiogram method object, files on disk and the /mydata export become input files, and
aiogram's answers and exceptions become the port's results. `sender_for` builds the outbox
sender that delivers through an aiogram Bot.

May import: aiogram, bot.outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram import Bot, methods
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, FSInputFile, Message

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
from bot.outbox.sender import Sender

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.outbox.limits import Limits

METHODS = {
    "sendMessage": methods.SendMessage, "sendDocument": methods.SendDocument,
    "sendPhoto": methods.SendPhoto,
    "editMessageText": methods.EditMessageText,
    "editMessageCaption": methods.EditMessageCaption,
    "answerCallbackQuery": methods.AnswerCallbackQuery,
}


class AiogramDelivery:
    """The port's `Delivery` over an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, call: Call) -> Result:
        try:
            answer = await self.bot(method_for(call))
        except TelegramRetryAfter as error:
            return RetryAfter(float(error.retry_after))
        except TelegramForbiddenError as error:
            return Blocked(error.message)
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return NotModified()
            return BadRequest(error.message)
        except TelegramNotFound as error:
            return NotFound(error.message)
        except TelegramServerError as error:  # a 5xx: answered, nothing taken
            return Unavailable(str(error), answered=True)
        except (TimeoutError, TelegramNetworkError, OSError) as error:
            return Unavailable(str(error))
        except TelegramAPIError as error:
            return Refused(error.message)
        except Exception as error:  # a bug in one row must not stop every other message
            return NotSendable(error)
        return Sent(answer.message_id if isinstance(answer, Message) else None)


def method_for(call: Call) -> Any:
    """The aiogram method object for a call: a document or photo on disk read from its
    path, an upload sent from memory under its file name."""
    payload = dict(call.payload)
    if call.upload is not None:
        payload["document"] = BufferedInputFile(call.upload.body,
                                                filename=call.upload.filename)
    for kind in ("document", "photo"):  # a file on disk (a flow's, a broadcast's)
        if call.upload is None and isinstance(payload.get(kind), dict):
            payload[kind] = FSInputFile(payload[kind]["path"])
    return METHODS[call.method].model_validate(payload)


def sender_for(bot: Bot, sessions: async_sessionmaker[AsyncSession],
               limits: Limits | None = None, **options: Any) -> Sender:
    """The outbox sender delivering through `bot`; `options` are the Sender's own."""
    return Sender(AiogramDelivery(bot), sessions, limits, **options)
