"""Long polling with aiogram: the neutral loop (bot/transport/polling.py: the offset moves
only after the commit) over aiogram's Bot and Dispatcher.

May import: aiogram, bot.telegram, bot.transport.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from bot.telegram.wire import AiogramWire
from bot.transport import polling
from bot.transport.updates import MAX_FAILURES, Counters

__all__ = ["MAX_FAILURES", "Poller"]


class Poller(polling.Poller):
    def __init__(self, bot: Bot, dispatcher: Dispatcher, timeout: int = 25,
                 counters: Counters | None = None) -> None:
        super().__init__(AiogramWire(bot, dispatcher), timeout, counters)
