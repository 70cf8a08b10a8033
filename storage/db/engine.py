"""The async engine: a SQLite file by default, PostgreSQL (asyncpg) in production.

SQLite: WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE so that a transaction takes
the write lock when it starts instead of failing with "database is locked" half-way; the
process's writers queue for that lock in asyncio, an update before the bot's bookkeeping
(storage/db/gate.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util.concurrency import await_only, in_greenlet

from storage.db.fused import FusedDbapi
from storage.db.gate import WriteGate

DEFAULT_URL = "sqlite:///leadbot.db"
_UNGATED = bool(os.environ.get("BENCH_NO_WRITE_GATE"))  # bench/ only: the run without it
_UNFUSED = bool(os.environ.get("BENCH_UNFUSED"))  # bench/ only: aiosqlite's own cursors
_NOT_BRIEF = bool(os.environ.get("BENCH_NOT_BRIEF"))  # bench/ only: brief() does nothing
BUSY_TIMEOUT_MS = 10_000
# An execution option: `await session.connection(execution_options={READ_ONLY: True})` as a
# session's first statement makes its SQLite transaction a plain (deferred) BEGIN.
READ_ONLY = "leadbot_read_only"
_BRIEF: ContextVar[bool] = ContextVar("leadbot_brief", default=False)


class DatabaseUrlError(ValueError):
    pass


@contextlib.contextmanager
def brief() -> Iterator[None]:
    """Write transactions begun inside are brief: a few short statements (an update's; the
    sender's marks go in one trip instead, trip.py). On SQLite their statements run in the
    event loop's thread once BEGIN IMMEDIATE holds the write lock (fused.py). A long one
    (pruning, a broadcast's window) must not be brief: it would stop the loop while it
    runs. PostgreSQL ignores it."""
    token = _BRIEF.set(True)
    try:
        yield
    finally:
        _BRIEF.reset(token)


def async_url(url: str) -> URL:
    """`sqlite:///x.db` -> sqlite+aiosqlite, `postgresql://` -> postgresql+asyncpg."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise DatabaseUrlError(f"not a database URL: {url!r}") from error
    except ValueError:  # SQLAlchemy's int() of the port
        raise DatabaseUrlError("the port is not a number") from None
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise DatabaseUrlError(f"port {parsed.port} is not between 1 and 65535")
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise DatabaseUrlError(f"{folder} is a file, not a folder") from None
            except OSError as error:
                raise DatabaseUrlError(f"cannot create the folder {folder} for the SQLite "
                                       f"file: {error.strerror}") from None
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed


def create_engine(url: str, **kwargs: object) -> AsyncEngine:
    target = async_url(url)
    # Errors must not carry statement parameters: they hold phones, emails and names,
    # and errors end up in logs.
    kwargs.setdefault("hide_parameters", True)
    if target.get_backend_name() != "sqlite":
        # No pre-ping (a round trip per transaction): a connection lost to a database restart
        # fails its update, which is then not acknowledged and comes back.
        return create_async_engine(target, pool_recycle=1800, **kwargs)
    if not _UNFUSED:  # one crossing to SQLite's thread a statement (fused.py)
        kwargs.setdefault("module", FusedDbapi())
    engine = create_async_engine(target, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
                                 **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")  # a power cut loses no committed update
        cursor.execute("PRAGMA secure_delete=ON")  # erased personal data is overwritten
        cursor.close()

    gate = WriteGate(BUSY_TIMEOUT_MS / 1000)
    engine.sync_engine.write_gate = gate  # type: ignore[attr-defined]  # tests look

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection) -> None:
        # A reader (the funnel, the dashboard) takes no write lock: it would hold the bot's
        # writes back for as long as its queries run.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        dbapi = _dbapi(connection.connection)
        # not under asyncio (a sync tool): SQLite's busy handler only; bench/ compares
        gated = in_greenlet() and not _UNGATED
        if gated:
            await_only(gate.acquire(dbapi))
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.release(dbapi)
            raise
        if _BRIEF.get() and hasattr(dbapi, "inline") and not _NOT_BRIEF:
            dbapi.inline = True  # under the write lock no statement waits (fused.py)

    _release_after(engine, gate)
    return engine


def _dbapi(connection: object) -> object:
    """The DBAPI connection behind a pool's proxy (or itself)."""
    return getattr(connection, "dbapi_connection", connection)


def _release_after(engine: AsyncEngine, gate: WriteGate) -> None:
    """The gate is given back once COMMIT or ROLLBACK has run (SQLite's lock is free then),
    or when its connection goes back to the pool, is closed or invalidated."""
    dialect = engine.sync_engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(connection) -> None:
        try:
            commit(connection)
        finally:
            gate.release(_dbapi(connection))

    def do_rollback(connection) -> None:
        try:
            rollback(connection)
        finally:
            gate.release(_dbapi(connection))

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback  # this engine's only

    def _gone(dbapi_connection, *_args) -> None:
        gate.release(dbapi_connection)

    for name in ("checkin", "close", "close_detached", "invalidate", "soft_invalidate"):
        event.listen(engine.sync_engine, name, _gone)


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
