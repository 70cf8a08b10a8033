"""A pass every process runs on a timer (pruning, retention) is run by one of them each
time (storage/work/passes.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.schema.tables import utcnow
from storage.work import passes
from storage.work.uow import UnitOfWork

HOUR = timedelta(hours=1)


async def turn(sessions, name: str, now) -> bool:
    async with UnitOfWork(sessions) as uow:
        mine = await passes.take_turn(uow.session, name, HOUR, now)
        await uow.commit()
    return mine


async def test_one_process_runs_a_pass_then_nobody_until_it_is_due(sessions):
    now = utcnow()
    assert await turn(sessions, "pruning", now)
    assert not await turn(sessions, "pruning", now + timedelta(minutes=5))
    assert await turn(sessions, "retention", now)  # each pass its own turn
    assert await turn(sessions, "pruning", now + HOUR)


async def test_processes_asking_at_once_get_one_turn(sessions, engine):
    if engine.dialect.name == "sqlite":  # one process; its writes are serialised anyway
        results = [await turn(sessions, "pruning", utcnow()) for _ in range(3)]
    else:
        results = await asyncio.gather(*(turn(sessions, "pruning", utcnow())
                                         for _ in range(5)))
    assert sorted(results) == [False] * (len(results) - 1) + [True]
