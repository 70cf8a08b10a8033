from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.app import bootstrap, serve
from bot.settings import Settings
from tests.conftest import FLOWS_DIR, fast_limits
from tests.e2e.harness import Running


def settings_for(telegram, database_url: str, **extra) -> Settings:
    return Settings(**{"bot_token": telegram.token, "telegram_api_url": telegram.url,
                       "database_url": database_url, "flows_dir": FLOWS_DIR, **extra})


@contextlib.asynccontextmanager
async def bot_running(telegram, database_url: str, **settings):
    """The real bot (bootstrap + serve) against the fake, stopped and closed afterwards."""
    app = await bootstrap(settings_for(telegram, database_url, **settings),
                          limits=fast_limits())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop))
    try:
        yield Running(app, telegram)
    finally:
        stop.set()
        try:
            await task  # raises what serve() raised (a StartupError, say)
        finally:
            await app.close()


@pytest.fixture
async def running(telegram, tmp_path):
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db") as bot:
        yield bot


@pytest.fixture(params=["sqlite", "postgresql"])
async def running_on_both(request, telegram, tmp_path):
    """The bot on a SQLite file and on PostgreSQL (emptied first)."""
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(request.param, tmp_path)  # migrated and empty
    await engine.dispose()
    async with bot_running(telegram, await database_url(request.param, tmp_path)) as bot:
        yield bot
