"""Short write transactions, and an update's writes, without SQLAlchemy's per-statement work.

The sender writes after each call: the rows Telegram accepted marked sent (bot/outbox/
marks.py), a broadcast message marked `sending` before its call (bot/outbox/bulk.py). Each
is one or two prebuilt statements in a transaction of its own, many a second. Through a
Session, such a transaction cost SQLAlchemy's per-statement work and, on SQLite, three
crossings to aiosqlite's thread (BEGIN IMMEDIATE, the statement, COMMIT) with event-loop
turns between them, all the while holding SQLite's one write lock: a prospect's update
waited behind it for those turns too. `write` sends the whole transaction at once. On
SQLite it is one function run in the connection's thread: BEGIN IMMEDIATE, the statements,
COMMIT, so the write lock is held for SQLite's own work and the disk's, never across the
event loop; the process's writers still take turns through the write gate (gate.py). On
PostgreSQL the statements go through asyncpg itself, in a transaction of its own.

An update's writes (its id, its state, the reminder, its staged rows and outbox rows: storage/
work/) go through `execute` and `inserted_ids`. In a brief SQLite transaction, whose
statements run in the event loop's thread under the write lock anyway (fused.py), they go
straight to sqlite3; on PostgreSQL through asyncpg itself, in the session's transaction
(begun as SQLAlchemy's adapter begins it); in any other SQLite transaction through the
session. On PostgreSQL each statement is a round trip to the server either way: what is
saved is SQLAlchemy's own work per statement (its execution context, result, greenlet).

The statements are compiled once per dialect, and their bound values go through the type
processing SQLAlchemy would give them (datetimes, JSON, sealed personal data), so what is
stored is the same byte for byte (tests/storage/test_trip.py). An error is raised as
SQLAlchemy raises it: a DBAPIError (IntegrityError, OperationalError…), parameters hidden.

May import: sqlalchemy, storage.db.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable

Step = tuple[Executable, Sequence[dict[str, Any]]]  # a statement and its rows of values


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the bound values in the order of the SQL's placeholders
    processors: tuple[Callable[[Any], Any] | None, ...]
    construct: Callable[[dict[str, Any]], dict[str, Any]]  # values, the statement's own too

    def row(self, values: dict[str, Any]) -> tuple:
        given = self.construct(values)
        return tuple(given[name] if process is None else process(given[name])
                     for name, process in zip(self.names, self.processors, strict=True))


@cache
def _compiled(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ())
    processors = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in names)
    return _Compiled(compiled.string, names, processors,
                     lambda values: compiled.construct_params(values))


MANY_VALUES = 16  # more outbox rows in one update than this: through the session


@cache
def _values_returning_id(table: Any, names: tuple[str, ...], count: int) -> Executable:
    """`count` rows of these columns in one INSERT … VALUES … RETURNING id. PostgreSQL
    inserts the rows of a VALUES list in its order, each taking the sequence's next id:
    the ids sorted are the rows' order (SQLAlchemy's own ordered RETURNING rests on the
    same, an INSERT … SELECT … ORDER BY)."""
    return insert(table).values([
        {name: bindparam(f"{name}_{n}", type_=table.c[name].type) for name in names}
        for n in range(count)]).returning(table.c.id)


def _transaction(connection: sqlite3.Connection,
                 work: list[tuple[str, list[tuple]]]) -> list[int]:
    """In the connection's thread: the whole transaction. Rolled back on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        counts = []
        for sql, rows in work:
            cursor = connection.executemany(sql, rows)
            counts.append(cursor.rowcount)
            cursor.close()
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return counts


async def write(engine: AsyncEngine, steps: Sequence[Step]) -> list[int]:
    """Runs the steps in one committed transaction; each step's rows of values go as one
    executemany. Returns the rows each step matched (for a step of several rows, the
    driver's sum: asyncpg gives -1). Raises what the database raises, as
    SQLAlchemy would (a DBAPIError, parameters hidden); nothing of it is then written."""
    dialect = engine.dialect
    if dialect.driver == "asyncpg":
        async with engine.connect() as connection:
            adapted = (await connection.get_raw_connection()).dbapi_connection
            return await _to_its_end(_pg_transaction(adapted, dialect, steps))
    if dialect.name != "sqlite":
        async with engine.begin() as connection:
            return [(await connection.execute(statement, list(rows))).rowcount
                    for statement, rows in steps]
    work = []
    for statement, rows in steps:
        compiled = _compiled(statement, dialect)
        work.append((compiled.sql, [compiled.row(values) for values in rows]))
    gate = getattr(engine.sync_engine, "write_gate", None)
    async with engine.connect() as connection:
        pooled = await connection.get_raw_connection()
        adapted = pooled.dbapi_connection  # the pool's DBAPI connection: the gate's key
        thread = adapted._connection  # type: ignore[union-attr]  # aiosqlite's Connection
        if gate is not None:
            await gate.acquire(adapted)
        try:  # cancelled while the thread writes (a stop): SQLite's lock, and the
            # connection, are the transaction's until it ends in the thread
            return await _to_its_end(thread._execute(_transaction, thread._conn, work))
        except sqlite3.Error as error:
            raise _raised(work[0][0], error) from error
        finally:
            if gate is not None:
                gate.release(adapted)


async def _to_its_end(transaction: Any) -> Any:
    """Awaits a transaction; if the caller is cancelled meanwhile (a stop cancels the
    sender's helpers), still waits for it to commit or roll back before the connection
    goes back to the pool, then lets the cancellation go on."""
    call = asyncio.ensure_future(transaction)
    try:
        return await asyncio.shield(call)
    finally:
        if not call.done():
            await asyncio.wait([call])
        if not call.cancelled():
            call.exception()  # retrieved: raised above, or the caller was cancelled


async def _pg_transaction(adapted: Any, dialect: Dialect, steps: Sequence[Step]) -> list[int]:
    """The steps in a transaction of asyncpg's own: SQLAlchemy's adapter has none begun on
    this connection, so its rollback at the pool's reset has nothing to undo."""
    async with adapted._execute_mutex, adapted._connection.transaction():
        return [await _pg_run(adapted, dialect, statement, rows) for statement, rows in steps]


async def _inline(session: AsyncSession) -> sqlite3.Connection | None:
    """The sqlite3 connection of the session's transaction if it is a brief one on SQLite
    (its statements run in this thread: fused.py), else None."""
    if session.bind.dialect.name != "sqlite":
        return None
    connection = await session.connection()  # this transaction's (begun if need be)
    adapted = connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
    return adapted._connection._conn if getattr(adapted, "inline", False) else None


def _raised(sql: str, error: sqlite3.Error) -> DBAPIError:
    return DBAPIError.instance(sql, None, error, sqlite3.Error, hide_parameters=True)


async def _asyncpg(session: AsyncSession) -> Any | None:
    """SQLAlchemy's adapter of the asyncpg connection of the session's transaction if it is
    on asyncpg, else None. The caller holds its mutex and calls `_begin`.

    The adapter's `_execute_mutex`, `_transaction`, `_start_transaction` and
    `_handle_exception` are SQLAlchemy's private names (as aiosqlite's `_execute` is for
    SQLite above): the lock file pins the version, and tests/storage/test_trip.py runs
    every one of them on PostgreSQL, so an upgrade that renames one fails there first."""
    if session.bind.dialect.driver != "asyncpg":
        return None
    connection = await session.connection()  # this transaction's (begun if need be)
    return connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]


async def _begin(adapted: Any) -> None:
    """BEGIN on the server, as the adapter sends it before its own first statement of a
    transaction (and then only once): the session's COMMIT or ROLLBACK ends it."""
    if adapted._transaction is None:
        await adapted._start_transaction()


async def _pg_run(adapted: Any, dialect: Dialect, statement: Executable,
                  rows: Sequence[dict[str, Any]], fetch_ids: bool = False) -> Any:
    """A statement's rows through asyncpg itself, in the transaction the caller holds: one
    row a prepared statement from asyncpg's cache (its status gives the rows matched, or
    RETURNING's ids with `fetch_ids`), several as asyncpg's executemany (-1). Errors as
    SQLAlchemy raises them, translated by its own adapter, parameters hidden."""
    compiled = _compiled(statement, dialect)
    driver = adapted._connection
    try:
        if fetch_ids:
            return [row[0] for row in await driver.fetch(compiled.sql, *compiled.row(rows[0]))]
        if len(rows) == 1:
            status = await driver.execute(compiled.sql, *compiled.row(rows[0]))
            return int(status.rpartition(" ")[2] or 0)
        await driver.executemany(compiled.sql, [compiled.row(values) for values in rows])
        return -1
    except Exception as error:
        try:
            adapted._handle_exception(error)  # raises the DBAPI error SQLAlchemy would see
        except Exception as translated:
            raise DBAPIError.instance(compiled.sql, None, translated, dialect.dbapi.Error,
                                      hide_parameters=True) from error
        raise


async def inserted_ids(session: AsyncSession, statement: Executable,
                       rows: Sequence[dict[str, Any]]) -> list[int] | None:
    """A prebuilt INSERT of these rows, their ids in order: in a brief SQLite transaction
    straight to sqlite3, row by row; on PostgreSQL through asyncpg itself, as one INSERT …
    VALUES … RETURNING of up to MANY_VALUES rows. None (nothing done) anywhere else: the
    caller inserts through the session."""
    raw = await _inline(session)
    if raw is None:
        adapted = len(rows) <= MANY_VALUES and await _asyncpg(session)
        if not adapted:
            return None
        table = statement.table  # type: ignore[attr-defined]
        returning = _values_returning_id(table, tuple(rows[0]), len(rows))
        flat = {f"{name}_{n}": value for n, values in enumerate(rows)
                for name, value in values.items()}  # row n's values, as its binds are named
        async with adapted._execute_mutex:
            await _begin(adapted)
            return sorted(await _pg_run(adapted, session.bind.dialect, returning, [flat],
                                        fetch_ids=True))
    compiled = _compiled(statement, session.bind.dialect)
    ids = []
    cursor = raw.cursor()
    try:
        for values in rows:
            cursor.execute(compiled.sql, compiled.row(values))
            ids.append(cursor.lastrowid)
    except sqlite3.Error as error:
        raise _raised(compiled.sql, error) from error
    finally:
        cursor.close()
    return ids


async def execute(session: AsyncSession, statement: Executable,
                  rows: Sequence[dict[str, Any]]) -> int:
    """One prebuilt Core statement (no RETURNING) in a session's transaction: its rows of
    values as one executemany. In a brief SQLite transaction (storage/db/engine.py `brief`),
    whose statements run in the event loop's thread anyway, it goes straight to sqlite3,
    and on PostgreSQL through asyncpg itself, in the session's transaction, without
    SQLAlchemy's per-statement work (an update's hot path: docs/performance.md); anywhere
    else through the session. Returns the rows matched (see `write`)."""
    raw = await _inline(session)
    if raw is None:
        adapted = await _asyncpg(session)
        if adapted is not None:
            async with adapted._execute_mutex:
                await _begin(adapted)
                return await _pg_run(adapted, session.bind.dialect, statement, rows)
        return (await session.execute(statement, list(rows))).rowcount
    compiled = _compiled(statement, session.bind.dialect)
    try:
        cursor = raw.executemany(compiled.sql, [compiled.row(values) for values in rows])
    except sqlite3.Error as error:
        raise _raised(compiled.sql, error) from error
    count = cursor.rowcount
    cursor.close()
    return count
