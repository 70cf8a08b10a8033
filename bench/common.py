"""What the benchmarks share: a migrated SQLite file of their own with the shipped flows
snapshotted in it, the state the bot is in after `leadbot run` started."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.service.flows import FlowRegistry
from storage.db import create_engine, sessionmaker
from storage.migrate import upgrade
from storage.uow import UnitOfWork

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
