"""The aiohttp application of webhook mode: Telegram's webhook route (bot/transport/webhook.py:
200 only after the update's commit), /healthz (the process is alive) and /readyz (the
database answers).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.transport.webhook import WEBHOOK_PATH, Route


def build_app(route: Route, engine: AsyncEngine) -> web.Application:
    """`route` is the webhook's (bot/transport/webhook.py webhook_route, over the transport
    LEADBOT_TRANSPORT names: App.webhook_route)."""
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

    app.router.add_post(WEBHOOK_PATH, route)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
