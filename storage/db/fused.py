"""SQLite statements in one trip to the connection's thread instead of three or four.

aiosqlite runs the sqlite3 connection in a thread of its own; every call crosses to it and
back (a queue, a future, a wake-up of the event loop). SQLAlchemy's aiosqlite adapter makes
one crossing to open a cursor, one to execute, one to fetch the rows and one to close: an
update's ten statements cost some forty crossings, each paid in CPU on both sides. Here a
statement is a single function run in that thread: cursor, execute, rows, rowcount, close.
Its results are kept as plain values, which is all SQLAlchemy reads of a cursor.

Used by storage/db/engine.py through SQLAlchemy's `module=` argument (an alternate DBAPI
module for the dialect): the dialect, its statements and its types are aiosqlite's own.
A brief write transaction (storage/db/engine.py's `brief()`: an update's) crosses only
for BEGIN IMMEDIATE and COMMIT (or ROLLBACK): its statements run in the event loop's own
thread, which saves each crossing's queue, future and wake-up (an update's CPU, measured:
docs/performance.md). That is safe only under the write lock
BEGIN IMMEDIATE took: no statement of the transaction can then wait for another writer, so
none blocks the loop for longer than SQLite's own work; COMMIT, which waits for the disk,
still goes to the thread. The sqlite3 connection is opened with check_same_thread=False for
it; its calls never overlap (SQLAlchemy uses a connection from one task at a time and
awaits each call), so the two threads take turns, never run it together.

The function reaches the thread by `aiosqlite.Connection._execute`, the queue aiosqlite's own
methods use: not public, so aiosqlite is upgraded with the lock only, and
tests/storage/test_fused.py fails if it stops being that.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

__all__ = ["FusedDbapi"]


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any,
         many: bool) -> tuple[Any, list, int, int | None]:
    """In the connection's thread: the whole statement, its rows read."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class FusedCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement crosses to the thread once. No cursor is
    opened in the thread until a statement runs, and none is left open after."""

    __slots__ = ("_description", "_lastrowid", "_rowcount", "arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # never opened on this side
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount, self._lastrowid = -1, None
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    async def _async_soft_close(self) -> None:
        return None  # nothing is open in the thread

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._execute_async(operation, parameters, False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._execute_async(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _execute_async(self, operation: Any, parameters: Any,  # type: ignore[override]
                             many: bool = False) -> Any:
        if self._adapt_connection.inline:  # a brief transaction, under the write lock
            (self._description, rows, self._rowcount,
             self._lastrowid) = _run(self._connection, operation, parameters, many)
            self._rows = collections.deque(rows)
            return self
        async with self._adapt_connection._execute_mutex:
            (self._description, rows, self._rowcount,
             self._lastrowid) = await self._connection._execute(
                _run, self._connection, operation, parameters, many)
        self._rows = collections.deque(rows)
        return self

    def nextset(self) -> None:
        return None  # sqlite3 has one result set


class FusedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("inline",)
    _cursor_cls = FusedCursor  # server-side cursors (streamed results) stay aiosqlite's

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, connection)
        self.inline = False  # statements run in this thread (engine.py sets it, BRIEF)

    def commit(self) -> None:
        self.inline = False  # the lock goes with the COMMIT, which waits for the disk
        super().commit()

    def rollback(self) -> None:
        self.inline = False
        connection = self._connection._connection  # the sqlite3 one, None once closed
        if connection is not None and not connection.in_transaction:
            return  # nothing to undo (the pool's reset of a committed connection): no trip
        super().rollback()

    def close(self) -> None:
        self.inline = False
        super().close()


class FusedDbapi(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite's DBAPI shim, its connections making FusedCursors."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> FusedConnection:
        kw["check_same_thread"] = False  # a brief transaction's statements: see above
        adapted = super().connect(*arg, **kw)
        return FusedConnection(self, adapted._connection)
