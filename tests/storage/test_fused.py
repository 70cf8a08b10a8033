"""A SQLite statement crosses to aiosqlite's thread once (storage/db/fused.py), and SQLAlchemy
reads of it all it read before: rows, no rows, rowcount, RETURNING, errors, many rows at
once, a streamed result; a brief write transaction's statements cross not at all. A real
SQLite file, real sessions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from storage.db.engine import READ_ONLY, brief, create_engine, sessionmaker
from storage.work.uow import UnitOfWork


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/fused.db")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


class Crossings:
    """Counts the functions one aiosqlite connection runs in its thread."""

    def __init__(self) -> None:
        self.count = 0

    def watch(self, driver) -> None:
        run = driver._execute

        async def counted(fn, *args, **kwargs):
            self.count += 1
            return await run(fn, *args, **kwargs)

        driver._execute = counted


async def test_a_statement_crosses_to_the_thread_once(engine):
    crossings = Crossings()
    async with sessionmaker(engine)() as session, session.begin():
        connection = await session.connection()
        crossings.watch((await connection.get_raw_connection()).driver_connection)
        before = crossings.count
        for n in range(5):
            await session.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": f"p{n}"})
        rows = (await session.execute(text("SELECT who FROM t ORDER BY id"))).scalars().all()
        assert rows == ["p0", "p1", "p2", "p3", "p4"]
        # six statements, six crossings (aiosqlite's own cursors: cursor, execute, fetch,
        # close, three or four each)
        assert crossings.count - before == 6


async def test_what_sqlalchemy_reads_of_a_statement_is_kept(engine):
    sessions = sessionmaker(engine)
    async with sessions() as session, session.begin():
        inserted = await session.execute(text("INSERT INTO t (who) VALUES ('a'), ('b'), ('c')"))
        assert inserted.rowcount == 3
        returned = await session.execute(text(
            "INSERT INTO t (who) VALUES ('d') RETURNING id, who"))
        assert returned.one() == (4, "d")
        none = await session.execute(text("SELECT who FROM t WHERE who = 'nobody'"))
        assert list(none.keys()) == ["who"] and none.all() == []
        changed = await session.execute(text("UPDATE t SET who = who || '!' WHERE id > 2"))
        assert changed.rowcount == 2
        many = await session.execute(text("INSERT INTO t (who) VALUES (:who)"),
                                     [{"who": "e"}, {"who": "f"}])
        assert many.rowcount == 2
        streamed = await session.stream(text("SELECT who FROM t ORDER BY id"))
        assert [row async for row in streamed.scalars()] == [
            "a", "b", "c!", "d!", "e", "f"]


async def test_an_error_is_sqlalchemys_and_the_transaction_goes_on(engine):
    sessions = sessionmaker(engine)
    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO t (who) VALUES ('same')"))
        nested = await session.begin_nested()
        with pytest.raises(IntegrityError) as raised:
            await session.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": "same"})
        assert "same" not in str(raised.value)  # parameters hidden: they may be personal
        await nested.rollback()
        await session.execute(text("INSERT INTO t (who) VALUES ('other')"))
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 2



@pytest.fixture
async def told(tmp_path):
    """An engine whose connections answer `SELECT thread()` with the thread SQLite ran the
    statement in."""
    engine = create_engine(f"sqlite:///{tmp_path}/told.db")

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection._connection._conn.create_function("thread", 0, threading.get_ident)

    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


async def test_a_brief_transaction_runs_its_statements_in_the_loops_thread(told):
    here = threading.get_ident()
    crossings = Crossings()
    async with sessionmaker(told)() as session:
        raw = await (await session.connection()).get_raw_connection()
        crossings.watch(raw.driver_connection)
        await session.commit()

        async def four_statements(prefix: str) -> tuple[int, int]:
            before = crossings.count
            async with session.begin():
                for n in range(3):
                    await session.execute(text("INSERT INTO t (who) VALUES (:who)"),
                                          {"who": f"{prefix}{n}"})
                thread = (await session.execute(text("SELECT thread()"))).scalar()
                inside = crossings.count - before  # BEGIN IMMEDIATE and the statements
            return thread, inside

        with brief():
            thread, inside = await four_statements("b")
        assert thread == here and inside == 1  # only BEGIN IMMEDIATE crossed
        thread, inside = await four_statements("p")  # not brief: as before
        assert thread != here and inside == 5
        async with session.begin():
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 6


async def test_after_a_brief_transaction_rolled_back_statements_cross_again(told):
    here = threading.get_ident()
    async with sessionmaker(told)() as session:
        with brief(), pytest.raises(IntegrityError):
            async with session.begin():
                await session.execute(text("INSERT INTO t (who) VALUES ('x'), ('x')"))
        with brief():  # a read transaction takes no write lock: never run in the loop
            async with session.begin():
                await session.connection(execution_options={READ_ONLY: True})
                assert (await session.execute(text("SELECT thread()"))).scalar() != here
        async with session.begin():
            assert (await session.execute(text("SELECT thread()"))).scalar() != here
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_an_updates_unit_of_work_is_brief_and_others_are_not(told):
    here = threading.get_ident()
    sessions = sessionmaker(told)
    async with UnitOfWork(sessions, brief=True) as uow:
        assert (await uow.session.execute(text("SELECT thread()"))).scalar() == here
    async with UnitOfWork(sessions) as uow:
        assert (await uow.session.execute(text("SELECT thread()"))).scalar() != here
