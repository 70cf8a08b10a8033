"""The sender's short path: rows from the commit straight into memory, marked sent in
batches only after Telegram accepted them, the message ids of recent sends remembered for the
edits that follow (the outbox after a restart), and priorities when the bot-wide budget is
short. The real aiogram Bot against the fake Bot API, on both databases."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from sqlalchemy import event, select

from bot.outbox.limits import Limits
from bot.outbox.port import Call, Result, Unavailable
from bot.outbox.sender import Sender
from bot.telegram.delivery import AiogramDelivery, sender_for
from storage.schema.tables import Conversation, OutboxMessage, Prospect
from storage.work.uow import UnitOfWork
from tests.conftest import fast_limits, stamped_session
from tests.e2e.harness import eventually
from tests.fakes.telegram import FakeTelegram


async def commit(sessions, *rows: dict) -> list[dict]:
    """Rows staged and committed as an update's transaction does: what `submit` gets."""
    async with UnitOfWork(sessions) as uow:
        for row in rows:
            uow.stage(OutboxMessage, **row)
        await uow.commit()
    return uow.committed_outbox


def say(chat_id: int, words: str, **fields) -> dict:
    return {"chat_id": chat_id, "method": "sendMessage",
            "payload": {"chat_id": chat_id, "text": words}, **fields}


def chosen(chat_id: int, conversation_id: int, step: str, words: str) -> dict:
    """The cosmetic edit: the answered question without its buttons."""
    return {"chat_id": chat_id, "method": "editMessageText", "conversation_id": conversation_id,
            "step": step, "payload": {"chat_id": chat_id, "text": words,
                                      "reply_markup": {"inline_keyboard": []}}}


async def conversations(sessions, *chat_ids: int) -> dict[int, int]:
    found = {}
    async with UnitOfWork(sessions) as uow:
        for chat_id in chat_ids:
            uow.prospects.add(Prospect(user_id=chat_id, chat_id=chat_id))
        await uow.session.flush()
        for chat_id in chat_ids:
            found[chat_id] = (await uow.conversations.add_now(Conversation(
                user_id=chat_id, chat_id=chat_id, flow_id="f", flow_version=1, step="q1"))).id
        await uow.commit()
    return found


async def stored(sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id)))
                    .scalars())


class Gate:
    """The aiogram transport behind a gate: the first `allow` calls go through, the others
    wait until `open()` (then go) or `cut()` (then fail as a dropped connection would)."""

    def __init__(self, bot: Bot, allow: int = 0) -> None:
        self.real, self.allow = AiogramDelivery(bot), allow
        self.opened, self.held = asyncio.Event(), 0
        self.verdict: Result | None = None

    async def deliver(self, call: Call) -> Result:
        if self.allow > 0:
            self.allow -= 1
            return await self.real.deliver(call)
        self.held += 1
        await self.opened.wait()
        if self.verdict is not None:
            return self.verdict
        return await self.real.deliver(call)

    def open(self) -> None:
        self.opened.set()

    def cut(self) -> None:
        self.verdict = Unavailable("connection reset")
        self.opened.set()


async def running(sender: Sender) -> tuple[asyncio.Event, asyncio.Task]:
    stop = asyncio.Event()
    return stop, asyncio.create_task(sender.run(stop))


async def test_a_row_is_marked_sent_only_after_telegram_accepted_it(sessions, bot, telegram):
    gate = Gate(bot)
    sender = Sender(gate, sessions, fast_limits())
    stop, task = await running(sender)
    sender.submit(await commit(sessions, say(1, "hello"), say(2, "hi")))

    async def both_held() -> bool:
        return gate.held == 2

    await eventually(both_held, what="both calls to wait at the gate")
    await asyncio.sleep(0.2)  # time enough to mark them, were it wrong to
    assert [r.status for r in await stored(sessions)] == ["pending", "pending"]
    assert telegram.sent() == []
    gate.open()

    async def marked() -> bool:
        return all(r.status == "sent" for r in await stored(sessions))

    await eventually(marked, what="the accepted rows to be marked")
    rows = await stored(sessions)
    accepted = {int(c.params["chat_id"]): c for c in telegram.sent(method="sendMessage")}
    assert set(accepted) == {1, 2}
    assert all(r.telegram_message_id and r.sent_at for r in rows)
    stop.set()
    await task


async def test_a_restart_resends_what_was_not_accepted_and_nothing_twice(
        sessions, bot, telegram):
    gate = Gate(bot, allow=3)
    first = Sender(gate, sessions, fast_limits())
    stop, task = await running(first)
    words = {chat: [f"{chat}-{n}" for n in range(3)] for chat in (1, 2, 3)}
    for n in range(3):
        first.submit(await commit(sessions, *(say(chat, words[chat][n]) for chat in words)))

    async def three_marked() -> bool:
        return sum(r.status == "sent" for r in await stored(sessions)) == 3 and gate.held

    await eventually(three_marked, what="three rows accepted and marked, the next held")
    gate.cut()  # the connection drops: the held calls never reached Telegram
    stop.set()
    await task
    assert sum(r.status == "sent" for r in await stored(sessions)) == 3

    second = sender_for(bot, sessions, fast_limits())  # the restart: nothing in memory
    await second.drain()
    for chat, expected in words.items():
        assert telegram.texts(chat) == expected  # each once, in order
    assert all(r.status == "sent" for r in await stored(sessions))
    assert telegram.violations == []


async def test_an_edit_finds_its_message_in_memory_and_after_a_restart_in_the_outbox(
        sessions, engine, bot, telegram):
    ids = await conversations(sessions, 5)
    sender = sender_for(bot, sessions, fast_limits())
    stop, task = await running(sender)
    sender.submit(await commit(sessions, say(5, "Where?", conversation_id=ids[5], step="q1")))
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async def all_sent() -> bool:
            return all(r.status == "sent" for r in await stored(sessions))

        await eventually(all_sent, what="the question to be sent")
        statements.clear()
        sender.submit(await commit(sessions, chosen(5, ids[5], "q1", "Where? — In the city")))
        await eventually(all_sent, what="the edit to be sent")
        looked_up = [s for s in statements if "outbox.step = " in s]
        assert looked_up == []  # the message id came from memory
        stop.set()
        await task

        restarted = sender_for(bot, sessions, fast_limits())
        stop, task = await running(restarted)
        statements.clear()
        restarted.submit(await commit(sessions, chosen(5, ids[5], "q1", "Where? — Suburbs")))
        await eventually(all_sent, what="the second edit to be sent")
        assert [s for s in statements if "outbox.step = " in s]
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    stop.set()
    await task
    question = (await stored(sessions))[0]
    edits = telegram.sent(5, "editMessageText")
    assert [int(c.params["message_id"]) for c in edits] == [question.telegram_message_id] * 2


async def test_a_short_budget_drops_only_cosmetic_edits(sessions):
    """Forty prospects answer at once with the bot allowed 8 messages a second: the next
    questions, the taps' answers and a lead's card all go, within every limit; cosmetic
    edits (the chosen answer shown) give way, and those that waited too long are dropped."""
    limits = Limits(chat_rate=20, chat_burst=3, bot_rate=8, bot_burst=8,
                    group_per_minute=1200, group_burst=5)
    telegram = FakeTelegram(limits=limits)
    await telegram.start()
    session = stamped_session(telegram.url)  # its rate judged when sent, not when it arrived
    bot = Bot(telegram.token, session=session)
    try:
        chats = list(range(100, 140))
        ids = await conversations(sessions, *chats)
        sender = sender_for(bot, sessions, limits)
        for chat in chats:  # the first questions, sent earlier
            await commit(sessions, say(chat, "Q1", conversation_id=ids[chat], step="q1"))
        await sender.drain(timeout=60)
        stop, task = await running(sender)
        rows = []
        for chat in chats:
            rows += await commit(
                sessions,
                {"chat_id": chat, "lane": "tap", "method": "answerCallbackQuery",
                 "payload": {"callback_query_id": f"tap{chat}"}},
                chosen(chat, ids[chat], "q1", "Q1 — yes"),
                say(chat, "Q2", conversation_id=ids[chat], step="q2"))
        rows += await commit(sessions, say(-100500, "🔥 Hot lead", purpose="card"))
        sender.submit(rows)

        async def settled() -> bool:
            return not any(r.status == "pending" for r in await stored(sessions))

        await eventually(settled, what="every row sent or dropped")
        stop.set()
        await task
    finally:
        await session.close()
        await telegram.stop()
    final = await stored(sessions)
    dropped = [r for r in final if r.status == "dropped"]
    assert dropped, "the budget was short: some cosmetic edits must have given way"
    assert all(r.method == "editMessageText" for r in dropped)
    assert all(r.status == "sent" for r in final if r.method != "editMessageText")
    for chat in chats:
        assert telegram.texts(chat)[0] == "Q1" and "Q2" in telegram.texts(chat)
    assert telegram.texts(-100500) == ["🔥 Hot lead"]
    taps = [c.params["callback_query_id"] for c in telegram.sent(method="answerCallbackQuery")]
    assert sorted(taps) == sorted(f"tap{chat}" for chat in chats), (
        [t for t in taps if taps.count(t) > 1],
        [(r.id, r.method, r.status, r.payload) for r in final if r.lane == "tap"][:5])
    assert telegram.violations == [] and not any(c.status == 429 for c in telegram.calls)
