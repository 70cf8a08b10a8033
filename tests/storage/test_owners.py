"""Who sends an outbox row with several processes on one PostgreSQL (storage/work/owners.py):
real PostgreSQL, real advisory locks held on connections of their own as the senders'
(bot/outbox/fleet.py does the same)."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest
from sqlalchemy import select, update

from bot.outbox.fleet import dsn_of
from storage.db.engine import sessionmaker
from storage.db.locks import SENDERS
from storage.schema.tables import OutboxMessage, utcnow
from storage.work import owners
from storage.work.uow import UnitOfWork
from tests.databases import fresh_engine


@pytest.fixture
async def engine(tmp_path):
    engine = await fresh_engine("postgresql", tmp_path)
    yield engine
    await engine.dispose()


class Process:
    """A sender's lock (as Fleet holds it) and the sessions whose rows it writes."""

    def __init__(self, engine, number: int) -> None:
        self.engine, self.number = engine, number
        self.sessions = sessionmaker(engine)
        self.sessions.kw["info"] = {owners.OWNER: owners.Holder(number)}

    async def __aenter__(self) -> Process:
        url = self.engine.url.render_as_string(hide_password=False)
        self.connection = await asyncpg.connect(dsn_of(url))
        assert await self.connection.fetchval("SELECT pg_try_advisory_lock($1, $2)",
                                              SENDERS, self.number)
        return self

    async def die(self) -> None:
        """As kill -9 leaves it: the server ends the session as the socket closes. Returns
        once the server counts it gone."""
        async with sessionmaker(self.engine)() as session, session.begin():
            live = await owners.live_count(session)
        self.connection.terminate()
        for _ in range(50):
            async with sessionmaker(self.engine)() as session, session.begin():
                if await owners.live_count(session) < live:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"sender {self.number}'s session outlived its socket by 5 s")

    async def __aexit__(self, *_: object) -> None:
        if not self.connection.is_closed():
            await self.connection.close()

    async def commit(self, *chats: int) -> UnitOfWork:
        async with UnitOfWork(self.sessions) as uow:
            for chat_id in chats:
                uow.stage(OutboxMessage, chat_id=chat_id, method="sendMessage",
                          payload={"chat_id": chat_id, "text": "hi"})
            await uow.commit()
        return uow


async def rows(engine) -> list[OutboxMessage]:
    async with sessionmaker(engine)() as session:
        result = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(result.scalars())


async def test_a_chat_with_rows_of_a_live_sender_keeps_that_sender(engine):
    async with Process(engine, 11) as a, Process(engine, 22) as b:
        first = await a.commit(100)
        assert [row["owner"] for row in first.committed_outbox] == [11]  # the short path
        second = await b.commit(100, 200)  # chat 100 still has a's row pending
        assert second.routed.owners == {100: 11, 200: 22}
        assert second.routed.wake == {11}  # told by NOTIFY, at commit
        assert [row["chat_id"] for row in second.committed_outbox] == [200]
        assert [(r.chat_id, r.owner) for r in await rows(engine)] == [
            (100, 11), (100, 11), (200, 22)]


async def test_a_chat_whose_rows_were_all_sent_goes_to_the_committing_process(engine):
    async with Process(engine, 11) as a, Process(engine, 22) as b:
        await a.commit(100)
        async with engine.begin() as connection:
            await connection.execute(update(OutboxMessage).values(status="sent",
                                                                  sent_at=utcnow()))
        later = await b.commit(100)
        assert later.routed.owners == {100: 22}
        assert list(later.routed.taken_over) == [100]  # with a's send, for the chat's rate
        assert len(later.routed.taken_over[100]) == 1


async def test_a_dead_senders_rows_are_taken_by_a_live_one_and_never_before(engine):
    async with Process(engine, 11) as a, Process(engine, 22) as b:
        await a.commit(100, 101)
        async with sessionmaker(engine)() as session, session.begin():
            assert (await owners.claim(session, 22, utcnow())).owners == {}  # a lives
        await a.die()
        async with sessionmaker(engine)() as session, session.begin():
            claimed = await owners.claim(session, 22, utcnow())
        assert claimed.owners == {100: 22, 101: 22}
        assert {r.owner for r in await rows(engine)} == {22}
        del b


async def test_rows_nobody_holds_go_to_the_chats_live_sender(engine):
    """A job's rows (no owner) in a chat whose rows a live sender holds go to that one."""
    async with Process(engine, 11) as a, Process(engine, 22):
        await a.commit(-500)  # the managers' group: a holds it
        async with sessionmaker(engine)() as session, session.begin():
            session.add(OutboxMessage(chat_id=-500, method="sendMessage", payload={}))
        async with sessionmaker(engine)() as session, session.begin():
            claimed = await owners.claim(session, 22, utcnow())
        assert claimed.owners == {-500: 11} and claimed.wake == {11}
        assert {r.owner for r in await rows(engine)} == {11}


async def test_updates_of_one_chat_committed_at_once_by_two_processes_get_one_sender(engine):
    """Without the chat's lock both see no pending row and each takes the chat."""
    async with Process(engine, 11) as a, Process(engine, 22) as b:
        chats = list(range(1000, 1040))
        await asyncio.gather(*(process.commit(chat) for chat in chats
                               for process in random.sample([a, b], 2)))
        by_chat: dict[int, set[int | None]] = {}
        for row in await rows(engine):
            by_chat.setdefault(row.chat_id, set()).add(row.owner)
        assert all(len(found) == 1 for found in by_chat.values()), by_chat


async def test_only_this_databases_senders_count(engine):
    async with Process(engine, 11):
        other = await asyncpg.connect(dsn_of(
            engine.url.set(database="postgres").render_as_string(hide_password=False)))
        try:  # another bot on the same server, in another database
            assert await other.fetchval("SELECT pg_try_advisory_lock($1, $2)", SENDERS, 33)
            async with sessionmaker(engine)() as session, session.begin():
                assert await owners.live_count(session) == 1
        finally:
            await other.close()


async def test_rows_changed_in_place_tell_every_sender_also_from_a_process_without_its_number(
        engine):
    """An erasure scrubs queued rows where they are: another process's sender must read
    them again before it sends what it holds in memory. A process whose own number is gone
    (its connection lost) still tells them."""
    async with Process(engine, 11) as a:
        listener = await asyncpg.connect(dsn_of(engine.url.render_as_string(
            hide_password=False)))
        heard: asyncio.Queue[str] = asyncio.Queue()
        await listener.add_listener(owners.CHANNEL, lambda *args: heard.put_nowait(args[-1]))
        try:
            halted = Process(engine, 22)
            halted.sessions.kw["info"][owners.OWNER].number = None
            for process, said in ((a, "reread 11"), (halted, "reread 0")):
                async with UnitOfWork(process.sessions) as uow:
                    await uow.outbox.drop_chat(100, "blocked")  # an in-place change
                    await uow.commit()
                assert await asyncio.wait_for(heard.get(), 10) == said
        finally:
            await listener.close()
