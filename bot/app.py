"""Wiring in one place: `bootstrap()` builds the app from settings (the CLI and the tests call
it), `serve()` runs it until asked to stop. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand
from aiogram.utils.token import TokenValidationError
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.database import DatabaseError, open_database
from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.jobs.followups import deliver_due
from bot.jobs.periodic import every
from bot.outbox.limits import Limits
from bot.outbox.sender import Sender
from bot.service.core import Service
from bot.service.flows import FlowRegistry
from bot.service.rights import Operator
from bot.settings import Settings
from bot.telegram.delivery import sender_for
from bot.telegram.polling import ALLOWED_UPDATES, Poller
from bot.telegram.router import build_router
from bot.telegram.updates import Counters
from bot.texts import COMMANDS
from bot.web.server import WEBHOOK_PATH, build_app
from dialogs.rules.hours import HoursError
from dialogs.rules.routing import RoutingError
from storage import crypto, privacy
from storage.crypto import PiiKeyError
from storage.db import sessionmaker
from storage.models import utcnow
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
PRUNE_BATCH = 5000  # outbox rows deleted per transaction


class StartupError(Exception):
    """Why the bot cannot start, in one line for the operator."""


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    flows: FlowRegistry
    bot: Bot
    sender: Sender
    service: Service
    dispatcher: Dispatcher
    counters: Counters = field(default_factory=Counters)  # updates skipped on purpose

    async def close(self) -> None:
        await self.bot.session.close()
        await self.engine.dispose()


async def bootstrap(settings: Settings, limits: Limits | None = None) -> App:
    """Raises StartupError, or FlowError naming file, step and field of a broken flow."""
    if settings.bot_token is None or not settings.bot_token.get_secret_value():
        raise StartupError("LEADBOT_BOT_TOKEN is not set (get one from @BotFather)")
    flows = FlowRegistry.from_settings(settings)
    if settings.default_flow and settings.default_flow not in flows.latest:
        raise StartupError(f"LEADBOT_DEFAULT_FLOW: no flow '{settings.default_flow}' in "
                           f"{settings.flows_dir} (flows: {', '.join(sorted(flows.latest))})")
    try:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        bot = Bot(settings.bot_token.get_secret_value(), session=session)
    except TokenValidationError:
        raise StartupError("LEADBOT_BOT_TOKEN is malformed: it looks like "
                           "123456789:AAE... (digits, a colon, then letters)") from None
    try:
        engine = await open_database(settings.database_url)
    except DatabaseError as error:
        await session.close()
        raise StartupError(str(error)) from None
    sessions = sessionmaker(engine)
    try:
        crypto.configure(settings.pii_key.get_secret_value() if settings.pii_key else None)
        async with UnitOfWork(sessions) as uow:
            await check_pii_key(uow)
            await flows.snapshot(uow)
            await uow.commit()
    except (PiiKeyError, StartupError) as error:
        await session.close()
        await engine.dispose()
        raise StartupError(str(error)) from None
    try:
        handoffs = Handoffs(HandoffConfig.from_settings(settings))
    except (HoursError, RoutingError) as error:
        await session.close()
        await engine.dispose()
        raise StartupError(f"hand-off settings: {error}") from None
    sender = sender_for(bot, sessions, limits, on_unreachable=handoffs.unreachable)
    operator = Operator(company=settings.company_name, contact=settings.company_contact,
                        privacy_url=settings.privacy_url,
                        retention_days=settings.retention_days)
    service = Service(sessions, flows, default_flow=settings.default_flow,
                      on_commit=sender.wake, operator=operator, handoffs=handoffs)
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router(service))
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


async def handoff_timers(app: App, now: datetime | None = None) -> int:
    """SLA reminders and escalations that are due (durable rows: they fire after a
    restart too). Returns how many leads were handled."""
    async with UnitOfWork(app.sessions) as uow:
        fired = await app.service.handoffs.tick(uow, now or utcnow())
        await uow.commit()
    if fired:
        app.sender.wake()
    return fired


async def anonymise_expired(app: App, now: datetime | None = None) -> int:
    """The retention job: conversations (and their leads) untouched for
    LEADBOT_RETENTION_DAYS are anonymised as /forget does. Returns how many."""
    now = now or utcnow()
    before = now - timedelta(days=app.settings.retention_days)
    done = 0
    while True:
        async with UnitOfWork(app.sessions) as uow:
            found = await privacy.expired(uow, before)
            for user_id, ids in found.items():
                await privacy.erase(uow, user_id, now=now, reason="retention",
                                    conversation_ids=ids)
                await app.service.handoffs.erased(uow, user_id, ids)
            await uow.commit()
        done += sum(len(ids) for ids in found.values())
        if not found:
            break
    if done:  # old copies: the SQLite log, PostgreSQL's dead tuples
        await privacy.purge_old_copies(app.engine, vacuum=True)
    if done:
        log.info("retention: anonymised %s conversations older than %s days", done,
                 app.settings.retention_days)
    return done


def webhook_secret(settings: Settings) -> str:
    """LEADBOT_WEBHOOK_SECRET, or one derived from the token: the same in every process."""
    if settings.webhook_secret:
        return settings.webhook_secret.get_secret_value()
    assert settings.bot_token is not None
    return hashlib.sha256(b"leadbot-webhook:" + settings.bot_token.get_secret_value()
                          .encode()).hexdigest()[:48]


async def check_telegram(app: App) -> None:
    try:
        me = await app.bot.get_me()
    except TelegramUnauthorizedError:
        raise StartupError("Telegram refused LEADBOT_BOT_TOKEN (revoked or mistyped?)") from None
    except (TelegramNetworkError, TelegramAPIError, OSError) as error:
        raise StartupError(f"cannot reach the Bot API at {app.settings.telegram_api_url}: "
                           f"{error}") from None
    log.info("running as @%s", me.username)
    app.service.handoffs.bot_username = me.username or ""
    await check_managers_chats(app)
    try:
        for language, commands in COMMANDS.items():
            await app.bot.set_my_commands([BotCommand(command=c, description=d)
                                           for c, d in commands], language_code=language)
        await app.bot.set_my_commands([BotCommand(command=c, description=d)
                                       for c, d in COMMANDS["en"]])
    except (TelegramAPIError, OSError) as error:  # a menu of commands is not worth a refusal
        log.warning("could not register the bot's commands: %s", error)


async def check_managers_chats(app: App) -> None:
    """Every chat cards go to must be one the bot is in: a card sent nowhere is a lead
    nobody calls. One clear line instead."""
    config = app.service.handoffs.config
    chats = {("LEADBOT_MANAGERS_CHAT_ID", config.chat_id),
             ("LEADBOT_ESCALATION_CHAT_ID", config.escalation_chat_id)}
    chats |= {(f"route '{r.name}' in LEADBOT_ROUTING_FILE", r.chat_id)
              for r in config.routing.routes}
    for setting, chat_id in sorted(chats, key=str):
        if chat_id is None:
            continue
        try:
            await app.bot.get_chat(chat_id)
        except ClientDecodeError:
            continue  # Telegram said ok; only its answer is newer than our client's model
        except (AiogramError, OSError) as error:
            raise StartupError(f"{setting}: the bot cannot reach chat {chat_id} (add the bot "
                               f"to the group; ids of groups are negative): {error}") from None


async def prune(app: App, now: datetime | None = None) -> dict[str, int]:
    """The clean-up job: sent (and failed, dropped) outbox rows, update ids and delivery
    events older than LEADBOT_PRUNE_AFTER_DAYS are deleted, in batches; the rows still
    needed and every event of the funnel are kept (storage/repositories.py). Returns how
    many rows of each."""
    now = now or utcnow()
    before = now - timedelta(days=app.settings.prune_after_days)
    async with UnitOfWork(app.sessions) as uow:
        removed = {"update ids": await uow.updates.prune(before),
                   "delivery events": await uow.events.prune_delivery(before),
                   "outbox rows": 0}
        await uow.commit()
    while True:  # in batches: a first run over a big backlog holds no lock for long
        async with UnitOfWork(app.sessions) as uow:
            batch = await uow.outbox.prune(before, PRUNE_BATCH)
            await uow.commit()
        removed["outbox rows"] += batch
        if batch < PRUNE_BATCH:
            break
    if any(removed.values()):
        log.info("pruned what is older than %s days: %s", app.settings.prune_after_days,
                 ", ".join(f"{count} {what}" for what, count in removed.items()))
    return removed


async def send_follow_ups(app: App) -> None:
    if await deliver_due(app.sessions, utcnow()):
        app.sender.wake()


async def serve(app: App, stop: asyncio.Event, webhook: bool = False) -> None:
    """Runs until `stop` is set; the update in hand is finished first."""
    await check_telegram(app)
    background = [asyncio.create_task(app.sender.run(stop)),
                  asyncio.create_task(every(3600, stop, lambda: prune(app), "pruning")),
                  asyncio.create_task(every(30, stop, lambda: send_follow_ups(app),
                                            "follow-ups")),
                  asyncio.create_task(every(3600, stop, lambda: anonymise_expired(app),
                                            "retention")),
                  asyncio.create_task(every(10, stop, lambda: handoff_timers(app),
                                            "hand-off timers"))]
    try:
        if webhook:
            await serve_webhook(app, stop)
        else:
            try:  # polling and a webhook exclude each other (Bot API, getUpdates)
                await app.bot.delete_webhook(drop_pending_updates=False)
            except (TelegramAPIError, OSError) as error:
                raise StartupError(f"cannot switch the bot to polling: {error}") from None
            await Poller(app.bot, app.dispatcher, counters=app.counters).run(stop)
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
        url = settings.webhook_url.rstrip("/") + WEBHOOK_PATH
        try:
            await app.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        except (TelegramAPIError, OSError) as error:
            raise StartupError(f"Telegram refused the webhook {url} (LEADBOT_WEBHOOK_URL must "
                               f"be public https; LEADBOT_WEBHOOK_SECRET A-Z a-z 0-9 _ -): "
                               f"{error}") from None
        log.info("webhook on %s:%s%s", settings.host, settings.port, WEBHOOK_PATH)
        await stop.wait()
    finally:
        await server.cleanup()  # waits for requests in hand: their updates commit first
