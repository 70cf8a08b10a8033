"""The outbox's bulk lane (broadcasts, docs/broadcasts.md): below every other message, its
own share of the bot's rate, at most once. The real sender and aiogram Bot against the fake
Bot API over HTTP, on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select, update

from bot.outbox.bulk import BULK_POLL, BULK_YIELD
from bot.outbox.fleet import Fleet
from bot.outbox.limits import BULK_SLACK, Limits, RateLimiter
from bot.outbox.pending import BULK, Row, rank
from bot.outbox.sender import Sender
from bot.telegram.delivery import sender_for
from storage.schema.tables import OutboxMessage, Prospect, utcnow
from storage.work.uow import UnitOfWork
from tests.conftest import fast_limits, stamped_session
from tests.databases import database_url, fresh_engine
from tests.e2e.harness import eventually
from tests.fakes.telegram import Call, FakeTelegram

SLOW = Limits().scaled(2)  # bulk 40/s of the bot's 60/s, 2/s a chat: a broadcast of
# 300 takes seconds, long enough for a stream of replies to cross it


def bulk(chat_id: int, words: str = "Offer") -> OutboxMessage:
    return OutboxMessage(chat_id=chat_id, lane="bulk", marketing=True, purpose="bulk",
                         method="sendMessage", payload={"chat_id": chat_id, "text": words})


def reply(chat_id: int, words: str) -> dict:
    return {"chat_id": chat_id, "method": "sendMessage",
            "payload": {"chat_id": chat_id, "text": words}}


async def queue(sessions, rows: Iterable[OutboxMessage]) -> list[int]:
    """Rows written as a job writes them (the broadcasts' writer): no short path."""
    async with UnitOfWork(sessions) as uow:
        ids = [(await uow.outbox.add_now(row)).id for row in rows]
        await uow.commit()
    return ids


async def commit(sessions, *rows: dict) -> list[dict]:
    """An update's rows, committed as its transaction does: what `submit` gets."""
    async with UnitOfWork(sessions) as uow:
        for row in rows:
            uow.stage(OutboxMessage, **row)
        await uow.commit()
    return uow.committed_outbox


async def stored(sessions) -> dict[int, OutboxMessage]:
    async with sessions() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars()
        return {row.id: row for row in rows}


@contextlib.asynccontextmanager
async def fake(limits: Limits):
    telegram = FakeTelegram(limits=limits)
    await telegram.start()
    try:
        yield telegram
    finally:
        await telegram.stop()


@contextlib.asynccontextmanager
async def aiogram_bot(url: str, timeout: float | None = None):
    if timeout is None:
        session = stamped_session(url)
    else:
        session = AiohttpSession(api=TelegramAPIServer.from_base(url), timeout=timeout)
    try:
        yield Bot(FakeTelegram.token, session=session)
    finally:
        await session.close()


@contextlib.asynccontextmanager
async def running(sender: Sender):
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


def most_in_a_second(calls: list[Call]) -> int:
    """The most of these calls sent within any one second (a sliding window)."""
    times = sorted(c.sent_at if c.sent_at is not None else c.at for c in calls)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def bulk_calls(telegram: FakeTelegram, chats: set[int], via: str | None = None) -> list[Call]:
    return [c for c in telegram.calls if c.method == "sendMessage" and c.status == 200
            and int(c.params["chat_id"]) in chats and (via is None or c.via == via)]


# -- the limiter --------------------------------------------------------------------------

def test_a_bulk_message_goes_at_its_own_rate():
    limiter = RateLimiter(Limits())
    sent = 0
    while limiter.wait(1000 + sent, 0.0, bulk=True) == 0:
        limiter.take(1000 + sent, 0.0, bulk=True)
        sent += 1
    assert sent == BULK_SLACK == 2  # what the bot-wide burst spares at once
    times = []  # then, a bulk message whenever one may go, for two seconds
    for ms in range(1, 2000):
        if limiter.wait(2000 + ms, ms / 1000, bulk=True) == 0:
            limiter.take(2000 + ms, ms / 1000, bulk=True)
            times.append(ms / 1000)
    assert len([t for t in times if t >= 1.0]) in (20, 21)  # its own 20/s, not Telegram's 30


def test_a_bulk_message_leaves_the_bot_wide_reserve_to_replies():
    limiter = RateLimiter(Limits())
    limiter.take(1, 0.0)  # a crowd's reply: 29 of the burst of 30 left
    assert limiter.wait(1000, 0.0, bulk=True) == 0  # a broadcast may leave it at 28
    limiter.take(1000, 0.0, bulk=True)
    for chat in range(2, 7):  # five more replies: 23 left
        limiter.take(chat, 0.0)
    assert limiter.bot_burst - BULK_SLACK == pytest.approx(28)
    assert limiter.wait(100, 0.0) == 0  # a reply still goes now
    assert limiter.wait(1001, 0.0, bulk=True) == pytest.approx(6 / 30)  # a broadcast waits
    # until the bucket holds 29 again: the next reply after a quiet moment finds 28 or more


def test_the_bulk_share_is_split_between_processes_like_the_bot_wide_rate():
    limiter = RateLimiter(Limits())
    limiter.share(2, now=0.0)
    burst = 0
    while limiter.wait(1000 + burst, 0.0, bulk=True) == 0:
        limiter.take(1000 + burst, 0.0, bulk=True)
        burst += 1
    assert burst == 2  # half of 5, rounded down by whole messages
    assert limiter.bulk_rate == 10  # half of 20/s
    # the next: when its own bucket has the half it lacks (0.05 s) and the bot-wide bucket
    # (15 a process, 13 left) holds 14 again, all but BULK_SLACK of its burst (1/15 s)
    assert limiter.bulk_wait(0.0) == pytest.approx(max((1 - 0.5) / 10, 1 / 15))


def test_the_setting_is_scaled_as_the_limits_are_and_capped_by_the_bot_rate():
    assert Limits().with_bulk_rate(10).bulk_rate == 10
    assert Limits().scaled(20).with_bulk_rate(10).bulk_rate == 200
    assert Limits(bot_rate=8).with_bulk_rate(30).bulk_rate == 8
    with pytest.raises(ValueError, match="more than 0"):
        Limits().with_bulk_rate(0)


def test_a_bulk_row_ranks_below_everything():
    row = Row.of({"id": 1, "chat_id": 5, "lane": "bulk", "method": "sendMessage",
                  "payload": {}, "conversation_id": None, "step": None, "purpose": "bulk",
                  "edit_of": None, "marketing": True, "created_at": utcnow()})
    assert rank(row) == BULK == 4


# -- the scan -----------------------------------------------------------------------------

async def test_the_scan_takes_bulk_heads_last(sessions):
    await queue(sessions, (bulk(1000 + i) for i in range(250)))
    card, follow_up = await queue(sessions, [
        OutboxMessage(chat_id=-100, method="sendMessage", purpose="card",
                      payload={"chat_id": -100, "text": "card"}),
        OutboxMessage(chat_id=7, method="sendMessage", marketing=True,
                      payload={"chat_id": 7, "text": "follow-up"})])
    async with UnitOfWork(sessions) as uow:
        heads = await uow.outbox.heads(utcnow(), 200)
    assert [h.id for h in heads[:2]] == [card, follow_up]
    assert len(heads) == 200 and all(h.lane == "bulk" for h in heads[2:])


# -- priority and share -------------------------------------------------------------------

async def test_replies_to_a_crowd_go_before_the_broadcast_waiting_and_it_keeps_its_share(
        sessions):
    """300 broadcast messages queued, then ten prospects reply for six seconds: each reply
    reaches Telegram before every broadcast message that was still waiting when the reply
    was committed, the broadcast never takes more than its share in any second, and
    Telegram never answers 429."""
    broadcast = set(range(1001, 1301))
    prospects = list(range(1, 11))
    async with fake(SLOW) as telegram, aiogram_bot(telegram.url) as bot:
        sender = sender_for(bot, sessions, SLOW)
        ids = dict(zip(await queue(sessions, (bulk(chat) for chat in sorted(broadcast))),
                       sorted(broadcast), strict=True))
        waiting_for: dict[int, set[int]] = {}  # a reply's chat and text -> bulk chats
        async with running(sender):
            sender.wake()
            await eventually(lambda: _some_sent(telegram, broadcast), what="a bulk send")
            for i in range(60):
                chat = prospects[i % len(prospects)]
                rows = await commit(sessions, reply(chat, f"reply {i}"))
                # waiting now: queued in memory, or not read from the outbox yet
                queued = {r.id for (_, lane), q in sender.pending.queues.items()
                          if lane == "bulk" for r in q}
                unread = set(ids) - sender.pending.known - set(sender.pending.recent)
                waiting_for[i] = {ids[row_id] for row_id in queued | unread}
                sender.submit(rows)
                await asyncio.sleep(0.1)

            async def done() -> bool:
                return len(bulk_calls(telegram, broadcast)) == 300 and all(
                    r.status == "sent" for r in (await stored(sessions)).values())

            await eventually(done, what="every message sent")
    order = {}  # by when the bot sent each (its session stamps it), first send
    for call in telegram.sent(method="sendMessage"):
        chat = int(call.params["chat_id"])
        order.setdefault(call.params["text"] if chat <= 10 else chat, call.sent_at)
    late = {i: sorted(c for c in waiting if order[c] < order[f"reply {i}"])
            for i, waiting in waiting_for.items()}
    assert all(not chats for chats in late.values()), {i: c for i, c in late.items() if c}
    assert sum(len(w) for w in waiting_for.values()) > 0  # the replies did cross it
    share = SLOW.bulk_rate + SLOW.bulk_burst + 1  # a second's rate and the burst (+ jitter)
    assert most_in_a_second(bulk_calls(telegram, broadcast)) <= share
    assert not any(c.status == 429 for c in telegram.calls) and telegram.violations == []
    assert sender.counters.bulk_sent == 300 and sender.counters.sent == 360


async def _some_sent(telegram: FakeTelegram, chats: set[int]) -> bool:
    return len(bulk_calls(telegram, chats)) > 0


async def test_a_reply_in_the_same_chat_goes_before_its_bulk_message(sessions):
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url) as bot:
        await queue(sessions, [bulk(5, "Offer")])
        await queue(sessions, [OutboxMessage(chat_id=5, method="sendMessage",
                                             payload={"chat_id": 5, "text": "Question 2"})])
        await sender_for(bot, sessions, fast_limits()).drain()
    assert telegram.texts(5) == ["Question 2", "Offer"]


async def test_a_broadcast_message_waits_while_an_update_is_handled_but_not_for_long(
        sessions):
    """The bot handling an update (a crowd's burst): a broadcast message starts only once
    it is done, or once it has waited BULK_YIELD; a reply's row is never held back."""
    await queue(sessions, [bulk(5), bulk(6), bulk(8)])
    await queue(sessions, [OutboxMessage(chat_id=7, method="sendMessage",
                                         payload={"chat_id": 7, "text": "Question 2"})])
    clock, handling = [100.0], [1]
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url) as bot:
        sender = sender_for(bot, sessions, fast_limits(), monotonic=lambda: clock[0])
        sender.busy = lambda: handling[0]
        await sender.scan()
        assert sender.dispatch() == BULK_POLL  # an update is being handled: look again soon
        await asyncio.gather(*sender._calls)
        assert telegram.texts(7) == ["Question 2"] and bulk_calls(telegram, {5, 6}) == []
        clock[0] += BULK_YIELD  # a long update: the broadcast goes all the same
        sender.dispatch()
        await asyncio.gather(*sender._calls)
        assert len(bulk_calls(telegram, {5, 6, 8})) >= 1
        clock[0] += 1.0  # updates that never stop: it waited once, not before each message
        assert sender.dispatch() != BULK_POLL
        await asyncio.gather(*sender._calls)
        assert telegram.texts(5) == telegram.texts(6) == telegram.texts(8) == ["Offer"]
        assert handling == [1]  # all of it while the updates went on
        await queue(sessions, [bulk(9)])
        await sender.scan()
        handling[0], clock[0] = 0, clock[0] + 1.0  # idle: the next goes at once
        sender.dispatch()
        await asyncio.gather(*sender._calls)
        assert telegram.texts(9) == ["Offer"]
        await queue(sessions, [bulk(10)])
        await sender.scan()
        handling[0], clock[0] = 1, clock[0] + 1.0  # a new burst: its turn first again
        assert sender.dispatch() == BULK_POLL
        await asyncio.gather(*sender._calls)
        assert bulk_calls(telegram, {10}) == []


async def test_two_senders_split_the_bulk_share(tmp_path):
    """Two processes on one PostgreSQL each send their own part of a broadcast; together
    they never take more than the one share of the bot (the fake counts their calls by the
    path each came by)."""
    engine = await fresh_engine("postgresql", tmp_path)
    url = await database_url("postgresql", tmp_path)
    from storage.db.engine import sessionmaker

    broadcast = set(range(2001, 2301))
    stop = asyncio.Event()
    tasks: list[asyncio.Task] = []
    async with fake(SLOW) as telegram, aiogram_bot(telegram.url + "/p1") as one, \
            aiogram_bot(telegram.url + "/p2") as two:
        senders = []
        try:
            for bot in (one, two):
                sessions = sessionmaker(engine)
                sender = sender_for(bot, sessions, SLOW)
                fleet = Fleet(url, sender, sessions)
                await fleet.start()
                tasks += [asyncio.create_task(fleet.run(stop)),
                          asyncio.create_task(sender.run(stop))]
                senders.append(sender)

            async def both_counted() -> bool:
                return all(s.limiter.processes == 2 for s in senders)

            await eventually(both_counted, what="each sender counting two")
            await queue(sessionmaker(engine), (bulk(chat) for chat in sorted(broadcast)))
            for sender in senders:
                sender.wake()

            async def done() -> bool:
                return len(bulk_calls(telegram, broadcast)) == 300

            await eventually(done, what="the broadcast sent")
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await engine.dispose()
    by_path = {via: bulk_calls(telegram, broadcast, via) for via in ("p1", "p2")}
    assert all(by_path.values()), {v: len(c) for v, c in by_path.items()}
    assert most_in_a_second(bulk_calls(telegram, broadcast)) <= (
        SLOW.bulk_rate + SLOW.bulk_burst + 2)
    for calls in by_path.values():  # each its half
        assert most_in_a_second(calls) <= SLOW.bulk_rate / 2 + SLOW.bulk_burst / 2 + 1
    assert sorted(int(c.params["chat_id"]) for c in bulk_calls(telegram, broadcast)) == sorted(
        broadcast)  # each once
    assert not any(c.status == 429 for c in telegram.calls) and telegram.violations == []


# -- at most once -------------------------------------------------------------------------

class Hung:
    """A transport whose calls never come back (the process is killed during them)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def deliver(self, call):
        self.started.set()
        await asyncio.Event().wait()


async def test_a_row_left_sending_by_a_killed_sender_is_never_sent_again(sessions):
    offer, other = await queue(sessions, [bulk(5, "Offer"), bulk(6, "Offer")])
    await queue(sessions, [OutboxMessage(chat_id=5, method="sendMessage",
                                         payload={"chat_id": 5, "text": "later reply"})])
    hung = Hung()
    killed = Sender(hung, sessions, fast_limits())
    await killed.scan()
    killed.dispatch()  # the reply to 5 and the bulk row to 6 start; then 5's bulk row
    await asyncio.wait_for(hung.started.wait(), 10)
    await asyncio.sleep(0.2)
    rows = await stored(sessions)
    assert rows[other].status == "sending"  # marked before its call, committed
    for task in list(killed._calls):  # kill -9: the calls under way never finish
        task.cancel()
    await asyncio.gather(*killed._calls, return_exceptions=True)
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url) as bot:
        await sender_for(bot, sessions, fast_limits()).drain()
    rows = await stored(sessions)
    assert rows[other].status == "sending"  # unknown: maybe delivered, never again
    assert telegram.texts(6) == []
    assert telegram.texts(5) == ["later reply", "Offer"]  # never called: sent as ever
    assert rows[offer].status == "sent"


async def test_a_bulk_row_dropped_after_the_scan_read_it_is_not_sent(sessions):
    offer, = await queue(sessions, [bulk(5)])
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url) as bot:
        sender = sender_for(bot, sessions, fast_limits())
        await sender.scan()  # in memory now
        async with sessions() as session, session.begin():  # /stop, an erasure: in place
            await session.execute(update(OutboxMessage).values(status="dropped"))
        sender.dispatch()
        await asyncio.gather(*sender._calls)
        await sender.drain()
    assert telegram.texts(5) == []
    assert (await stored(sessions))[offer].status == "dropped"


async def test_a_429_puts_a_bulk_row_back_and_it_goes_once(sessions):
    offer, = await queue(sessions, [bulk(5)])
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url) as bot:
        telegram.fail(429, "Too Many Requests: retry after 1", method="sendMessage",
                      retry_after=1)
        counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.rate_limited == 1 and counters.bulk_sent == 1
    assert telegram.texts(5) == ["Offer"]
    assert (await stored(sessions))[offer].status == "sent"
    assert telegram.violations == []


async def test_a_server_error_puts_a_bulk_row_back_and_it_goes_once(sessions):
    offer, = await queue(sessions, [bulk(5)])
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url) as bot:
        telegram.fail(502, "Bad Gateway", method="sendMessage")
        counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.retried == 1 and counters.bulk_sent == 1
    assert telegram.texts(5) == ["Offer"]
    assert (await stored(sessions))[offer].status == "sent"


async def test_a_bulk_row_without_an_answer_is_unknown_and_never_sent_again(sessions):
    """A timeout: Telegram may have delivered it; a broadcast would rather lose it than
    send it twice. Any other row is retried (at-least-once, as ever)."""
    offer, = await queue(sessions, [bulk(5)])
    question, = await queue(sessions, [OutboxMessage(
        chat_id=6, method="sendMessage", payload={"chat_id": 6, "text": "Question"})])
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url, timeout=1) as bot:
        telegram.fail(500, "slow", method="sendMessage", delay=3, times=2)
        counters = await sender_for(bot, sessions, fast_limits()).drain(timeout=60)
    rows = await stored(sessions)
    assert rows[offer].status == "failed" and rows[offer].error == "unknown: timeout"
    assert counters.unknown == 1 and counters.bulk_sent == 0
    assert len([c for c in telegram.calls if int(c.params.get("chat_id", 0)) == 5]) == 1
    assert rows[question].status == "sent" and telegram.texts(6) == ["Question"]


async def test_a_403_on_a_bulk_row_marks_the_prospect_blocked(sessions):
    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=5, chat_id=5))
        await uow.commit()
    offer, later = await queue(sessions, [bulk(5), bulk(5, "another broadcast")])
    async with fake(fast_limits()) as telegram, aiogram_bot(telegram.url) as bot:
        telegram.removed_chats.add(5)  # blocked: every message to 5 is a 403
        sender = sender_for(bot, sessions, fast_limits())
        await sender.drain()
    rows = await stored(sessions)
    assert sender.counters.blocked == 1
    assert rows[offer].status == "dropped" and "Forbidden" in rows[offer].error
    assert rows[later].status == "dropped"
    async with UnitOfWork(sessions) as uow:
        assert (await uow.prospects.get(5)).blocked


async def test_a_broadcast_waiting_never_makes_a_cosmetic_edit_give_way(sessions):
    """A cosmetic edit goes while the bot-wide budget has half its burst to spare after the
    messages queued: a broadcast's do not count, or every edit during a broadcast would be
    dropped (120 at 40/s outlast an edit's patience of 2 s)."""
    from storage.schema.tables import Conversation

    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=5, chat_id=5))
        await uow.session.flush()
        conversation = (await uow.conversations.add_now(Conversation(
            user_id=5, chat_id=5, flow_id="f", flow_version=1, step="q1"))).id
        await uow.commit()
    async with fake(SLOW) as telegram, aiogram_bot(telegram.url) as bot:
        sender = sender_for(bot, sessions, SLOW)
        await commit(sessions, {**reply(5, "Q1?"), "conversation_id": conversation,
                                "step": "q1"})
        await sender.drain()
        await queue(sessions, (bulk(3000 + i) for i in range(120)))
        edit, = await commit(sessions, {
            "chat_id": 5, "method": "editMessageText", "conversation_id": conversation,
            "step": "q1", "payload": {"chat_id": 5, "text": "Q1? — yes",
                                      "reply_markup": {"inline_keyboard": []}}})
        await sender.drain()
    assert (await stored(sessions))[edit["id"]].status == "sent"
    assert sender.counters.dropped == 0 and sender.counters.bulk_sent == 120
    assert telegram.texts(5) == ["Q1?", "Q1? — yes"]
