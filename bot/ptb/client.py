"""PTB's Bot built from the settings, and the bot's @username for `leadbot links`.

May import: telegram (PTB), bot.settings, bot.transport.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.request import HTTPXRequest

from bot.settings import Settings
from bot.transport.errors import TelegramRefused

TOKEN = re.compile(r"^\d+:\S+$")  # 123456789:AAE... as @BotFather gives it
POOL = 32  # connections for the outbox's concurrent sends (PTB's Bot defaults to one)


class LeadbotBot(Bot):
    """PTB's Bot with getUpdates that keeps each update as plain JSON: Bot.get_updates
    reads the whole batch into Update objects, so one update it cannot read would fail the
    batch, and then again, forever. Each is read on its own instead (bot/ptb/wire.py)."""

    def __init__(self, token: str, api_url: str, updates: HTTPXRequest,
                 other: HTTPXRequest) -> None:
        api_url = api_url.rstrip("/")
        super().__init__(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot",
                         request=other, get_updates_request=updates)
        # closed by close(): Bot.shutdown skips them unless Bot.initialize ran (below); PTB's
        # objects refuse new attributes after __init__, hence object.__setattr__
        object.__setattr__(self, "http", (updates, other))

    async def get_raw_updates(self, offset: int | None, timeout: int,
                              allowed_updates: list[str]) -> list[Any]:
        data = {"offset": offset, "timeout": timeout, "allowed_updates": allowed_updates}
        return await self._post("getUpdates", {k: v for k, v in data.items() if v is not None},
                                read_timeout=timeout + 10)


def requests() -> tuple[HTTPXRequest, HTTPXRequest]:
    """(getUpdates', everything else's) HTTP clients: the long poll gets one of its own, as in
    PTB; the rest a pool the outbox's concurrent sends do not queue for."""
    return (HTTPXRequest(connection_pool_size=1, read_timeout=10.0),
            HTTPXRequest(connection_pool_size=POOL, read_timeout=30.0, write_timeout=30.0,
                         connect_timeout=10.0, pool_timeout=30.0))


def build_bot(settings: Settings) -> LeadbotBot:
    """The Bot for LEADBOT_BOT_TOKEN (which must be set) and LEADBOT_TELEGRAM_API_URL; no
    request is made. TelegramRefused when the token is malformed."""
    assert settings.bot_token is not None
    token = settings.bot_token.get_secret_value()
    if not TOKEN.match(token):
        raise TelegramRefused("LEADBOT_BOT_TOKEN is malformed: it looks like "
                              "123456789:AAE... (digits, a colon, then letters)")
    updates, other = requests()
    return LeadbotBot(token, settings.telegram_api_url, updates, other)


async def close(bot: LeadbotBot) -> None:
    """Closes the HTTP clients (Bot.shutdown closes them only after Bot.initialize, which
    leadbot does not call: it logs the token when Telegram refuses it)."""
    for request in bot.http:
        await request.shutdown()


async def bot_username(settings: Settings) -> str:
    """The bot's @username from getMe; LookupError saying why it could not be had."""
    if settings.bot_token is None:
        raise LookupError("LEADBOT_BOT_TOKEN is not set")
    try:
        bot = build_bot(settings)
    except TelegramRefused:
        raise LookupError("LEADBOT_BOT_TOKEN is malformed") from None
    try:
        me = await bot.get_me()
    except (TelegramError, OSError) as error:
        if isinstance(error, InvalidToken):
            raise LookupError("Telegram refused LEADBOT_BOT_TOKEN") from None
        raise LookupError(f"cannot ask Telegram for the bot's name: {error}") from None
    finally:
        await close(bot)
    return me.username or ""
