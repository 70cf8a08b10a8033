"""PostgreSQL advisory lock keys, one per purpose, in one place (a key space shared by every
leadbot process on one database; the values spell "LEAD" in their top half so they stand out
in pg_locks). SQLite has no advisory locks: there is one process (`leadbot run` refuses a
second on the same file).

- STARTUP: migrations and the flows' snapshot at start, one process at a time (transaction
  level: released at that transaction's end). N processes started at once on an empty
  database: the first migrates, the others wait, then find the revision at head.
- SENDERS: the class of session-level locks a sender holds while it is alive, one per
  process (its owner number, bot/outbox/fleet.py): released by PostgreSQL when its
  connection ends, so a process killed with -9 is seen gone at once.
- CHATS: per chat, transaction level: who sends a chat's rows is decided one transaction at
  a time (storage/work/owners.py).
- SPEND: transaction level, around a spend import (storage/work/spend.py `replace_spend`):
  its select, delete and insert are one step, so two imports at once (a double-clicked
  upload) cannot both find nothing to replace and both insert.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

STARTUP = 0x1EAD0003
SENDERS = 0x1EAD0001  # pg_advisory_lock(SENDERS, owner): two-int form, class + number
CHATS = 0x1EAD0002  # pg_advisory_xact_lock(CHATS, chat_id % 2**31)
SPEND = 0x1EAD0004

STARTUP_WAIT = 600.0  # seconds a starting process waits for another's start, then gives up
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_timeout ran out
log = logging.getLogger(__name__)


class StartupLockTimeout(Exception):
    """Another process held STARTUP for longer than this one would wait."""


async def lock_startup(connection: AsyncConnection | AsyncSession,
                       doing: str = "migrate the database",
                       wait: float = STARTUP_WAIT) -> None:
    """STARTUP for the transaction `connection` is in, taken as its first statement (it is
    released at that transaction's end); nothing on SQLite. At once when it is free;
    otherwise one INFO line ("waiting for another process to <doing>"), then up to `wait`
    seconds before StartupLockTimeout (never waiting forever in silence)."""
    bind = connection if isinstance(connection, AsyncConnection) else connection.get_bind()
    if bind.dialect.name != "postgresql":
        return
    key = {"key": STARTUP}
    if await connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), key):
        return
    log.info("waiting for another process to %s", doing)
    before = await connection.scalar(text("SELECT current_setting('lock_timeout')"))
    await connection.execute(text("SELECT set_config('lock_timeout', :limit, true)"),
                             {"limit": f"{max(1, round(wait * 1000))}ms"})
    try:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise StartupLockTimeout(
                f"gave up after waiting {wait:g} s for another process to {doing} (it holds "
                f"PostgreSQL advisory lock {STARTUP}: see pg_locks)") from None
        raise
    await connection.execute(text("SELECT set_config('lock_timeout', :limit, true)"),
                             {"limit": before})  # the migrations' own waits as they were


async def lock_spend(session: AsyncSession) -> None:
    """SPEND for the session's transaction (released at its end), waiting for another
    import's transaction to end; nothing on SQLite (it serialises writers itself)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SPEND})
