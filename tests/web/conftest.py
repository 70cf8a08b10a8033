"""The real bot (bootstrap + serve, long polling against the fake Bot API) with its web
server on a free port of 127.0.0.1, and an HTTP client for it."""

from __future__ import annotations

import contextlib

import aiohttp
import pytest

from tests.e2e.conftest import bot_running

TOKEN = "s3cret-admin-token-for-tests"


@contextlib.asynccontextmanager
async def web_running(telegram, tmp_path, backend: str = "sqlite", **settings):
    """(the running bot, a client session, the server's base URL). The session keeps
    cookies for 127.0.0.1 (aiohttp's default jar refuses cookies of IP addresses).
    `backend`: "postgresql" runs the bot on the test database (emptied first)."""
    url = f"sqlite:///{tmp_path}/bot.db"
    if backend != "sqlite":
        from tests.databases import database_url, fresh_engine

        engine = await fresh_engine(backend, tmp_path)
        await engine.dispose()
        url = await database_url(backend, tmp_path)
    async with bot_running(telegram, url, **settings) as running:
        from tests.e2e.harness import eventually

        async def listening() -> bool:
            return running.app.address is not None

        await eventually(listening, what="the web server to listen")
        host, port = running.app.address
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            yield running, client, f"http://{host}:{port}"


@pytest.fixture
async def open_web(telegram, tmp_path):
    """LEADBOT_ADMIN_TOKEN unset."""
    async with web_running(telegram, tmp_path) as triple:
        yield triple


@pytest.fixture
async def admin_web(telegram, tmp_path):
    """LEADBOT_ADMIN_TOKEN set to TOKEN."""
    async with web_running(telegram, tmp_path, admin_token=TOKEN) as triple:
        yield triple
