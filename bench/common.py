"""What the benchmarks share: a migrated SQLite file of their own with the shipped flows
snapshotted in it, the state the bot is in after `leadbot run` started; and the Telegram
transport built as `leadbot run` builds it (LEADBOT_TRANSPORT, or a name given)."""

from __future__ import annotations

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

FLOWS = Path(__file__).resolve().parent.parent / "dialogs" / "flows"


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
