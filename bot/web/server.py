"""The aiohttp application of webhook mode: Telegram's webhook route (bot/telegram/webhook.py:
200 only after the update's commit), /healthz (the process is alive) and /readyz (the
database answers).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.telegram.updates import Counters
from bot.telegram.webhook import WEBHOOK_PATH, webhook_route


def build_app(bot: Any, dispatcher: Any, engine: AsyncEngine, secret: str,
              counters: Counters | None = None) -> web.Application:
    """`bot` and `dispatcher` are the transport's (bot/telegram/client.py)."""
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            return web.Response(status=503, text=f"database: {type(error).__name__}")
        return web.Response(text="ready")

    app.router.add_post(WEBHOOK_PATH, webhook_route(bot, dispatcher, secret, counters))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
