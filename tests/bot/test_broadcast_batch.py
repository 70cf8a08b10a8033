"""On SQLite the broadcasts job decides a batch in a read transaction and writes it under the
write lock (bot/jobs/broadcasts.py `_fill_once`): what changes in between — a /stop, a
/forget, a block, a pause, a follow-up that fills the weekly cap — must be seen when it is
written. The test holds the write lock
with those changes, lets the job decide its batch meanwhile, and commits them only once the
job waits for the lock: the real interleaving, on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.jobs.broadcasts import BroadcastConfig, deliver
from storage.privacy.erasure import erase
from storage.privacy.rights import withdraw
from storage.schema.tables import Conversation, FollowUp, Prospect
from storage.work.uow import UnitOfWork
from tests.bot.broadcast_helpers import ANYTIME, NOON, file, made, outbox, recipients
from tests.storage.broadcast_people import person


@pytest.fixture
async def five(engine, sessions):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL decides and writes a batch in one transaction")
    async with sessions() as session:
        for user_id in (1, 2, 3, 4, 5):
            await person(session, user_id, lead={"name": "Ann", "temperature": "warm"})
        await session.commit()
    return await made(sessions, file())


async def meanwhile(engine, sessions, change, config: BroadcastConfig = ANYTIME) -> None:
    """The job runs while `change` holds the write lock; `change` commits only once the job
    has decided its batch and waits for the lock to write it."""
    gate = engine.sync_engine.write_gate
    async with UnitOfWork(sessions) as uow:
        await change(uow)  # its first write took the lock
        job = asyncio.create_task(deliver(sessions, NOON, config))
        for _ in range(3000):
            if gate.waiting() or job.done():
                break
            await asyncio.sleep(0.01)
        assert not job.done() and gate.waiting() == 1, "the job did not wait for the lock"
        await uow.commit()
    await job


async def test_a_stop_a_forget_and_a_block_while_the_batch_is_decided_are_seen(
        engine, sessions, five):
    async def change(uow: UnitOfWork) -> None:
        await withdraw(uow, 1, ["marketing"], now=NOON, text_sha256="0" * 64, language="ru",
                       update_id=None)
        await erase(uow, 2, now=NOON, reason="forget")
        await uow.session.execute(update(Prospect).where(Prospect.user_id == 3)
                                  .values(blocked=True))

    await meanwhile(engine, sessions, change)
    found = await recipients(sessions, five)
    assert {u: (r.status, r.reason) for u, r in found.items()} == {
        1: ("skipped", "stopped"), 2: ("skipped", "erased"), 3: ("skipped", "blocked"),
        4: ("queued", None), 5: ("queued", None)}
    messages = await outbox(sessions)
    assert sorted(m.chat_id for m in messages) == [4, 5]
    assert {found[m.chat_id].outbox_id for m in messages} == {m.id for m in messages}


async def test_a_pause_while_the_batch_is_decided_writes_nothing_of_it(
        engine, sessions, five):
    async def change(uow: UnitOfWork) -> None:
        broadcast = await uow.broadcasts.get(five)
        await uow.broadcasts.set_status(broadcast, "paused", now=NOON)

    await meanwhile(engine, sessions, change)
    assert await outbox(sessions) == []
    found = await recipients(sessions, five)
    assert {r.status for r in found.values()} == {"pending"}


async def test_a_follow_up_that_fills_the_weekly_cap_meanwhile_keeps_the_broadcast_back(
        engine, sessions, five):
    cap = BroadcastConfig(quiet="off", weekly_cap=1)

    async def change(uow: UnitOfWork) -> None:  # the follow-ups job sends person 4 one
        conversation = (await uow.session.execute(
            select(Conversation.id).where(Conversation.user_id == 4))).scalar_one()
        uow.session.add(FollowUp(conversation_id=conversation, user_id=4, chat_id=4,
                                 key="gallery", text="Kitchens", due_at=NOON, status="sent",
                                 sent_at=NOON))

    await meanwhile(engine, sessions, change, cap)
    assert sorted(m.chat_id for m in await outbox(sessions)) == [1, 2, 3, 5]
    assert (await recipients(sessions, five))[4].status == "pending"
    await deliver(sessions, NOON, cap)  # the next batch: the week is full, it waits
    found = (await recipients(sessions, five))[4]
    assert (found.status, found.due_at) == ("pending", NOON + timedelta(days=7))
    assert sorted(m.chat_id for m in await outbox(sessions)) == [1, 2, 3, 5]
