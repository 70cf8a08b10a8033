"""What a job is given: the parts of the running app it works with, named as a Protocol so
the jobs need not import bot/app.py (which imports them to schedule them).

May import: bot.service, bot.settings, sqlalchemy. Never a Telegram library.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.service.core import Service
from bot.settings import Settings


class Wakeable(Protocol):
    def wake(self) -> None: ...


class Running(Protocol):
    """The running app as the jobs see it (bot/app.py App has all of it)."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    service: Service
    sender: Wakeable
