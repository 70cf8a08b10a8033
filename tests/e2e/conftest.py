from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from bot.app import bootstrap, serve
from bot.settings import TRANSPORTS, Settings
from tests.conftest import FLOWS_DIR, fast_limits
from tests.databases import migrated_sqlite
from tests.e2e.harness import Running, WebhookRunning

EVERY_COMBINATION = "LEADBOT_TEST_EVERY_COMBINATION"


def pytest_collection_modifyitems(config, items):
    """Every end-to-end test runs on both transports; where a test also runs on both
    databases, python-telegram-bot runs on SQLite only — a transport never touches the
    database (the service does), and that cross costs CI minutes. Still run on PostgreSQL
    with it: the tests that ask for PostgreSQL alone (two webhook processes, say).
    LEADBOT_TEST_EVERY_COMBINATION=1 runs every combination."""
    if os.environ.get(EVERY_COMBINATION):
        return
    def params(item) -> dict:
        return getattr(getattr(item, "callspec", None), "params", {})

    def on(item, database: str) -> bool:
        return any(database in str(value) for value in params(item).values())

    on_sqlite_too = {item.nodeid.split("[")[0] for item in items if on(item, "sqlite")}
    kept, dropped = [], []
    for item in items:
        cross = (params(item).get("telegram") == "ptb" and on(item, "postgresql")
                 and item.nodeid.split("[")[0] in on_sqlite_too)
        (dropped if cross else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=TRANSPORTS)
async def telegram(request):
    """The fake Bot API, once for each transport (LEADBOT_TRANSPORT): every end-to-end test
    runs the bot on aiogram and on python-telegram-bot. The fake carries the transport's
    name to settings_for (and to `leadbot run` in test_kill.py)."""
    from tests.fakes.telegram import FakeTelegram

    fake = FakeTelegram(limits=fast_limits(), transport=request.param)
    await fake.start()
    yield fake
    await fake.stop()


def settings_for(telegram, database_url: str, **extra) -> Settings:
    """The web server on a free port of 127.0.0.1 (tests run side by side)."""
    return Settings(**{"bot_token": telegram.token, "telegram_api_url": telegram.url,
                       "database_url": database_url, "flows_dir": FLOWS_DIR,
                       "host": "127.0.0.1", "port": 0, "transport": telegram.transport,
                       **extra})


async def migrated(database_url: str) -> None:
    """A SQLite file not there yet starts as a copy of the run's migrated one (the bot's
    start still checks the revision); tests/e2e/test_webhook.py, test_crash.py and
    test_kill.py start on nothing and migrate it."""
    if database_url.startswith("sqlite:///"):
        await migrated_sqlite(Path(database_url.removeprefix("sqlite:///")))


@contextlib.asynccontextmanager
async def bot_running(telegram, database_url: str, **settings):
    """The real bot (bootstrap + serve) against the fake, stopped and closed afterwards."""
    await migrated(database_url)
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


@contextlib.asynccontextmanager
async def webhook_running(telegram, database_url: str, **settings):
    """The bot in webhook mode: its webhook app (the one `serve --webhook` runs) on a test
    server, the sender and the hand-off timers beside it, as in serve()."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import check_telegram
    from bot.jobs.handoff_timers import handoff_timers
    from bot.jobs.periodic import every
    from bot.transport.webhook import webhook_secret
    from bot.web.server import build_app

    config = settings_for(telegram, database_url, telegram_webhook_url="https://bot.example",
                          **settings)
    await migrated(database_url)
    app = await bootstrap(config, limits=fast_limits())
    secret = webhook_secret(config)
    client = TestClient(TestServer(build_app(app.webhook_route(secret), app.engine)))
    stop = asyncio.Event()
    background = []
    sent, fleet = asyncio.Event(), None
    try:
        await check_telegram(app)
        if app.fleet is not None:  # PostgreSQL: its sender's number, as serve() takes it
            await app.fleet.start()
            fleet = asyncio.create_task(app.fleet.run(sent))
        await client.start_server()
        background = [asyncio.create_task(app.sender.run(stop)),
                      asyncio.create_task(every(10, stop, lambda: handoff_timers(app),
                                                "hand-off timers"))]
        yield WebhookRunning(app, telegram, client=client, secret=secret)
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)
        sent.set()  # its number given up last, as serve() does
        if fleet is not None:
            await fleet
        await client.close()
        await app.close()


@pytest.fixture(params=[("sqlite", "polling"), ("sqlite", "webhook"),
                        ("postgresql", "polling"), ("postgresql", "webhook")],
                ids=lambda p: "-".join(p))
async def every_mode(request, telegram, tmp_path):
    """The bot on both databases, by long polling and by webhook."""
    from tests.databases import database_url, fresh_engine

    backend, mode = request.param
    engine = await fresh_engine(backend, tmp_path)  # migrated and empty
    await engine.dispose()
    start = webhook_running if mode == "webhook" else bot_running
    async with start(telegram, await database_url(backend, tmp_path)) as bot:
        yield bot


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
