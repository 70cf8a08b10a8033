"""Wiring in one place: `bootstrap()` builds the app from settings (the CLI and the tests call
it), `serve()` runs it until asked to stop. Nothing is built at import time.

May import: anything in bot/, storage, dialogs; never a Telegram library (the transport,
bot/telegram/ for aiogram or bot/ptb/ for python-telegram-bot, is chosen by
LEADBOT_TRANSPORT and reached through bot/transport/: the Bot, its checks, polling and the
webhook).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.database import DatabaseError, check_url, hold_sqlite, open_database, safe_url
from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.crm.inbound.config import inbound_from
from bot.deliveries.http import CrmLimits
from bot.deliveries.targets import (
    CrmConfigError,
    ad_targets_from,
    check_telegram_webhook,
    named_from,
    recipients_from,
    specs,
    targets_from,
)
from bot.deliveries.worker import Worker
from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.jobs import schedule
from bot.links import LinkError, declared_links
from bot.logsafe import SETTINGS_ONLY
from bot.metrics import Metrics
from bot.outbox.fleet import LOST, Fleet
from bot.outbox.limits import Limits
from bot.outbox.sender import Sender
from bot.service.core import Service
from bot.service.flows import FlowRegistry
from bot.service.rights import Operator
from bot.settings import SettingError, Settings, flows_folder
from bot.transport import open_transport, token_problem
from bot.transport.base import Transport
from bot.transport.errors import CallLater, TelegramRefused
from bot.transport.polling import ALLOWED_UPDATES, Poller
from bot.transport.updates import Counters
from bot.transport.webhook import WEBHOOK_PATH, webhook_route, webhook_secret, webhook_url
from bot.web.server import web_app
from dialogs.rules.hours import HoursError
from dialogs.rules.routing import RoutingError
from storage.db import gate as write_gate
from storage.db.engine import sessionmaker
from storage.db.locks import StartupLockTimeout, lock_startup
from storage.deliveries import rows as crm
from storage.privacy import rekey
from storage.schema import sealing
from storage.schema.sealing import PiiKeyError
from storage.work import tracking
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)


WEBHOOK_TRIES = 5


class StartupError(Exception):
    """Why the bot cannot start, in one line for the operator."""


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Telegram's refusals (bot/transport/errors.py) as StartupError, with the same line."""
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
    transport: Transport  # LEADBOT_TRANSPORT's (bot/transport/)
    sender: Sender
    service: Service
    counters: Counters = field(default_factory=Counters)  # updates skipped on purpose
    metrics: Metrics = field(default_factory=Metrics)  # /metrics (bot/metrics.py)
    address: tuple[str, int] | None = None  # where the web server listens, once it does
    crm: Worker | None = None  # leads into the CRM, conversions to the ad platforms
    # (bot/deliveries/): one worker for every target, when any is set
    fleet: Fleet | None = None  # PostgreSQL: this process among the others (docs/scaling.md)
    inbound: Any = None  # sales back from the CRM (bot/deliveries/crm/inbound/), if routed

    @property
    def bot(self) -> Any:
        """The transport's Bot (aiogram's or python-telegram-bot's)."""
        return self.transport.bot

    def webhook_route(self, secret: str) -> Any:
        """The handler of POST WEBHOOK_PATH (bot/transport/webhook.py), for bot/web/server.py."""
        return webhook_route(self.transport, secret, self.counters)

    async def close(self) -> None:
        if self.crm is not None:
            await self.crm.close()
        await self.transport.close()
        await self.engine.dispose()


async def bootstrap(settings: Settings, limits: Limits | None = None,
                    crm_limits: CrmLimits | None = None, webhook: bool = False,
                    alone: bool = False, ad_limits: AdLimits | None = None) -> App:
    """Raises StartupError, or FlowError naming file, step and field of a broken flow.
    Every setting is read first: a mistake is told at once, in one line, before anything is
    logged, created or migrated; then the first log line (`started`), then the database and
    the transport are opened. `alone` (`leadbot run`): a SQLite file is refused while
    another process has it, before anything is migrated (bot/database.py's hold_sqlite)."""
    if (problem := token_problem(settings)) is not None:
        raise StartupError(problem)
    try:
        check_url(settings.database_url)
        flows_folder(settings)
    except DatabaseError as error:
        raise StartupError(str(error)) from None
    except SettingError as error:
        raise StartupError(f"bad setting {error}") from None
    try:
        flows = FlowRegistry.from_settings(settings)  # the recipients: the conversions file
    except CrmConfigError as error:
        raise StartupError(str(error)) from None
    if settings.default_flow and not flows.knows(settings.default_flow):
        raise StartupError(f"LEADBOT_DEFAULT_FLOW: no flow '{settings.default_flow}' in "
                           f"{settings.flows_dir} (flows and experiments: "
                           f"{', '.join(name for name, _ in flows.entries())})")
    try:
        links = declared_links(settings, flows)  # LEADBOT_LINKS_FILE
    except LinkError as error:
        raise StartupError(str(error)) from None
    steps = {step for r in flows.latest.values() for step in r.flow.steps}
    try:
        targets = targets_from(settings, crm_limits, steps)
        inbound = inbound_from(settings, targets)  # the CRMs' own: sales come back
        ads = ad_targets_from(settings, ad_limits)  # LEADBOT_CONVERSIONS_FILE's platforms
        if webhook:  # `leadbot run --webhook`: Telegram's webhook settings too
            check_telegram_webhook(settings)
    except CrmConfigError as error:
        raise StartupError(str(error)) from None
    crm.configure(specs([*targets, *ads]))
    # every setting read before the database and the transport are opened (aiogram's types
    # take seconds to import): a mistake is told at once, and nothing is migrated for it
    try:
        handoffs = Handoffs(HandoffConfig.from_settings(settings))
    except (HoursError, RoutingError) as error:
        raise StartupError(f"hand-off settings: {error}") from None
    try:
        sealing.configure(settings.pii_key.get_secret_value() if settings.pii_key else None)
    except PiiKeyError as error:
        raise StartupError(str(error)) from None
    started(settings, flows)
    try:
        if alone:
            hold_sqlite(settings.database_url)
        engine = await open_database(settings.database_url)
    except DatabaseError as error:
        raise StartupError(str(error)) from None
    try:
        with refusals():
            transport = open_transport(settings)
    except BaseException:
        await engine.dispose()
        raise
    sessions = sessionmaker(engine)
    try:
        async with UnitOfWork(sessions) as uow:  # one process at a time on PostgreSQL:
            await lock_startup(uow.session, "record the flows' versions")  # one row each
            await check_pii_key(uow)
            await flows.snapshot(uow)
            await tracking.save_declared(uow.session, links)
            await uow.commit()
    except (PiiKeyError, StartupError, StartupLockTimeout) as error:
        await transport.close()
        await engine.dispose()
        raise StartupError(str(error)) from None
    limits = (limits or Limits()).with_bulk_rate(settings.broadcast_rate)  # as scaled
    sender = Sender(transport.delivery, sessions, limits, on_unreachable=handoffs.unreachable)
    fleet = None
    if engine.dialect.name == "postgresql":  # any number of processes may share it
        fleet = Fleet(settings.database_url, sender, sessions)  # started by serve()
    operator = Operator(company=settings.company_name, contact=settings.company_contact,
                        privacy_url=settings.privacy_url,
                        retention_days=settings.retention_days,
                        recipients=recipients_from(settings), named=named_from(settings))
    timeout = max((crm_limits or CrmLimits()).timeout,
                  (ad_limits or AdLimits()).timeout if ads else 0.0)
    worker = Worker(sessions, [*targets, *ads], managers_chat_id=settings.managers_chat_id,
                    language=handoffs.config.language,
                    alert_after=timedelta(hours=settings.crm_alert_hours),
                    on_outbox=sender.wake, lease=timedelta(seconds=timeout + 15)
                    ) if targets or ads else None

    def committed() -> None:  # an update's outbox rows reach the sender by on_outbox
        if worker is not None:  # (the short path); its CRM delivery rows, the worker
            worker.wake()

    service = Service(sessions, flows, default_flow=settings.default_flow,
                      on_commit=committed, on_outbox=sender.submit, operator=operator,
                      handoffs=handoffs)
    transport.attach(service)
    sender.busy = lambda: service.in_flight  # a broadcast's messages give updates the CPU
    app = App(settings, engine, sessions, flows, transport, sender, service, crm=worker,
              fleet=fleet)
    if inbound is not None:
        app.inbound = inbound.build(sessions, language=handoffs.config.language,
                                    on_commit=committed, on_outbox=sender.wake,
                                    lease=timedelta(seconds=(crm_limits or CrmLimits())
                                                    .timeout + 15))
    app.metrics.watch(app)  # metrics: the app's counters, its database's errors,
    service.received = app.metrics.received  # when updates arrive
    sender.accepted = app.metrics.accepted  # and when Telegram accepts their replies
    return app


def started(settings: Settings, flows: FlowRegistry) -> None:
    """The first log line: what runs, on what, with which flows (README, Running the bot)."""
    log.info("starting: transport: %s (LEADBOT_TRANSPORT); database: %s; flows: %s",
             settings.transport, safe_url(settings.database_url),
             ", ".join(f"{r.flow.id} v{r.flow.version}" for _, r in sorted(
                 flows.latest.items())) or "none", extra={SETTINGS_ONLY: True})


async def check_pii_key(uow: UnitOfWork) -> None:
    """Encrypted personal data and LEADBOT_PII_KEY must match: a missing or wrong key is a
    refusal to start, never garbage read or plain text mixed in silently."""
    samples = await rekey.sealed_samples(uow)  # one from every table that has any
    if not samples:
        if sealing.current() is not None and (plain := await rekey.unsealed_count(uow)):
            log.warning("%s leads hold personal data stored before LEADBOT_PII_KEY was set; "
                        "`leadbot db rotate-key` encrypts them", plain)
        return
    if sealing.current() is None:
        raise StartupError("the database holds encrypted personal data but LEADBOT_PII_KEY "
                           "is not set")
    for sample in samples:
        sealing.unseal(sample)  # raises PiiKeyError naming the problem


async def check_telegram(app: App) -> None:
    """The token, the managers' chats and the menu of commands (the transport's checks).
    The first thing serve() does (the transport in use was named by bootstrap's first log
    line, once the settings proved good: a bad setting stays the one line it is)."""
    with refusals():
        await app.transport.check(app.settings, app.service.handoffs)


async def serve(app: App, stop: asyncio.Event, webhook: bool = False) -> None:
    """Runs until `stop` is set; the update in hand is finished first. The web server
    (health, metrics, dashboard; the webhook in webhook mode) runs in both modes. On
    PostgreSQL the sender takes its number first (bot/outbox/fleet.py), and gives it up
    last, once its calls in hand are marked."""
    settings = app.settings
    if webhook:
        try:
            check_telegram_webhook(settings)
        except CrmConfigError as error:
            raise StartupError(str(error)) from None
    await check_telegram(app)
    secret = webhook_secret(settings) if webhook else None
    if app.fleet is not None:
        try:
            await app.fleet.start()
        except LOST as error:
            raise StartupError(f"the sender cannot take its lock in the database: "
                               f"{type(error).__name__}: {error}") from None
    sent = asyncio.Event()  # the sender is done: only then may its lock go
    fleet = asyncio.create_task(app.fleet.run(sent)) if app.fleet is not None else None
    try:
        async with listening(app, secret):
            await _work(app, stop, secret)
    finally:
        sent.set()
        if fleet is not None:
            await fleet


async def _work(app: App, stop: asyncio.Event, secret: str | None) -> None:
    """The sender, the jobs, the CRM worker, and updates by webhook (`secret` given) or
    polling, until `stop`."""
    with write_gate.background():  # on SQLite their writes wait for the updates' (gate.py)
        background = [asyncio.create_task(app.sender.run(stop)), *schedule.start(app, stop)]
        if app.crm is not None:
            background.append(asyncio.create_task(app.crm.run(stop)))
    if app.inbound is not None and app.inbound.reader is not None:
        background.append(asyncio.create_task(app.inbound.reader.run(stop)))
    try:
        if secret is not None:
            await set_webhook(app, secret)
            log.info("webhook on %s:%s%s", *app.address or ("?", "?"), WEBHOOK_PATH)
            await stop.wait()
        else:
            with refusals():  # TokenRevoked, while polling, goes to the caller
                await app.transport.delete_webhook()
            await Poller(app.transport, counters=app.counters).run(stop)
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)


async def set_webhook(app: App, secret: str) -> None:
    """Tells Telegram the webhook. Several processes started together each do: a 429
    (retry_after) is waited out, WEBHOOK_TRIES times, never a reason to stop."""
    for attempt in range(1, WEBHOOK_TRIES + 1):
        try:
            with refusals():
                await app.transport.set_webhook(webhook_url(app.settings), secret,
                                                ALLOWED_UPDATES)
            return
        except CallLater as later:
            if attempt == WEBHOOK_TRIES:
                raise StartupError(f"Telegram kept answering 429 to setWebhook "
                                   f"({WEBHOOK_TRIES} tries)") from None
            log.info("setWebhook: Telegram asks to wait %g s (other processes are "
                     "setting it too)", later.seconds)
            await asyncio.sleep(min(later.seconds, 60.0))


@contextlib.asynccontextmanager
async def listening(app: App, secret: str | None) -> AsyncIterator[None]:
    """The web server on LEADBOT_HOST:LEADBOT_PORT. A port that is taken stops the start
    with a clear line: health checks and metrics that silently are not there would mislead
    whatever watches the bot (port 0: any free port, for tests)."""
    settings = app.settings
    server = web.AppRunner(web_app(app, app.metrics, secret), access_log=None)
    await server.setup()
    try:
        site = web.TCPSite(server, settings.host, settings.port)
        try:
            await site.start()
        except OSError as error:
            raise StartupError(f"cannot listen on {settings.host}:{settings.port} "
                               f"(LEADBOT_HOST, LEADBOT_PORT): {error.strerror}") from None
        app.address = (settings.host, server.addresses[0][1])  # the port 0 gave
        log.info("web server on %s:%s (/healthz, /readyz, /metrics, /admin)", *app.address)
        yield
    finally:
        await server.cleanup()  # waits for requests in hand: their updates commit first
