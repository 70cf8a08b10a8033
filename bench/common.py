"""What the benchmarks share: a migrated SQLite file of their own with the shipped flows
snapshotted in it, the state the bot is in after `leadbot run` started; and the Telegram
transport built as `leadbot run` builds it (LEADBOT_TRANSPORT, or a name given)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.service.flows import FlowRegistry
from bot.settings import Settings
from bot.transport import open_transport
from bot.transport.base import Transport
from storage.db.engine import create_engine, sessionmaker
from storage.db.migrate import upgrade
from storage.work.uow import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "dialogs" / "flows"


def run_this_checkout() -> None:
    """The `leadbot` commands a benchmark starts (the bot, the CLI) run the code of the
    checkout the benchmark is in. The virtual environment installs one checkout in editable
    mode, and its `leadbot` imports that one's code wherever it is started from: a side-by-
    side run from a git worktree of older code measured the same code twice until this."""
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)


async def fresh_sqlite(name: str) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession],
                                            FlowRegistry]:
    """A new SQLite file `name` in a temporary folder, migrated, the flows snapshotted."""
    engine = create_engine(f"sqlite:///{tempfile.mkdtemp()}/{name}")
    await upgrade(engine)
    sessions = sessionmaker(engine)
    flows = FlowRegistry.from_dir(FLOWS)
    async with UnitOfWork(sessions) as uow:
        await flows.snapshot(uow)
        await uow.commit()
    return engine, sessions, flows


def transport_for(name: str | None = None, api_url: str = "http://127.0.0.1:9",
                  token: str = "123456:BENCH-token") -> Transport:
    """The transport as `leadbot run` builds it from the settings: `name`, or
    LEADBOT_TRANSPORT's (aiogram unless set). The default URL is never called; give the
    fake Bot API's to send. Close it with `await transport.close()`."""
    settings = Settings(_env_file=None, bot_token=token, telegram_api_url=api_url,
                        **({"transport": name} if name else {}))
    return open_transport(settings)


def free_port() -> int:
    """A port for the bot's web server: the machine may run other bots (or a test run's
    holder) on 8080."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
