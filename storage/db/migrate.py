"""Schema migrations by Alembic, run at start and by `leadbot db upgrade`. Never create_all."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db.locks import STARTUP_WAIT, lock_startup

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head",
                  wait: float = STARTUP_WAIT) -> str | None:
    """One transaction. On PostgreSQL it first takes the start-up lock (storage/db/locks.py):
    processes started at once on one database migrate one after the other, and those after
    the first find it at `revision` and change nothing (before: all three ran the first
    migration, and two died of a duplicate key of pg_type). Returns the revision the
    database was at when the lock was got (None: a new database); StartupLockTimeout after
    `wait` seconds of waiting for another process."""
    config = alembic_config()

    def run(connection) -> str | None:
        found = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        return found

    async with engine.begin() as connection:
        await lock_startup(connection, "migrate the database", wait)
        return await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""
