"""`leadbot run` and `leadbot links`: the process around the app (signals, logging, errors)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys

from bot.cli import arguments
from bot.logsafe import configure_logging
from bot.service.flows import FlowRegistry
from bot.settings import Settings, flows_folder
from dialogs.format.problems import FlowError


def tune_gc() -> None:
    """After start-up: the Telegram library's types, SQLAlchemy and the flows are a large
    heap that lives as long as the process, and every full collection scanned all of it.
    Freezing it and collecting the youngest generation less often: PostgreSQL 325 -> ~417 updates/s
    through the dispatcher (bench/pipeline.py; with the collector off: 409)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def run(settings: Settings, webhook: bool = False) -> int:
    # the transport (a Telegram library) takes ~2 s to import: only when running
    from bot.app import StartupError
    from bot.transport.errors import TokenRevoked

    configure_logging(settings.log_level)  # phones, emails and names masked (bot/logsafe.py)
    if settings.log_level != "DEBUG":  # not a line per migration: bot/database.py says
        logging.getLogger("alembic").setLevel(logging.WARNING)  # "migrated from X to Y"
    from bot.database import release_sqlite

    try:
        asyncio.run(_run(settings, webhook))
    except StartupError as error:
        print(f"leadbot: {error}", file=sys.stderr)
        return 1
    except FlowError as error:
        print(f"leadbot: a flow is broken, not starting:\n{error}", file=sys.stderr)
        return 1
    except TokenRevoked:
        print("leadbot: Telegram refused LEADBOT_BOT_TOKEN while running (revoked?); stopped",
              file=sys.stderr)
        return 1
    finally:
        release_sqlite()  # the SQLite file's lock, held while it ran (bootstrap's `alone`)
    return 0


async def _run(settings: Settings, webhook: bool) -> None:
    from bot.app import bootstrap, serve

    app = await bootstrap(settings, webhook=webhook, alone=True)  # SQLite: one process
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)  # finish the update in hand, then stop
    try:
        await serve(app, stop, webhook)
    finally:
        await app.close()


def deep_links(settings: Settings, source: str | None, username: str | None) -> int:
    """One t.me link per entry (a flow, an experiment once by its name); `source` is checked
    against every entry before anything is printed (BadArgument), `username` by its type."""
    flows = FlowRegistry.from_dir(flows_folder(settings))
    entries = [name for name, _ in flows.entries()]
    source = arguments.source(source, entries)
    if username is None:
        from bot.transport import bot_username  # the transport: only when asked

        try:
            username = asyncio.run(bot_username(settings))
        except LookupError as error:
            print(f"leadbot links: {error} (or give --username)", file=sys.stderr)
            return 1
    for name in entries:
        payload = f"{name}{arguments.SEPARATOR}{source}" if source else name
        print(f"{name}: https://t.me/{username.lstrip('@')}?start={payload}")
    return 0
