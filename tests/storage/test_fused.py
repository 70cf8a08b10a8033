"""A SQLite statement crosses to aiosqlite's thread once (storage/db/fused.py), and SQLAlchemy
reads of it all it read before: rows, no rows, rowcount, RETURNING, errors, many rows at
once, a streamed result. A real SQLite file, real sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db.engine import create_engine, sessionmaker


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
