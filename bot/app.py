"""Wiring in one place: `bootstrap()` builds the app from settings (the CLI and the tests call
it), `serve()` runs it until asked to stop. Nothing is built at import time.

May import: anything in bot/, storage, dialogs; never a Telegram library (bot/telegram/ is
the transport: the Bot, its checks, polling and the webhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.database import DatabaseError, open_database
from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.jobs import schedule
from bot.outbox.limits import Limits
from bot.outbox.sender import Sender
from bot.service.core import Service
from bot.service.flows import FlowRegistry
from bot.service.rights import Operator
from bot.settings import Settings
from bot.telegram import checks, client
from bot.telegram.delivery import sender_for
from bot.telegram.errors import TelegramRefused
from bot.telegram.polling import poll
from bot.telegram.updates import Counters
from bot.telegram.webhook import WEBHOOK_PATH, set_webhook, webhook_secret
from bot.web.server import build_app
from dialogs.rules.hours import HoursError
from dialogs.rules.routing import RoutingError
from storage import crypto, privacy
from storage.crypto import PiiKeyError
from storage.db import sessionmaker
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Why the bot cannot start, in one line for the operator."""


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Telegram's refusals (bot/telegram/errors.py) as StartupError, with the same line."""
    try:
        yield
    except TelegramRefused as error:
        raise StartupError(str(error)) from None


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    flows: FlowRegistry
    bot: Any  # the transport's (bot/telegram/client.py), as is the dispatcher
    sender: Sender
    service: Service
    dispatcher: Any
    counters: Counters = field(default_factory=Counters)  # updates skipped on purpose

    async def close(self) -> None:
        await client.close(self.bot)
        await self.engine.dispose()


async def bootstrap(settings: Settings, limits: Limits | None = None) -> App:
    """Raises StartupError, or FlowError naming file, step and field of a broken flow."""
    if settings.bot_token is None or not settings.bot_token.get_secret_value():
        raise StartupError("LEADBOT_BOT_TOKEN is not set (get one from @BotFather)")
    flows = FlowRegistry.from_settings(settings)
    if settings.default_flow and not flows.knows(settings.default_flow):
        raise StartupError(f"LEADBOT_DEFAULT_FLOW: no flow '{settings.default_flow}' in "
                           f"{settings.flows_dir} (flows and experiments: "
                           f"{', '.join(name for name, _ in flows.entries())})")
    with refusals():
        bot = client.build_bot(settings)
    try:
        engine = await open_database(settings.database_url)
    except DatabaseError as error:
        await client.close(bot)
        raise StartupError(str(error)) from None
    sessions = sessionmaker(engine)
    try:
        crypto.configure(settings.pii_key.get_secret_value() if settings.pii_key else None)
        async with UnitOfWork(sessions) as uow:
            await check_pii_key(uow)
            await flows.snapshot(uow)
            await uow.commit()
    except (PiiKeyError, StartupError) as error:
        await client.close(bot)
        await engine.dispose()
        raise StartupError(str(error)) from None
    try:
        handoffs = Handoffs(HandoffConfig.from_settings(settings))
    except (HoursError, RoutingError) as error:
        await client.close(bot)
        await engine.dispose()
        raise StartupError(f"hand-off settings: {error}") from None
    sender = sender_for(bot, sessions, limits, on_unreachable=handoffs.unreachable)
    operator = Operator(company=settings.company_name, contact=settings.company_contact,
                        privacy_url=settings.privacy_url,
                        retention_days=settings.retention_days)
    service = Service(sessions, flows, default_flow=settings.default_flow,
                      on_commit=sender.wake, operator=operator, handoffs=handoffs)
    dispatcher = client.build_dispatcher(service)
    return App(settings, engine, sessions, flows, bot, sender, service, dispatcher)


async def check_pii_key(uow: UnitOfWork) -> None:
    """Encrypted personal data and LEADBOT_PII_KEY must match: a missing or wrong key is a
    refusal to start, never garbage read or plain text mixed in silently."""
    samples = await privacy.sealed_samples(uow)  # one from every table that has any
    if not samples:
        if crypto.current() is not None and (plain := await privacy.unsealed_count(uow)):
            log.warning("%s leads hold personal data stored before LEADBOT_PII_KEY was set; "
                        "`leadbot db rotate-key` encrypts them", plain)
        return
    if crypto.current() is None:
        raise StartupError("the database holds encrypted personal data but LEADBOT_PII_KEY "
                           "is not set")
    for sample in samples:
        crypto.unseal(sample)  # raises PiiKeyError naming the problem


async def check_telegram(app: App) -> None:
    """The token, the managers' chats and the menu of commands (bot/telegram/checks.py)."""
    with refusals():
        await checks.check_telegram(app.bot, app.settings, app.service.handoffs)


async def serve(app: App, stop: asyncio.Event, webhook: bool = False) -> None:
    """Runs until `stop` is set; the update in hand is finished first."""
    await check_telegram(app)
    background = [asyncio.create_task(app.sender.run(stop)), *schedule.start(app, stop)]
    try:
        if webhook:
            await serve_webhook(app, stop)
        else:
            with refusals():  # TokenRevoked, while polling, goes to the caller
                await poll(app.bot, app.dispatcher, app.counters, stop)
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)


async def serve_webhook(app: App, stop: asyncio.Event) -> None:
    settings = app.settings
    if not settings.webhook_url:
        raise StartupError("LEADBOT_WEBHOOK_URL is not set (the public https URL of this bot)")
    secret = webhook_secret(settings)
    server = web.AppRunner(build_app(app.bot, app.dispatcher, app.engine, secret,
                                     app.counters), access_log=None)
    await server.setup()
    try:
        site = web.TCPSite(server, settings.host, settings.port)
        try:
            await site.start()
        except OSError as error:
            raise StartupError(f"cannot listen on {settings.host}:{settings.port} "
                               f"(LEADBOT_HOST, LEADBOT_PORT): {error.strerror}") from None
        with refusals():
            await set_webhook(app.bot, settings, secret)
        log.info("webhook on %s:%s%s", settings.host, settings.port, WEBHOOK_PATH)
        await stop.wait()
    finally:
        await server.cleanup()  # waits for requests in hand: their updates commit first
