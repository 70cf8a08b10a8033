"""PTB's side of the neutral polling loop and webhook route (bot/transport/polling.py,
webhook.py): getUpdates with its updates kept as plain JSON (client.py), each read on its own
into PTB's Update, routed to the service (bot/service/route.py), and a tap given up on
answered.

May import: telegram (PTB), bot.service, bot.texts, bot.transport, bot.ptb.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram import Update
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.ptb.client import LeadbotBot
from bot.service.core import Service
from bot.service.route import route
from bot.texts import TAP_FAILED, language_of
from bot.transport.errors import FetchFailed, FetchRetryAfter, TokenRevoked
from bot.transport.updates import Counters, read

log = logging.getLogger(__name__)
# what Telegram always sends and PTB leaves None when it is missing (aiogram refuses such an
# update): without them an update cannot be routed, and it would fail in the handler, again
# and again, instead of being skipped at once
REQUIRED = {"message": ("chat", "date"), "callback_query": ("from_user",),
            "my_chat_member": ("chat", "from_user", "new_chat_member")}


def seconds(value: float | dt.timedelta) -> float:
    """RetryAfter.retry_after: a timedelta (PTB_TIMEDELTA, bot/ptb/__init__.py) or seconds."""
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def chat_of(update: Update) -> int:
    if update.message:
        return update.message.chat.id
    if update.callback_query:
        return update.callback_query.from_user.id
    if update.my_chat_member:
        return update.my_chat_member.chat.id
    return 0


def parse_update(raw: Any, bot: LeadbotBot) -> Update:
    if not isinstance(raw, dict):
        raise TypeError("an update is a JSON object")
    update = Update.de_json(raw, bot)
    for kind, fields in REQUIRED.items():
        part = getattr(update, kind)
        missing = [name for name in fields if part is not None and getattr(part, name) is None]
        if missing:
            raise TypeError(f"{kind} without {', '.join(missing)}")
    tapped = update.callback_query.message if update.callback_query else None
    if tapped is not None and getattr(tapped, "chat", None) is None:  # a tap needs its chat
        raise TypeError("callback_query's message without chat")
    return update


class PtbWire:
    """The Wire (bot/transport/base.py) over PTB's Bot."""

    def __init__(self, bot: LeadbotBot) -> None:
        self.bot = bot
        self.service: Service | None = None

    async def fetch(self, offset: int | None, timeout: int,
                    allowed_updates: list[str]) -> list[Any]:
        try:
            return await self.bot.get_raw_updates(offset, timeout, allowed_updates)
        except InvalidToken as error:
            raise TokenRevoked(str(error)) from None
        except RetryAfter as error:
            raise FetchRetryAfter(seconds(error.retry_after)) from None
        except BadRequest:
            raise  # not the network: logged with its traceback, retried after a back-off
        except (NetworkError, Conflict) as error:  # TimedOut and the 5xx are NetworkErrors
            raise FetchFailed(str(error)) from None

    def parse(self, raw: Any, counters: Counters) -> Update | None:
        return read(raw, counters, lambda clean: parse_update(clean, self.bot))

    def chat_of(self, update: Update) -> int:
        return chat_of(update)

    async def feed(self, update: Update) -> None:
        assert self.service is not None, "attach the service first"
        await route(update, self.service, self.username)

    @property
    def username(self) -> str:
        """The bot's @username once getMe answered (at start, bot/ptb/checks.py)."""
        try:
            return self.bot.username
        except RuntimeError:  # getMe not asked yet: a /cmd@name cannot be told ours
            return ""

    async def answer_skipped(self, update: Update) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            await self.bot.answer_callback_query(
                query.id, text=TAP_FAILED[language_of(query.from_user.language_code)])
        except (TelegramError, OSError) as error:  # too late (15 s), or Telegram away
            log.warning("could not answer the skipped tap of update %s: %s",
                        update.update_id, type(error).__name__)
