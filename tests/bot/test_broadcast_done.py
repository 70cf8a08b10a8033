"""When a broadcast is done (bot/jobs/broadcasts.py): a message marked `sending` whose process
was killed before its outcome (maybe delivered, never sent again, never marked) must not keep
the broadcast `sending` for ever — the fleet's chaos test (tests/e2e/test_broadcast_chaos.py)
found one stuck so after a kill -9 — while one a live sender still holds is waited for. On
SQLite and PostgreSQL; on PostgreSQL a live sender is one holding its advisory lock. Two
processes finding it done at once: one marks it, the other lets it be (a fresh CI's chaos run
logged the other's traceback)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.jobs.broadcasts import Alive, BroadcastConfig, deliver
from storage.db.locks import SENDERS
from storage.schema.tables import OutboxMessage
from storage.work.uow import UnitOfWork
from tests.storage.broadcast_people import NOW
from tests.storage.test_broadcasts import made

ANYTIME = BroadcastConfig(quiet="off", weekly_cap=0)


async def sending(sessions, owner: int | None = None) -> tuple[int, int]:
    """A broadcast `sending` to two people, both queued: one's message sent, the other's
    marked `sending` (by sender `owner`) and never confirmed. (broadcast id, that row's id)"""
    broadcast_id = await made(sessions, recipients=(1, 2))
    async with UnitOfWork(sessions) as uow:
        broadcast = await uow.broadcasts.get(broadcast_id)
        await uow.broadcasts.set_status(broadcast, "sending", now=NOW)
        ids = []
        for recipient in await uow.broadcasts.due(broadcast_id, NOW, limit=10):
            status = "sent" if recipient.user_id == 1 else "sending"
            row = OutboxMessage(chat_id=recipient.chat_id, lane="bulk", method="sendMessage",
                                payload={"text": "Hi"}, purpose="bulk", marketing=True,
                                status=status, owner=owner,
                                sent_at=NOW if status == "sent" else None)
            uow.outbox.add(row)
            await uow.session.flush()
            uow.broadcasts.queue(recipient, row.id, NOW)
            ids.append(row.id)
        await uow.commit()
    return broadcast_id, ids[1]


async def status(sessions, broadcast_id: int, alive: Alive | None) -> str:
    await deliver(sessions, NOW + timedelta(seconds=1), ANYTIME, alive)
    async with UnitOfWork(sessions) as uow:
        return (await uow.broadcasts.get(broadcast_id)).status


async def test_a_row_a_crash_left_sending_does_not_keep_it_sending_for_ever(sessions):
    # (without `alive`, a caller driving the job by hand: no sender of its own in flight,
    # done at once: tests/bot/test_broadcast_sending.py)
    broadcast_id, row_id = await sending(sessions)
    # this process's sender holds it (queued, in flight, or accepted and not yet marked)
    assert await status(sessions, broadcast_id, Alive(mine={row_id})) == "sending"
    # nobody holds it: its process was killed mid-call, it stays unknown, the rest is done
    assert await status(sessions, broadcast_id, Alive(mine={row_id + 1})) == "done"
    async with UnitOfWork(sessions) as uow:
        row = await uow.outbox.get(row_id)
    assert row.status == "sending"  # never sent again, never pretended sent


async def test_a_live_senders_row_is_waited_for_a_dead_ones_is_not(engine, sessions):
    if engine.dialect.name != "postgresql":
        pytest.skip("one process on SQLite: no other sender to wait for (the test above)")
    broadcast_id, _ = await sending(sessions, owner=7)
    async with engine.connect() as other:  # sender 7, alive while it holds its lock
        await other.execute(text("SELECT pg_advisory_lock(:c, 7)"), {"c": SENDERS})
        assert await status(sessions, broadcast_id, Alive(me=3)) == "sending"
        await other.execute(text("SELECT pg_advisory_unlock(:c, 7)"), {"c": SENDERS})
    assert await status(sessions, broadcast_id, Alive(me=3)) == "done"


async def test_a_row_of_a_killed_process_whose_number_was_taken_anew_is_not_waited_for(
        engine, sessions):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: several senders")
    broadcast_id, _ = await sending(sessions, owner=7)
    async with engine.connect() as other:  # the new process holds number 7 (this one) but
        await other.execute(text("SELECT pg_advisory_lock(:c, 7)"), {"c": SENDERS})
        # its sender holds no such row: the 7 that marked it was killed before its outcome
        assert await status(sessions, broadcast_id, Alive(me=7)) == "done"


WAITING = """SELECT count(*) FROM pg_locks WHERE NOT granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""


async def test_two_processes_finding_it_done_at_once_mark_it_once_without_an_error(
        engine, sessions):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: several processes")
    broadcast_id, _ = await sending(sessions)
    async with engine.connect() as other, engine.connect() as watch:
        # the other process marks it done first: its transaction holds the row
        await other.execute(text("UPDATE broadcasts SET status = 'done', finished_at = :at "
                                 "WHERE id = :id"), {"at": NOW, "id": broadcast_id})
        # this one read it `sending`, found nothing left, and waits to mark it so too
        job = asyncio.create_task(status(sessions, broadcast_id, Alive()))
        for _ in range(600):
            if (await watch.execute(text(WAITING))).scalar() or job.done():
                break
            await asyncio.sleep(0.05)
        assert not job.done(), "the job did not wait for the other's transaction"
        await other.commit()
        assert await asyncio.wait_for(job, 30) == "done"  # no error: the other's mark stands
    async with UnitOfWork(sessions) as uow:
        assert (await uow.broadcasts.get(broadcast_id)).finished_at == NOW
