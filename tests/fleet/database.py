"""A PostgreSQL database of the run's own: created with a unique name, migrated to head
before any bot process starts (processes racing the migrations are issue 22's start-up item,
not what the fleet measures), dropped afterwards with whatever connections are left."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import asyncpg

from storage.db.engine import create_engine
from storage.db.migrate import upgrade

ADMIN = os.environ.get("LEADBOT_TEST_POSTGRES_ADMIN",
                       "postgresql://postgres@127.0.0.1:5432/postgres")


async def reachable() -> str | None:
    """None when PostgreSQL answers at ADMIN, else why not."""
    try:
        connection = await asyncpg.connect(ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        return f"PostgreSQL is not reachable at {ADMIN}: {error}"
    await connection.close()
    return None


@contextlib.asynccontextmanager
async def scratch_database(tag: str = "run", migrate: bool = True) -> AsyncIterator[str]:
    """The URL of a new database `leadbot_fleet_<tag>_<pid>_<random>`; dropped on exit."""
    name = f"leadbot_fleet_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(ADMIN, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        if migrate:
            engine = create_engine(url)
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
        yield url
    finally:
        admin = await asyncpg.connect(ADMIN, timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def claims(url: str) -> dict[str, object]:
    """The hand-offs as the database has them: how many, how many claimed, and the
    prospects whose lead has other than one `claimed` event or other than one hand-off."""
    handoffs = await query(url, "SELECT user_id, claimed_by FROM handoffs")
    events = await query(url, "SELECT user_id, count(*) AS n FROM events "
                              "WHERE kind = 'claimed' GROUP BY user_id")
    per_user: dict[int, int] = {}
    for row in handoffs:
        per_user[row["user_id"]] = per_user.get(row["user_id"], 0) + 1
    claimed = {row["user_id"]: row["n"] for row in events}
    return {"handoffs": len(handoffs),
            "claimed": sum(1 for row in handoffs if row["claimed_by"] is not None),
            "handoffs_twice": sorted(u for u, n in per_user.items() if n != 1),
            "claimed_not_once": sorted(u for u in per_user if claimed.get(u, 0) != 1)}


async def pending_rows(url: str) -> int:
    return (await query(url, "SELECT count(*) AS n FROM outbox WHERE status = 'pending'"))[0]["n"]
