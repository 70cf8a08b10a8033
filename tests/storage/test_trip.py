"""The sender's bookkeeping in one trip, an update's statements straight to sqlite3
(storage/db/trip.py): either stores what SQLAlchemy's session would store, byte for byte, on
both databases; a transaction is all or nothing; on SQLite a trip crosses to aiosqlite's
thread once, and waits its turn at the write gate."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from bot.outbox.marks import DROPPED, MARK
from storage.db import trip
from storage.db.engine import sessionmaker
from storage.schema.tables import Event as EventRow
from storage.schema.tables import OutboxMessage, ProcessedUpdate
from storage.work import outbox
from storage.work.uow import UnitOfWork
from tests.storage.test_fused import Crossings

AT = datetime(2026, 12, 5, 4, 30, 15, 123456)
ROW = {"new_status": "sent", "at": AT, "message_id": 77, "why": None}
EVENT = {"user_id": 5, "conversation_id": None, "kind": "send_dropped", "created_at": AT,
         "data": {"method": "editMessageText", "reason": "no budget: «кнопки»"}}


class Sent:
    """The statements that reach the database while it is open: through SQLAlchemy, and on
    PostgreSQL those trip.py sends through asyncpg itself (its query loggers)."""

    def __init__(self, engine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []
        self.by_asyncpg: list[str] = []
        self._drivers: list = []

    def _sqlalchemy(self, conn, cursor, statement, *args) -> None:
        self.statements.append(statement)

    def _asyncpg(self, record) -> None:
        self.statements.append(record.query)
        self.by_asyncpg.append(record.query)

    def _checkout(self, dbapi_connection, record, proxy) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and hasattr(driver, "add_query_logger"):
            driver.add_query_logger(self._asyncpg)
            self._drivers.append(driver)

    def __enter__(self) -> Sent:
        event.listen(self.engine, "before_cursor_execute", self._sqlalchemy)
        event.listen(self.engine, "checkout", self._checkout)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._sqlalchemy)
        event.remove(self.engine, "checkout", self._checkout)
        for driver in self._drivers:
            driver.remove_query_logger(self._asyncpg)

    def starting(self, prefix: str) -> list[str]:
        return [sql for sql in self.statements if sql.lstrip().startswith(prefix)]


async def _rows(engine, owner: int | None = None) -> list[int]:
    async with sessionmaker(engine)() as session, session.begin():
        rows = [OutboxMessage(chat_id=5, method="sendMessage", payload={"text": "x"},
                              owner=owner) for _ in range(2)]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def _stored(engine, sql: str) -> list[tuple]:
    async with engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(text(sql))).all()]


async def test_what_is_stored_is_what_the_session_stores(engine):
    by_trip, by_session = await _rows(engine)
    counts = await trip.write(engine, [(MARK, [{"row_id": by_trip, **ROW}]),
                                       (DROPPED, [EVENT, EVENT])])
    assert counts[0] == 1  # a step of several rows: the driver's count (asyncpg's: -1)
    async with sessionmaker(engine)() as session, session.begin():
        await session.execute(MARK, [{"row_id": by_session, **ROW}])
        await session.execute(DROPPED, [EVENT])
    # the columns as the database holds them (SQLite: datetimes and JSON as text)
    marked = await _stored(engine, "SELECT status, CAST(sent_at AS TEXT), telegram_message_id,"
                                   " error, attempts FROM outbox ORDER BY id")
    assert marked[0] == marked[1] and marked[0][0] == "sent" and marked[0][4] == 1
    events = await _stored(engine, "SELECT user_id, kind, CAST(data AS TEXT),"
                                   " CAST(created_at AS TEXT) FROM events ORDER BY id")
    assert len(events) == 3 and events[0] == events[1] == events[2]
    assert "reason" in events[0][2]


async def test_a_failing_step_writes_nothing(engine):
    row_id, _ = await _rows(engine)
    broken = {**EVENT, "conversation_id": 999_999}  # no such conversation: a foreign key
    with pytest.raises(IntegrityError) as raised:
        await trip.write(engine, [(MARK, [{"row_id": row_id, **ROW}]), (DROPPED, [broken])])
    assert "999999" not in str(raised.value)  # parameters hidden: they may be personal
    assert await _stored(engine, "SELECT status FROM outbox ORDER BY id") == [
        ("pending",), ("pending",)]
    assert await _stored(engine, "SELECT id FROM events") == []
    # and the connection is fit for the next one
    assert await trip.write(engine, [(MARK, [{"row_id": row_id, **ROW}])]) == [1]


async def test_a_bulk_row_starts_sending_once_and_only_by_its_owner(engine):
    first, second = await _rows(engine, owner=3)
    assert await outbox.start_sending(engine, first) is True
    assert await outbox.start_sending(engine, first) is False  # never twice
    assert await outbox.start_sending(engine, second, owner=4) is False  # not that sender's
    assert await outbox.start_sending(engine, second, owner=3) is True
    assert await _stored(engine, "SELECT status FROM outbox ORDER BY id") == [
        ("sending",), ("sending",)]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_sqlite_a_transaction_crosses_to_the_thread_once(engine):
    row_id, _ = await _rows(engine)
    crossings = Crossings()
    async with engine.connect() as connection:  # the pool's one connection so far
        crossings.watch((await connection.get_raw_connection()).driver_connection)
    before = crossings.count
    await trip.write(engine, [(MARK, [{"row_id": row_id, **ROW}])])
    # BEGIN IMMEDIATE, the UPDATE and COMMIT in one function; the pool's reset of a
    # connection with nothing to undo crosses not at all
    assert crossings.count - before == 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_sqlite_it_waits_its_turn_at_the_write_gate(engine):
    row_id, _ = await _rows(engine)
    order: list[str] = []
    async with sessionmaker(engine)() as session, session.begin():  # holds the gate
        await session.execute(text("UPDATE outbox SET error = 'first' WHERE id = :id"),
                              {"id": row_id})
        marking = asyncio.create_task(trip.write(engine, [(MARK, [{"row_id": row_id, **ROW}])]))
        marking.add_done_callback(lambda _: order.append("mark"))
        await asyncio.sleep(0.05)
        assert not marking.done()  # it waits at the gate, not in SQLite's busy handler
        order.append("commit")
    await marking
    assert order == ["commit", "mark"]
    assert await _stored(engine, f"SELECT error, status FROM outbox WHERE id = {row_id}") == [
        (None, "sent")]


async def _one_update(sessions, brief: bool, update_id: int) -> list[int]:
    async with UnitOfWork(sessions, brief=brief) as uow:
        await uow.updates.record(update_id, AT)
        for text_ in ("Ваш расчёт готов", "next"):
            uow.stage(OutboxMessage, chat_id=5, method="sendMessage",
                      payload={"text": text_}, created_at=AT, not_before=AT)
        uow.stage(EventRow, user_id=5, kind="answered", data={"value": "кухня"},
                  created_at=AT)
        await uow.commit()
        return [row["id"] for row in uow.committed_outbox]


async def _one_update_by_the_orm(sessions, update_id: int) -> None:
    """The same rows as `_one_update`, as SQLAlchemy's session writes them."""
    async with sessions() as session, session.begin():
        session.add(ProcessedUpdate(update_id=update_id, processed_at=AT))
        for text_ in ("Ваш расчёт готов", "next"):
            session.add(OutboxMessage(chat_id=5, method="sendMessage", payload={"text": text_},
                                      created_at=AT, not_before=AT))
        session.add(EventRow(user_id=5, kind="answered", data={"value": "кухня"},
                             created_at=AT))


async def test_an_update_stores_what_the_session_stores(engine):
    """An update's writes go straight to sqlite3 in a brief SQLite transaction, and through
    asyncpg itself on PostgreSQL (trip.execute, trip.inserted_ids): the same rows as the
    ORM's session stores, the ids in the order staged."""
    sessions = sessionmaker(engine)
    with Sent(engine) as sent:
        brief_ids = await _one_update(sessions, True, 1)
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after
    plain_ids = await _one_update(sessions, False, 2)
    await _one_update_by_the_orm(sessions, 3)
    assert brief_ids == sorted(brief_ids) and plain_ids == sorted(plain_ids)
    # nothing written through SQLAlchemy's statements: only the BEGIN and COMMIT's kin
    through_sqlalchemy = [sql for sql in sent.statements if sql not in sent.by_asyncpg]
    assert not [sql for sql in through_sqlalchemy if sql.lstrip().startswith("INSERT")]
    if engine.dialect.name == "postgresql":  # both outbox rows in one INSERT … RETURNING
        assert len(sent.starting("INSERT INTO outbox")) == 1
        assert len([sql for sql in sent.by_asyncpg if sql not in ("BEGIN;", "COMMIT;")]) == 3
        # the update's id, the outbox rows and the event: BEGIN's and COMMIT's only kin
    columns = ("chat_id, lane, method, conversation_id, step, purpose, marketing, status,"
               " attempts, CAST(not_before AS TEXT), CAST(created_at AS TEXT), owner")
    stored = await _stored(engine, f"SELECT {columns} FROM outbox ORDER BY id")
    assert stored[:2] == stored[2:4] == stored[4:]
    async with sessionmaker(engine)() as session:
        payloads = (await session.execute(select(OutboxMessage.payload)
                                          .order_by(OutboxMessage.id))).scalars().all()
    assert payloads == [{"text": "Ваш расчёт готов"}, {"text": "next"}] * 3
    async with engine.connect() as connection:  # the bytes the database holds
        raw = (await connection.execute(text(
            "SELECT CAST(payload AS TEXT) FROM outbox ORDER BY id"))).scalars().all()
    assert raw[:2] == raw[2:4] == raw[4:]
    events = await _stored(engine, "SELECT user_id, kind, CAST(data AS TEXT),"
                                   " CAST(created_at AS TEXT) FROM events ORDER BY id")
    assert events[0] == events[1] == events[2]
    assert await _stored(engine, "SELECT update_id, CAST(processed_at AS TEXT)"
                                 " FROM processed_updates ORDER BY update_id") == [
        (1, str(events[0][3])), (2, str(events[0][3])), (3, str(events[0][3]))]


async def test_a_redelivered_update_is_refused_in_a_brief_transaction(engine):
    await _one_update(sessionmaker(engine), True, 7_654_321)
    with pytest.raises(IntegrityError) as raised:
        await _one_update(sessionmaker(engine), True, 7_654_321)
    assert "7654321" not in str(raised.value)  # parameters hidden
    assert len(await _stored(engine, "SELECT id FROM outbox")) == 2  # nothing of the second
    await _one_update(sessionmaker(engine), True, 8)  # and the next update goes in
    assert len(await _stored(engine, "SELECT id FROM outbox")) == 4


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_sqlite_a_trip_cancelled_mid_write_keeps_the_gate_until_it_ends(engine):
    """A stop cancels the sender's helpers; the transaction already handed to aiosqlite's
    thread still runs there. The gate (and the connection) stay its own until it ends:
    another writer of this process must not meet SQLite's lock in its busy handler."""
    row_id, _ = await _rows(engine)
    async with engine.connect() as connection:  # the pool's one connection so far
        driver = (await connection.get_raw_connection()).driver_connection
    busy = asyncio.ensure_future(driver._execute(time.sleep, 1.0))  # the thread is busy
    marking = asyncio.create_task(trip.write(engine, [(MARK, [{"row_id": row_id, **ROW}])]))
    gate = engine.sync_engine.write_gate
    while gate.holder is None:  # it holds the gate: its transaction is queued behind the sleep
        await asyncio.sleep(0.001)
    marking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await marking
    assert busy.done()  # the cancelled trip waited for its turn in the thread, and its end
    assert gate.holder is None
    assert await _stored(engine, f"SELECT status FROM outbox WHERE id = {row_id}") == [
        ("sent",)]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
async def test_postgresql_a_trip_cancelled_mid_write_ends_before_its_connection_goes_back(
        engine):
    """On PostgreSQL a trip is a transaction of asyncpg's own, which SQLAlchemy's pool does
    not know of: cancelled (a stop), it still commits or rolls back before its connection
    goes back to the pool, never left open for the next user of the connection."""
    row_id, _ = await _rows(engine)
    async with engine.connect() as blocker:  # holds the row's lock: the trip's UPDATE waits
        await blocker.execute(text("SELECT id FROM outbox WHERE id = :id FOR UPDATE"),
                              {"id": row_id})
        marking = asyncio.create_task(trip.write(engine, [(MARK, [{"row_id": row_id, **ROW}])]))
        await asyncio.sleep(0.2)
        marking.cancel()
        await asyncio.sleep(0.1)
        assert not marking.done()  # its transaction has not ended: it waits for that
        await blocker.rollback()
    with pytest.raises(asyncio.CancelledError):
        await marking
    assert await _stored(engine, f"SELECT status FROM outbox WHERE id = {row_id}") == [
        ("sent",)]
    assert await _stored(engine, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                 " current_database() AND state LIKE 'idle in transaction%'"
                         ) == [(0,)]
