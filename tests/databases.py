"""Real databases for tests: a SQLite file per test, and a PostgreSQL database shared by the
run (tables emptied per test; LEADBOT_TEST_POSTGRES_DB names it, default leadbot_test), one per
pytest-xdist worker (`leadbot_test_gw0`, `leadbot_test_gw1`: a worker empties only its own). In
CI a missing PostgreSQL fails the run; elsewhere those tests are skipped with the reason."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db.engine import create_engine
from storage.db.migrate import upgrade
from tests.conftest import in_ci

POSTGRES_ADMIN = os.environ.get("LEADBOT_TEST_POSTGRES_ADMIN",
                                "postgresql://postgres@127.0.0.1:5432/postgres")


def _run_database() -> str:
    """A run of its own (a second work tree, a helper) names another database, so two runs at
    once never empty each other's tables; within a run each xdist worker (PYTEST_XDIST_WORKER,
    gw0, gw1...) gets `<name>_<worker>`, so two workers never truncate under each other's
    tests, and their advisory locks (per database in PostgreSQL) never meet. Without xdist
    (`-n0`, `-p no:xdist`) the name is used as it is."""
    name = os.environ.get("LEADBOT_TEST_POSTGRES_DB", "leadbot_test")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{name}_{worker}" if worker else name


POSTGRES_DB = _run_database()
TABLES = ("job_runs", "crm_deliveries", "crm_links", "handoffs", "flow_versions", "outbox",
          "follow_ups", "events", "consents", "answers", "leads", "conversations", "prospects",
          "processed_updates", "tracking_links", "clicks", "spend", "crm_inbound",
          "admin_sessions", "admin_links", "admin_people", "broadcast_recipients",
          "broadcasts")
_migrated: set[str] = set()


async def postgres_url() -> str:
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        message = f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {error}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1",
                                      POSTGRES_DB)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{POSTGRES_DB}"')
    finally:
        await admin.close()
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + POSTGRES_DB


_template: list[Path] = []  # a SQLite file migrated once for the run


async def migrated_sqlite(path: Path) -> str:
    """A SQLite database at `path`, at the head revision: a copy of one file the run
    migrated once (the migrations take ~0.3 s a database, hundreds of times a run; from
    nothing they are tested in tests/storage/test_progress.py and `leadbot db upgrade`).
    Its URL; a file already there is left alone."""
    if not _template:
        folder = Path(tempfile.mkdtemp(prefix="leadbot-template-"))
        atexit.register(shutil.rmtree, folder, True)
        engine = create_engine(f"sqlite:///{folder}/template.db")
        await upgrade(engine)
        await engine.dispose()  # the last connection closed: the WAL is checkpointed away
        _template.append(folder / "template.db")
    if not path.exists():
        shutil.copyfile(_template[0], path)
    return f"sqlite:///{path}"


async def database_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return await migrated_sqlite(Path(tmp_path) / "leadbot.db")
    return await postgres_url()


async def fresh_engine(backend: str, tmp_path) -> AsyncEngine:
    url = await database_url(backend, tmp_path)
    engine = create_engine(url)
    if backend == "postgresql" and url not in _migrated:
        await upgrade(engine)
        _migrated.add(url)
    if backend == "postgresql":
        async with engine.begin() as connection:
            # The consent ledger refuses TRUNCATE (its triggers); emptying the test database
            # between tests is the one place allowed to, as the superuser, with triggers off.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text(
                f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return engine


@contextlib.asynccontextmanager
async def own_database(backend: str, tmp_path, name: str):
    """An engine on a database of a test's own, for a test that migrates it down and back
    up: a SQLite file, or a PostgreSQL database `<the run's>_<name>` made anew for it and
    dropped afterwards."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path}/migrated.db")
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    await postgres_url()  # skips (or fails in CI) when PostgreSQL is not there
    name = f"{POSTGRES_DB}_{name}"

    async def recreate(create: bool) -> None:
        admin = await asyncpg.connect(POSTGRES_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            if create:
                await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    await recreate(True)
    engine = create_engine(POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name)
    try:
        yield engine
    finally:
        await engine.dispose()
        await recreate(False)
