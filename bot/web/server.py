"""The aiohttp application, in polling and webhook mode alike: /healthz (the process is
alive), /readyz (the database answers), /metrics (Prometheus, bot/metrics.py), /admin (the
dashboard, bot/web/admin.py), /go/<link> (tracking links, bot/web/go.py: public) and, in
webhook mode, Telegram's webhook route
(bot/transport/webhook.py: 200 only after the update's commit, over the transport
LEADBOT_TRANSPORT names), and the CRMs' statuses and sales back (/crm/...,
bot/deliveries/crm/inbound/).

/metrics: open to whoever reaches the port while LEADBOT_ADMIN_TOKEN is unset; set, it needs
the token as a bearer header (bot/web/security.py). /admin: for the people `leadbot admin
add` made and the token's holder; while no token is set and nobody was added it answers
404 (it is mounted always: a person added later signs in without a restart).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import CONTENT_TYPE, Metrics
from bot.transport.webhook import WEBHOOK_PATH, Route
from bot.web.admin import Admin
from bot.web.go import Go
from bot.web.security import Guard, security_headers, unauthorized

READY_TIMEOUT = 5.0  # seconds: a database that does not answer by then is not ready


def health_routes(app: web.Application, engine: AsyncEngine, fleet: Any = None) -> None:
    """`fleet` (bot/outbox/fleet.py, PostgreSQL): not ready while the sender has no
    connection of its own to the database (it sends nothing then)."""
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(READY_TIMEOUT), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            return web.Response(status=503, text=f"database: {type(error).__name__}")
        if fleet is not None and not fleet.connected:
            return web.Response(status=503, text="sender: no connection to the database")
        return web.Response(text="ready")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def build_app(route: Route, engine: AsyncEngine) -> web.Application:
    """The webhook route and the health checks alone. `route` is the webhook's
    (bot/transport/webhook.py webhook_route, over the transport LEADBOT_TRANSPORT names:
    App.webhook_route)."""
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, route)
    health_routes(app, engine)
    return app


def web_app(running: Any, metrics: Metrics, secret: str | None = None) -> web.Application:
    """Everything the running bot serves (`running` is bot.app.App); the webhook route only
    with its `secret` (webhook mode)."""
    app = web.Application(middlewares=[security_headers])
    if secret is not None:
        app.router.add_post(WEBHOOK_PATH, running.webhook_route(secret))
    health_routes(app, running.engine, getattr(running, "fleet", None))
    token = running.settings.admin_token
    guard = Guard(token.get_secret_value() if token and token.get_secret_value() else None)

    async def scrape(request: web.Request) -> web.Response:
        if guard.token is not None and not await guard.allowed(request):
            raise unauthorized()
        body = await metrics.render(running.sessions)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app.router.add_get("/metrics", scrape)
    # the bot's @username, from getMe at start (read when asked: set before we listen)
    Go(running.sessions, lambda: running.service.handoffs.bot_username).routes(app)
    from bot.jobs.broadcast_links import key_from_settings
    from bot.web.taps import Taps

    key = key_from_settings(running.settings)
    if key is not None:  # a broadcast's link buttons, counted (made: LEADBOT_PUBLIC_URL)
        Taps(running.sessions, key).routes(app)
    if getattr(running, "inbound", None) is not None:  # sales back from the CRM
        running.inbound.routes(app)
    from bot.jobs.broadcasts import BroadcastConfig

    Admin(guard, running.flows, running.sessions, running.settings.timezone,
          running.settings.currency,
          broadcasts=BroadcastConfig.from_settings(running.settings)).routes(app)

    async def release(_: web.Application) -> None:  # slowed failures: no stop waits
        guard.slowdown.closing.set()

    app.on_shutdown.append(release)
    return app
