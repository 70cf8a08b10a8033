"""aiogram's side of the neutral polling loop and webhook route (bot/transport/polling.py,
webhook.py): getUpdates with its updates kept as plain JSON, each read on its own into
aiogram's Update, routed to the service (bot/service/route.py: aiogram's Dispatcher is not
used), and a tap given up on answered.

May import: aiogram, pydantic, bot.service, bot.texts, bot.transport.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.types import Update
from pydantic import ValidationError

from bot.service.core import Service
from bot.service.route import route
from bot.texts import TAP_FAILED, language_of
from bot.transport.errors import FetchFailed, FetchRetryAfter, TokenRevoked
from bot.transport.updates import Counters, read

log = logging.getLogger(__name__)


class GetRawUpdates(GetUpdates):
    """getUpdates whose updates stay plain JSON, to be parsed one by one: aiogram's own
    method fails the whole batch for one update it cannot parse, and then again, forever."""

    __returning__ = list[dict[str, Any]]


def chat_of(update: Update) -> int:
    if update.message:
        return update.message.chat.id
    if update.callback_query:
        return update.callback_query.from_user.id
    if update.my_chat_member:
        return update.my_chat_member.chat.id
    return 0


def describe(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return f"{error.error_count()} fields wrong or missing"
    return str(error) or type(error).__name__


class AiogramWire:
    """The Wire (bot/transport/base.py) over an aiogram Bot: updates go to the service
    (`service`, attached by the transport) or, given one, to a Dispatcher (tests drive the
    loop with handlers of their own)."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher | None = None) -> None:
        self.bot, self.dispatcher = bot, dispatcher
        self.service: Service | None = None
        self.username = ""  # the bot's, once getMe answered (at start: checks.py)

    async def fetch(self, offset: int | None, timeout: int,
                    allowed_updates: list[str]) -> list[Any]:
        try:
            return await self.bot(GetRawUpdates(offset=offset, timeout=timeout,
                                                allowed_updates=allowed_updates))
        except TelegramUnauthorizedError as error:
            raise TokenRevoked(str(error)) from None
        except TelegramRetryAfter as error:
            raise FetchRetryAfter(float(error.retry_after)) from None
        except (TelegramNetworkError, TelegramServerError, TelegramConflictError) as error:
            raise FetchFailed(str(error)) from None

    def parse(self, raw: Any, counters: Counters) -> Update | None:
        return read(raw, counters,
                    lambda clean: Update.model_validate(clean, context={"bot": self.bot}),
                    describe)

    def chat_of(self, update: Update) -> int:
        return chat_of(update)

    async def feed(self, update: Update) -> None:
        if self.service is not None:
            await route(update, self.service, self.username)
            return
        assert self.dispatcher is not None, "attach the service first"
        await self.dispatcher.feed_update(self.bot, update)

    async def answer_skipped(self, update: Update) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            await self.bot.answer_callback_query(
                query.id, text=TAP_FAILED[language_of(query.from_user.language_code)])
        except (TelegramAPIError, OSError) as error:  # too late (15 s), or Telegram away
            log.warning("could not answer the skipped tap of update %s: %s",
                        update.update_id, type(error).__name__)
