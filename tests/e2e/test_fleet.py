"""Three webhook processes on one PostgreSQL, in one event loop here (the real processes,
killed with -9, are tests/e2e/test_chaos.py's): updates spread at random as a load
balancer does, prospects to hot leads, two managers claiming each card. Every outbox row is
sent once (the fake's calls equal the rows marked sent), Telegram's limits hold for the bot
as a whole (the fake enforces them across all three), and a sender that loses its
connection sends nothing until it is back (bot/outbox/fleet.py)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

from sqlalchemy import func, select, text

from storage.schema.tables import Event, OutboxMessage
from tests.databases import database_url, fresh_engine
from tests.e2e.conftest import webhook_running
from tests.e2e.harness import Running, WebhookRunning, eventually
from tests.e2e.test_handoff import ANNA, BORIS, GROUP, hot_lead, manager_tap

TELEGRAMS = {"getMe", "setWebhook", "deleteWebhook", "setMyCommands", "getChat",
             "getChatMember", "setMyDescription", "setMyShortDescription"}
MANAGED = {"managers_chat_id": GROUP, "manager_ids": [ANNA, BORIS],
           "managers_language": "en"}


@dataclass
class Spread(Running):
    """What a load balancer in front of them does: each update to any of the processes."""

    processes: list[WebhookRunning] = field(default_factory=list)
    answered: bool = True

    async def deliver(self, update, update_id=None) -> int:
        self.pushed += 1
        return await random.choice(self.processes).deliver(update, update_id)

    async def settle(self) -> None:
        for process in self.processes:
            await process.settle()


@contextlib.asynccontextmanager
async def three(telegram, tmp_path):
    engine = await fresh_engine("postgresql", tmp_path)  # emptied for this test
    await engine.dispose()
    url = await database_url("postgresql", tmp_path)
    async with webhook_running(telegram, url, **MANAGED) as a, \
            webhook_running(telegram, url, **MANAGED) as b, \
            webhook_running(telegram, url, **MANAGED) as c:
        yield Spread(a.app, telegram, processes=[a, b, c])


async def sent_rows(running) -> int:
    async with running.app.sessions() as session:
        return await session.scalar(select(func.count()).where(
            OutboxMessage.status == "sent"))


async def test_three_processes_send_every_message_once_within_the_limits(telegram, tmp_path):
    async with three(telegram, tmp_path) as spread:
        assert all(p.app.fleet.connected for p in spread.processes)

        async def shared() -> bool:  # each counts the live senders every second
            return {p.app.sender.limiter.processes for p in spread.processes} == {3}

        await eventually(shared, what="the budget split in three")
        prospects = [spread.prospect(8100 + i) for i in range(6)]
        await asyncio.gather(*(hot_lead(p, phone=f"+7916123{4500 + i}")
                               for i, p in enumerate(prospects)))
        await spread.settle()
        claims = [button["callback_data"] for card in telegram.sent(GROUP, "sendMessage")
                  for row in card.params["reply_markup"]["inline_keyboard"] for button in row
                  if button["callback_data"].startswith("claim:")]
        assert sorted(claims) == sorted(set(claims))  # each lead on one card (or digest)
        assert len(claims) == len(prospects)
        for data in claims:  # both managers tap claim at once, through any process
            await asyncio.gather(spread.deliver(manager_tap(spread, ANNA, data)),
                                 spread.deliver(manager_tap(spread, BORIS, data)))
        await spread.settle()
        owners = {p.app.fleet.holder.number for p in spread.processes}
        async with spread.app.sessions() as session:
            claimed = await session.scalar(select(func.count()).where(
                Event.kind == "claimed"))
            senders = set((await session.execute(select(OutboxMessage.owner).where(
                OutboxMessage.status == "sent").distinct())).scalars())
        calls = [c for c in telegram.calls if c.method not in TELEGRAMS]
        assert telegram.violations == []
        assert len(calls) == await sent_rows(spread), "a row was sent more than once"
        assert claimed == len(prospects)  # one winner per claim
        assert senders <= owners and len(senders) > 1  # the work was shared


async def test_a_sender_that_loses_its_connection_halts_and_comes_back(telegram, tmp_path):
    async with three(telegram, tmp_path) as spread:
        lost = spread.processes[0]
        number = lost.app.fleet.holder.number
        async with lost.app.engine.begin() as connection:  # as a network cut ends it
            # this database's lock only: another xdist worker's senders (its own database)
            # hold the same small numbers
            await connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objid = :number AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"number": number})

        async def halted() -> bool:
            return lost.app.sender.halted or lost.app.fleet.holder.number != number

        await eventually(halted, what="the sender to notice")
        prospects = [spread.prospect(8200 + i) for i in range(3)]
        for prospect in prospects:  # answered whichever process takes the update
            await prospect.start("kitchen-quiz")

        async def back() -> bool:
            return lost.app.fleet.connected

        await eventually(back, what="the sender to connect again")
        assert lost.app.fleet.holder.number != number  # a new number: its old rows are gone
        await prospects[0].tap("Start")
        for prospect in prospects:
            assert prospect.said(), prospect.user_id
        calls = [c for c in telegram.calls if c.method not in TELEGRAMS]
        assert len(calls) == await sent_rows(spread)
        assert telegram.violations == []
