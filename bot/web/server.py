"""Webhook mode: an aiohttp server that answers 200 only after the update's commit.

A wrong or missing X-Telegram-Bot-Api-Secret-Token gets 401 and nothing is stored
(Bot API, setWebhook: secret_token). /healthz says the process is alive; /readyz that the
database answers.
"""

from __future__ import annotations

import hmac
import logging

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"


def build_app(bot: Bot, dispatcher: Dispatcher, engine: AsyncEngine,
              secret: str) -> web.Application:
    app = web.Application()

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401, text="wrong secret token")
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except (ValueError, ValidationError):
            return web.Response(status=400, text="not an update")
        try:
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
