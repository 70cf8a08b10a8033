"""A broadcast going out: the job (bot/jobs/broadcasts.py) on a clock the test sets and the
real sender against the fake Bot API with Telegram's limits scaled up, on a real SQLite
file and on PostgreSQL: erased while queued, blocked (403), pause / resume / cancel,
scheduled, done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.jobs.broadcasts import BroadcastConfig
from bot.outbox.sender import Sender
from bot.telegram.delivery import sender_for
from storage.privacy.erasure import erase
from storage.reports.broadcasts import results
from storage.schema.tables import OutboxMessage
from storage.work.broadcasts import BroadcastError
from storage.work.uow import UnitOfWork
from tests.bot.broadcast_helpers import NOON, file, made, outbox, recipients, run, status
from tests.conftest import fast_limits
from tests.storage.broadcast_people import person

SLOW = BroadcastConfig(rate=1, quiet="off", weekly_cap=0)  # 5 messages ahead of the sender


@pytest.fixture
def sender(bot, sessions) -> Sender:
    return sender_for(bot, sessions, fast_limits())


async def people(sessions, *user_ids: int) -> None:
    async with sessions() as session:
        for user_id in user_ids:
            await person(session, user_id)
        await session.commit()


def reached(telegram) -> list[int]:
    return sorted(int(c.params["chat_id"]) for c in telegram.calls
                  if c.method == "sendMessage" and c.status == 200)


async def figures(sessions, broadcast_id: int) -> dict:
    async with sessions() as session:
        return await results(session, broadcast_id)


async def move(sessions, broadcast_id: int, to: str) -> None:
    async with UnitOfWork(sessions) as uow:
        await uow.broadcasts.set_status(await uow.broadcasts.get(broadcast_id), to, now=NOON)
        await uow.commit()


async def test_one_erased_while_their_message_is_queued_never_gets_it(sessions, sender,
                                                                      telegram):
    await people(sessions, 1, 2)
    broadcast = await made(sessions, file())
    assert await run(sessions, NOON) == 2
    async with UnitOfWork(sessions) as uow:  # /forget, their message in the outbox
        await erase(uow, 1, now=NOON, reason="forget")
        await uow.commit()
    await sender.drain()
    assert reached(telegram) == [2]
    [row] = await outbox(sessions, 1)
    assert (row.status, row.error) == ("dropped", "personal data erased")
    found = await figures(sessions, broadcast)
    assert (found["delivered"], found["dropped"]) == (1, 1)
    assert await run(sessions, NOON + timedelta(seconds=1)) == 0
    assert await status(sessions, broadcast) == "done"


async def test_a_403_marks_the_prospect_blocked_and_counts_as_blocked(sessions, sender,
                                                                      telegram):
    await people(sessions, 1, 2, 3)
    telegram.removed_chats.add(2)  # blocked the bot: every message to them is a 403
    broadcast = await made(sessions, file())
    assert await run(sessions, NOON) == 3
    await sender.drain()
    assert reached(telegram) == [1, 3]
    async with UnitOfWork(sessions) as uow:
        assert (await uow.prospects.get(2)).blocked
        assert not (await uow.prospects.get(1)).blocked
    found = await figures(sessions, broadcast)
    assert (found["delivered"], found["blocked"], found["failed"]) == (2, 1, 0)
    assert sender.counters.blocked == 1
    # a second broadcast leaves them out, blocked
    again = await made(sessions, file("again"))
    assert (await figures(sessions, again))["left_out"]["blocked"] == 1


async def test_pause_stops_new_rows_resume_goes_on_cancel_skips_the_rest(sessions, sender,
                                                                         telegram):
    await people(sessions, *range(1, 13))
    broadcast = await made(sessions, file(), config=SLOW)
    assert await run(sessions, NOON, SLOW) == 5  # five seconds of messages at 1/s
    await move(sessions, broadcast, "paused")
    assert await run(sessions, NOON, SLOW) == 0  # nothing new...
    await sender.drain()
    assert len(reached(telegram)) == 5  # ...what was queued still goes
    assert await run(sessions, NOON + timedelta(minutes=5), SLOW) == 0
    await move(sessions, broadcast, "sending")  # resume
    assert await run(sessions, NOON, SLOW) == 5
    await move(sessions, broadcast, "cancelled")
    assert await run(sessions, NOON, SLOW) == 0
    await sender.drain()
    found = await recipients(sessions, broadcast)
    assert sorted(r.status for r in found.values()) == ["queued"] * 10 + ["skipped"] * 2
    assert {r.reason for r in found.values() if r.status == "skipped"} == {"cancelled"}
    assert len(reached(telegram)) == 10
    assert await status(sessions, broadcast) == "cancelled"
    with pytest.raises(BroadcastError, match="cancelled: it cannot become sending"):
        await move(sessions, broadcast, "sending")
    done = await made(sessions, file("done-one"), config=SLOW, started=False)
    with pytest.raises(BroadcastError, match="draft: it cannot become paused"):
        await move(sessions, done, "paused")


async def test_a_scheduled_broadcast_starts_at_its_time_with_the_segment_of_then(sessions):
    await people(sessions, 1)
    at = NOON + timedelta(hours=1)
    broadcast = await made(sessions, file(), started=False, send_at=at)
    await move(sessions, broadcast, "scheduled")
    await people(sessions, 2)  # agreed after `send --at`, before its time: in it
    assert await run(sessions, at - timedelta(seconds=1)) == 0
    assert await status(sessions, broadcast) == "scheduled"
    assert await recipients(sessions, broadcast) == {}
    assert await run(sessions, at) == 2
    assert await status(sessions, broadcast) == "sending"
    async with UnitOfWork(sessions) as uow:
        assert (await uow.broadcasts.get(broadcast)).started_at == at


async def test_a_message_left_sending_by_a_crash_does_not_keep_it_from_done(sessions,
                                                                           sender):
    """A row marked `sending` when the process died is never sent again; it stays so. The
    broadcast is done all the same once nothing else waits."""
    await people(sessions, 1, 2)
    broadcast = await made(sessions, file())
    assert await run(sessions, NOON) == 2
    [first, _] = await outbox(sessions)
    async with sessions() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == first.id)
                              .values(status="sending"))
        await session.commit()
    await sender.drain()
    assert await run(sessions, NOON + timedelta(seconds=1)) == 0
    assert await status(sessions, broadcast) == "done"
    found = await figures(sessions, broadcast)
    assert (found["delivered"], found["unknown"]) == (1, 1)
