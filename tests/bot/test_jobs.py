"""Background loops survive a bug: a job or a sender pass that raises something other than
an outage is logged with its traceback and tried again, never ends the loop (a dead loop
would silently stop follow-ups, timers or every message until a restart)."""

from __future__ import annotations

import asyncio
import logging

from bot.jobs.periodic import every
from bot.telegram.delivery import sender_for
from storage.schema import sealing as crypto
from storage.schema.tables import OutboxMessage
from storage.work.uow import UnitOfWork
from tests.conftest import fast_limits


async def eventually(condition, seconds: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_job_that_hits_a_bug_runs_again_next_time(caplog):
    calls: list[int] = []

    async def job() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ValueError("a bug in one row")

    stop = asyncio.Event()
    task = asyncio.create_task(every(0.01, stop, job, "probe"))
    try:
        await eventually(lambda: len(calls) >= 3 or task.done())
        assert not task.done(), task.exception()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert "probe failed" in caplog.text and "ValueError: a bug in one row" in caplog.text


async def test_the_sender_outlives_a_row_it_cannot_read_and_sends_once_it_can(
        sessions, bot, telegram, caplog):
    old, new = crypto.new_key(), crypto.new_key()
    caplog.set_level(logging.ERROR, logger="bot.outbox.sender")
    stop = asyncio.Event()
    try:
        crypto.configure(old)
        async with UnitOfWork(sessions) as uow:
            await uow.outbox.add_now(OutboxMessage(
                chat_id=31, method="sendMessage", payload={"chat_id": 31, "text": "hello"}))
            await uow.commit()
        crypto.configure(new)  # the old key dropped: the row cannot be read
        sender = sender_for(bot, sessions, fast_limits())
        task = asyncio.create_task(sender.run(stop))
        await eventually(lambda: "sender: a pass failed" in caplog.text or task.done())
        assert not task.done(), task.exception()  # before: the sender was gone for good
        crypto.configure(f"{new},{old}")  # the operator puts the old key back
        sender.wake()
        await eventually(lambda: telegram.texts(31) == ["hello"])
    finally:
        stop.set()
        crypto.configure(None)
    await asyncio.wait_for(task, 30)


async def test_a_job_that_says_sooner_runs_again_sooner():
    """The follow-ups job returns when its next row falls due: the runner comes back then,
    not a whole interval later (and never later than the interval)."""
    from bot.jobs.periodic import Sooner

    calls: list[float] = []

    async def job() -> Sooner:
        calls.append(asyncio.get_running_loop().time())
        return Sooner(0.01)

    stop = asyncio.Event()
    task = asyncio.create_task(every(3600, stop, job, "probe"))  # an hour, unless sooner
    try:
        await eventually(lambda: len(calls) >= 3 or task.done())
        assert not task.done(), task.exception()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
