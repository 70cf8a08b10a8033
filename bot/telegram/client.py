"""The aiogram Bot built from the settings, closed at the end, and the bot's @username for
`leadbot links`.

Its calls go as JSON bodies (session.py).

May import: aiogram, bot.settings, bot.telegram.
"""

from __future__ import annotations

import os

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.token import TokenValidationError

from bot.settings import Settings
from bot.telegram.session import JsonSession
from bot.transport.errors import TelegramRefused

# bench/ only: aiogram's own multipart forms, for a side-by-side run (session.py)
SESSION = AiohttpSession if os.environ.get("BENCH_FORM_CALLS") else JsonSession


def build_bot(settings: Settings) -> Bot:
    """The Bot for LEADBOT_BOT_TOKEN (which must be set) and LEADBOT_TELEGRAM_API_URL; no
    request is made. TelegramRefused when the token is malformed."""
    assert settings.bot_token is not None
    try:
        session = SESSION(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        return Bot(settings.bot_token.get_secret_value(), session=session)
    except TokenValidationError:
        raise TelegramRefused("LEADBOT_BOT_TOKEN is malformed: it looks like "
                              "123456789:AAE... (digits, a colon, then letters)") from None


async def close(bot: Bot) -> None:
    await bot.session.close()


async def bot_username(settings: Settings) -> str:
    """The bot's @username from getMe; LookupError saying why it could not be had."""
    if settings.bot_token is None:
        raise LookupError("LEADBOT_BOT_TOKEN is not set")
    session = SESSION(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    try:
        bot = Bot(settings.bot_token.get_secret_value(), session=session)
        me = await bot.get_me()
    except TokenValidationError:
        raise LookupError("LEADBOT_BOT_TOKEN is malformed") from None
    except (TelegramAPIError, OSError) as error:
        raise LookupError(f"cannot ask Telegram for the bot's name: {error}") from None
    finally:
        await session.close()
    return me.username or ""
