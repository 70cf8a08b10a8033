"""Processes started at once on one PostgreSQL database: the migrations run under the
start-up advisory lock (storage/db/locks.py), one process after the other; those after the
first find the database at head and change nothing. Before the lock, upgrade() three times
at once on an empty database failed two of them (`duplicate key value violates unique
constraint "pg_type_typname_nsp_index"`). A waiter says it waits, and gives up in time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from storage.db.engine import create_engine
from storage.db.locks import STARTUP, StartupLockTimeout, lock_startup
from storage.db.migrate import current_revision, head_revision, upgrade
from tests.databases import POSTGRES_ADMIN, POSTGRES_DB, postgres_url


@contextlib.asynccontextmanager
async def brand_new_database(purpose: str) -> AsyncIterator[str]:
    """A PostgreSQL database nobody has migrated, named for this run and `purpose` (unique:
    runs side by side never share one), dropped afterwards; its URL."""
    await postgres_url()  # skips (or fails in CI) when PostgreSQL is not there
    name = f"{POSTGRES_DB}_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN)
        try:  # FORCE: a process a failed test left behind does not keep it
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def empty_url():
    async with brand_new_database("startup") as url:
        yield url


@contextlib.asynccontextmanager
async def held(url: str) -> AsyncIterator[None]:
    """The start-up lock held by another connection (another process) until the block ends."""
    holder = await asyncpg.connect(url.replace("postgresql://", "postgres://"))
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", STARTUP)
            yield
    finally:
        await holder.close()


async def test_three_upgrades_at_once_on_an_empty_database_migrate_it_once(empty_url):
    engines = [create_engine(empty_url) for _ in range(3)]
    try:
        # without the lock: two die of a duplicate key, or (Alembic's context being global
        # to the process) all three hang on each other's locks; hence the limit
        found = await asyncio.wait_for(
            asyncio.gather(*(upgrade(engine) for engine in engines)), 120)
        # whichever came first found nothing and migrated; the others, after it, found head
        assert sorted(found, key=lambda r: r or "") == [None, head_revision(), head_revision()]
        assert await current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_process_that_must_wait_says_so_then_migrates_after_the_holder(
        empty_url, caplog):
    caplog.set_level(logging.INFO, logger="storage.db.locks")
    engine = create_engine(empty_url)
    try:
        async with held(empty_url):
            migrating = asyncio.create_task(upgrade(engine))

            async def waiting() -> bool:
                return "waiting for another process to migrate the database" in caplog.text
            while not await waiting():
                assert not migrating.done(), migrating.result()
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            assert not migrating.done()  # still waiting, nothing migrated under the holder
            assert await current_revision(engine) is None
        assert await migrating is None  # the holder is gone: it migrated
        assert await current_revision(engine) == head_revision()
        assert caplog.text.count("waiting for another process") == 1
    finally:
        await engine.dispose()


async def test_a_process_that_waits_too_long_gives_up_and_changes_nothing(empty_url):
    engine = create_engine(empty_url)
    try:
        async with held(empty_url):
            with pytest.raises(StartupLockTimeout) as gave_up:
                await upgrade(engine, wait=0.5)
        assert str(gave_up.value) == (
            "gave up after waiting 0.5 s for another process to migrate the database (it "
            f"holds PostgreSQL advisory lock {STARTUP}: see pg_locks)")
        assert await current_revision(engine) is None
        await upgrade(engine)  # the lock is free: nothing was left behind
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_the_lock_restores_lock_timeout_for_the_rest_of_its_transaction(empty_url):
    """The wait's limit is the waiter's alone: the migrations after it wait as before."""
    engine = create_engine(empty_url)

    async def lock_then_read() -> str:
        async with engine.begin() as connection:
            await lock_startup(connection, wait=30)
            return await connection.scalar(text("SHOW lock_timeout"))
    try:
        default = await lock_then_read()  # the lock free: taken at once
        async with held(empty_url):
            waiter = asyncio.create_task(lock_then_read())
            await asyncio.sleep(0.3)
            assert not waiter.done()
        assert await waiter == default
    finally:
        await engine.dispose()


async def test_on_sqlite_the_lock_is_nothing(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/one.db")
    try:
        assert await upgrade(engine) is None
        assert await upgrade(engine) == head_revision()  # at head: nothing to do
    finally:
        await engine.dispose()
