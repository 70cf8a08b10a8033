"""What every Telegram transport shares, and the choice between them.

leadbot runs on aiogram (bot/telegram/) or on python-telegram-bot (bot/ptb/), picked by
LEADBOT_TRANSPORT. Both keep leadbot's pipeline in charge: an update is acknowledged (the
polling offset moves past it, the webhook answers 200) only after its transaction
committed, and messages leave through the outbox (bot/outbox/port.py). What does not depend
on the library lives here: the polling loop (polling.py), the webhook route (webhook.py),
reading raw updates and telling an outage from a bug (updates.py), the refusals the rest of
the bot sees (errors.py), the managers' chats checked at start (checks.py) and the
transport's shape (base.py).

May import: aiohttp, SQLAlchemy's errors, bot.settings, bot.texts, bot.outbox; never a
Telegram library (importlib loads the chosen transport by name).
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import TYPE_CHECKING

from bot.settings import TRANSPORTS

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.transport.base import Transport

MODULES = {"aiogram": "bot.telegram.transport", "ptb": "bot.ptb.transport"}
assert set(MODULES) == set(TRANSPORTS)
TOKEN = re.compile(r"^\d+:\S+$")  # 123456789:AAE... as @BotFather gives it
MALFORMED = ("LEADBOT_BOT_TOKEN is malformed: it looks like 123456789:AAE... (digits, a "
             "colon, then letters)")


def token_problem(settings: Settings) -> str | None:
    """What is wrong with LEADBOT_BOT_TOKEN, told before anything is opened (the transports
    check it again when they build their Bot)."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    if not token:
        return "LEADBOT_BOT_TOKEN is not set (get one from @BotFather)"
    return None if TOKEN.match(token) else MALFORMED


def module_for(name: str) -> ModuleType:
    """The transport module for LEADBOT_TRANSPORT; imported only when asked (a Telegram
    library takes a second or two to import)."""
    return importlib.import_module(MODULES[name])


def open_transport(settings: Settings) -> Transport:
    """The transport LEADBOT_TRANSPORT names, its Bot built (no request made yet);
    TelegramRefused when the token is malformed."""
    return module_for(settings.transport).open_transport(settings)


async def bot_username(settings: Settings) -> str:
    """The bot's @username from getMe; LookupError saying why it could not be had."""
    return await module_for(settings.transport).bot_username(settings)
