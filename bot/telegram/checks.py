"""What is checked with Telegram before the bot takes updates: the token (getMe), every
chat cards go to, and the menu of commands (setMyCommands).

May import: aiogram, bot.handoff, bot.settings, bot.texts, bot.transport.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand

from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.settings import Settings
from bot.texts import COMMANDS
from bot.transport.checks import managers_chats, unreachable
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
    for setting, chat_id in managers_chats(config):
        try:
            await bot.get_chat(chat_id)
        except ClientDecodeError:
            continue  # Telegram said ok; only its answer is newer than our client's model
        except (AiogramError, OSError) as error:
            raise unreachable(setting, chat_id, error) from None
