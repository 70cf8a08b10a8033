"""What is checked with Telegram before the bot takes updates: the token (getMe), every
chat cards go to, and the menu of commands (setMyCommands).

May import: aiogram, bot.handoff, bot.settings, bot.texts, bot.transport.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand

from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.settings import Settings
from bot.texts import COMMANDS
from bot.transport.checks import check_chat, managers_chats
from bot.transport.errors import TelegramRefused

log = logging.getLogger(__name__)


async def check_telegram(bot: Bot, settings: Settings, handoffs: Handoffs) -> None:
    """TelegramRefused, in one line, when the token or a managers' chat is not usable;
    the bot's @username goes to the hand-offs (the link a manager opens)."""
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        raise TelegramRefused("Telegram refused LEADBOT_BOT_TOKEN (revoked or mistyped?)"
                              ) from None
    except (TelegramNetworkError, TelegramAPIError, OSError) as error:
        raise TelegramRefused(f"cannot reach the Bot API at {settings.telegram_api_url}: "
                              f"{error}") from None
    log.info("running as @%s", me.username)
    handoffs.bot_username = me.username or ""
    await check_managers_chats(bot, handoffs.config)
    try:
        for language, commands in COMMANDS.items():
            await bot.set_my_commands([BotCommand(command=c, description=d)
                                       for c, d in commands], language_code=language)
        await bot.set_my_commands([BotCommand(command=c, description=d)
                                   for c, d in COMMANDS["en"]])
    except (TelegramAPIError, OSError) as error:  # a menu of commands is not worth a refusal
        log.warning("could not register the bot's commands: %s", error)


async def check_managers_chats(bot: Bot, config: HandoffConfig) -> None:
    """Every chat cards go to must be one the bot is in: a card sent nowhere is a lead
    nobody calls. One clear line instead."""
    async def get_chat(chat_id: int) -> None:
        # ClientDecodeError: Telegram said ok; only its answer is newer than aiogram's model
        with contextlib.suppress(ClientDecodeError):
            await bot.get_chat(chat_id)

    for setting, chat_id in managers_chats(config):
        await check_chat(setting, chat_id, get_chat, (AiogramError, OSError), outage)


def outage(error: BaseException) -> bool:
    """Telegram failing (5xx, 429, the network), not refusing the chat (400, 403)."""
    return isinstance(error, TelegramServerError | TelegramNetworkError | TelegramRetryAfter
                      | OSError)
