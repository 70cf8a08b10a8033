"""Webhook mode: an aiohttp server that answers 200 only after the update's commit.

A wrong or missing X-Telegram-Bot-Api-Secret-Token gets 401 and nothing is stored
(Bot API, setWebhook: secret_token). /healthz says the process is alive; /readyz that the
database answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.polling import chat_of

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"


class ChatQueue:
    """One update per chat at a time in this process, in the order they arrived.

    Telegram may post one prospect's updates at the same time (four ticks in a second);
    the prospect's row lock keeps them apart in the database, and this keeps them in order
    here, without each waiting update holding a database connection."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())  # FIFO: arrival order
        self._waiting[chat_id] = self._waiting.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:  # nobody else in line: forget the chat
                del self._waiting[chat_id], self._locks[chat_id]


def build_app(bot: Bot, dispatcher: Dispatcher, engine: AsyncEngine,
              secret: str) -> web.Application:
    app = web.Application()
    queue = ChatQueue()

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401, text="wrong secret token")
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="not an update")
        try:
            async with queue.turn(chat_of(update)):
                await dispatcher.feed_update(bot, update)
        except Exception:
            log.exception("update %s failed; Telegram will send it again", update.update_id)
            return web.Response(status=500, text="failed, send again")
        return web.Response(text="ok")

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            return web.Response(status=503, text=f"database: {type(error).__name__}")
        return web.Response(text="ready")

    app.router.add_post(WEBHOOK_PATH, webhook)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
