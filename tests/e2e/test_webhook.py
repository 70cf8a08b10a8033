"""Webhook mode: the secret token is checked before anything is stored; 200 after commit."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import bootstrap, serve
from bot.transport.webhook import SECRET_HEADER, WEBHOOK_PATH, webhook_secret
from bot.web.server import build_app
from storage.schema.tables import OutboxMessage, ProcessedUpdate
from tests.conftest import fast_limits
from tests.e2e.conftest import settings_for
from tests.e2e.harness import eventually


def start_update(update_id: int, user_id: int = 700) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "Olena", "language_code": "uk"}
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": user_id, "type": "private"},
        "from": user, "text": "/start kitchen-quiz",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


async def count(app, model) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_right_and_wrong_secret(telegram, tmp_path):
    settings = settings_for(telegram, f"sqlite:///{tmp_path}/bot.db",
                            telegram_webhook_url="https://bot.example")
    app = await bootstrap(settings, limits=fast_limits())
    secret = webhook_secret(settings)
    client = TestClient(TestServer(build_app(app.webhook_route(secret), app.engine)))
    await client.start_server()
    try:
        for headers in ({}, {SECRET_HEADER: "wrong"}):
            response = await client.post(WEBHOOK_PATH, json=start_update(1), headers=headers)
            assert response.status == 401
        assert await count(app, ProcessedUpdate) == 0  # nothing stored
        response = await client.post(WEBHOOK_PATH, json=start_update(2),
                                     headers={SECRET_HEADER: secret})
        assert response.status == 200
        # answered only after the commit: the welcome is already in the outbox
        assert await count(app, ProcessedUpdate) == 1
        assert await count(app, OutboxMessage) == 1
        response = await client.post(WEBHOOK_PATH, data="not json",
                                     headers={SECRET_HEADER: secret})
        assert response.status == 400
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 200
    finally:
        await client.close()
        await app.close()


@contextlib.asynccontextmanager
async def serving(telegram, tmp_path):
    """`serve(webhook=True)` as `leadbot run --webhook` runs it; its task, stopped after."""
    settings = settings_for(telegram, f"sqlite:///{tmp_path}/bot.db", port=0,
                            host="127.0.0.1", telegram_webhook_url="https://bot.example/")
    app = await bootstrap(settings, limits=fast_limits())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop, webhook=True))
    try:
        yield settings, task
    finally:
        stop.set()
        await task
        await app.close()


async def test_serve_registers_the_webhook_with_its_secret(telegram, tmp_path):
    async with serving(telegram, tmp_path) as (settings, _):
        async def registered() -> bool:  # the start can take seconds on a loaded machine
            return bool(telegram.webhook)  # setMyCommands went before, in check_telegram

        await eventually(registered, what="the webhook and the commands to be registered")
        assert telegram.webhook["url"] == "https://bot.example/telegram/webhook"
        assert telegram.webhook["secret_token"] == webhook_secret(settings)
        assert set(telegram.commands) == {"", "ru", "uk", "en"}  # setMyCommands per language


async def test_a_429_on_set_webhook_at_start_is_waited_out(telegram, tmp_path):
    """Several processes started together each set the webhook; Telegram may answer 429."""
    telegram.fail(429, "Too Many Requests: retry after 1", "setWebhook", retry_after=1)
    async with serving(telegram, tmp_path) as (_, task):
        async def registered() -> bool:
            return bool(telegram.webhook) or task.done()

        await eventually(registered, what="the webhook to be registered")
        assert not task.done(), task.exception()  # still serving: the 429 was waited out
        assert telegram.webhook["url"] == "https://bot.example/telegram/webhook"
        assert [fault.times for fault in telegram.faults] == [0]  # the 429 was given


async def test_a_refused_webhook_or_a_busy_port_stops_the_start_with_a_clear_line(
        telegram, tmp_path):
    import socket

    import pytest

    from bot.app import StartupError

    telegram.fail(400, "Bad Request: bad webhook: HTTPS url must be provided",
                  method="setWebhook")
    settings = settings_for(telegram, f"sqlite:///{tmp_path}/bot.db", port=0,
                            host="127.0.0.1", telegram_webhook_url="http://bot.example")
    app = await bootstrap(settings, limits=fast_limits())
    try:
        with pytest.raises(StartupError, match="Telegram refused the webhook"):
            await serve(app, asyncio.Event(), webhook=True)
    finally:
        await app.close()

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    settings = settings_for(telegram, f"sqlite:///{tmp_path}/bot.db", port=port,
                            host="127.0.0.1", telegram_webhook_url="https://bot.example")
    app = await bootstrap(settings, limits=fast_limits())
    try:
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve(app, asyncio.Event(), webhook=True)
    finally:
        await app.close()
        taken.close()
