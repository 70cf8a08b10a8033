"""SQLite's writers queue in the process (storage/db/gate.py): one at a time, an update's
before the bot's bookkeeping, the gate given back whatever ends the transaction. A real
SQLite file, real sessions."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import gate as write_gate
from storage.db.engine import READ_ONLY, create_engine, sessionmaker


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/gate.db")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (who TEXT)"))
    yield engine
    await engine.dispose()


def gate_of(engine) -> write_gate.WriteGate:
    return engine.sync_engine.write_gate


async def write(sessions, who: str, order: list[str], hold: asyncio.Event | None = None):
    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO t VALUES (:who)"), {"who": who})
        order.append(who)  # inside the transaction: in the order the gate let them write
        if hold is not None:
            await hold.wait()


async def test_foreground_writers_go_before_background_ones_and_each_in_turn(engine):
    sessions, order = sessionmaker(engine), []
    gate_of(engine).patience = 60.0  # a loaded machine's slow queueing ages no job here
    hold = asyncio.Event()
    first = asyncio.create_task(write(sessions, "first", order, hold))
    while gate_of(engine).holder is None:
        await asyncio.sleep(0.001)
    with write_gate.background():
        late = [asyncio.create_task(write(sessions, f"job{i}", order)) for i in range(3)]
    await asyncio.sleep(0.01)
    updates = [asyncio.create_task(write(sessions, f"update{i}", order)) for i in range(3)]
    while gate_of(engine).waiting() < 6:
        await asyncio.sleep(0.001)
    hold.set()
    await asyncio.gather(first, *late, *updates)
    # in the order each reached the gate (opening a connection takes its own time)
    assert order[0] == "first"
    assert sorted(order[1:4]) == ["update0", "update1", "update2"]
    assert sorted(order[4:]) == ["job0", "job1", "job2"]
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 7
    assert gate_of(engine).holder is None and gate_of(engine).waiting() == 0


async def test_a_steady_stream_of_updates_does_not_starve_the_background(engine):
    """Writers that never stop queueing (a crowd, a loop polling the database) let a
    background writer in once it has waited its patience: it writes while they go on,
    not after them, and not after the busy timeout."""
    sessions, order = sessionmaker(engine), []
    gate_of(engine).timeout = 30.0
    stop = asyncio.Event()

    async def keep_writing(who: str) -> None:
        while not stop.is_set():
            await write(sessions, who, order)

    crowd = [asyncio.create_task(keep_writing(f"update{i}")) for i in range(6)]
    while gate_of(engine).waiting() < 3:  # the crowd queues at the gate
        await asyncio.sleep(0.001)
    with write_gate.background():
        await write(sessions, "job", order)
    after = len(order)
    while len(order) < after + 20:  # the crowd still writing after the job got in
        await asyncio.sleep(0.001)
    stop.set()
    await asyncio.gather(*crowd)
    assert order.count("job") == 1 and order.index("job") < len(order) - 20


async def test_a_failed_transaction_gives_the_gate_back(engine):
    sessions, order = sessionmaker(engine), []
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t VALUES ('lost')"))
            raise RuntimeError("the update failed")
    assert gate_of(engine).holder is None
    await write(sessions, "after", order)
    async with sessions() as session:
        rows = (await session.execute(text("SELECT who FROM t"))).scalars().all()
    assert rows == ["after"]


async def test_a_cancelled_waiter_leaves_the_queue_and_blocks_nobody(engine):
    sessions, order = sessionmaker(engine), []
    hold = asyncio.Event()
    first = asyncio.create_task(write(sessions, "first", order, hold))
    while gate_of(engine).holder is None:
        await asyncio.sleep(0.001)
    doomed = asyncio.create_task(write(sessions, "doomed", order))
    while gate_of(engine).waiting() < 1:
        await asyncio.sleep(0.001)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    hold.set()
    await first
    await write(sessions, "next", order)
    assert order == ["first", "next"]
    assert gate_of(engine).holder is None and gate_of(engine).waiting() == 0


async def test_readers_pass_a_writer_that_holds_the_gate(engine):
    sessions, order = sessionmaker(engine), []
    hold = asyncio.Event()
    first = asyncio.create_task(write(sessions, "first", order, hold))
    while gate_of(engine).holder is None:
        await asyncio.sleep(0.001)
    async with sessions() as session:
        await session.connection(execution_options={READ_ONLY: True})
        count = (await session.execute(text("SELECT count(*) FROM t"))).scalar()
    assert count == 0  # read while the writer still held the lock, uncommitted
    hold.set()
    await first


async def test_a_writer_waiting_past_the_busy_timeout_fails_like_sqlite(engine):
    sessions, order = sessionmaker(engine), []
    gate_of(engine).timeout = 0.2
    hold = asyncio.Event()
    first = asyncio.create_task(write(sessions, "first", order, hold))
    while gate_of(engine).holder is None:
        await asyncio.sleep(0.001)
    with pytest.raises(OperationalError, match="database is locked"):
        await write(sessions, "too late", order)
    hold.set()
    await first
    assert order == ["first"] and gate_of(engine).waiting() == 0
