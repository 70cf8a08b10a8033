"""The outbox sender: the real aiogram Bot against the fake Bot API, on both databases."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from bot.telegram.delivery import sender_for
from storage.schema.tables import Event, OutboxMessage, Prospect
from storage.work.uow import UnitOfWork
from tests.conftest import fast_limits


async def queue(sessions, *rows: OutboxMessage) -> list[int]:
    async with UnitOfWork(sessions) as uow:
        ids = [(await uow.outbox.add_now(row)).id for row in rows]
        await uow.commit()
    return ids


def text(chat_id: int, words: str, **fields) -> OutboxMessage:
    return OutboxMessage(chat_id=chat_id, method="sendMessage",
                         payload={"chat_id": chat_id, "text": words}, **fields)


async def stored(sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id)))
                    .scalars())


async def test_messages_go_out_in_order_per_chat_and_edits_find_their_message(
        sessions, bot, telegram):
    first, *_ = await queue(sessions, *(text(1, f"one {i}") for i in range(5)),
                            *(text(2, f"two {i}") for i in range(3)))
    await queue(sessions, OutboxMessage(chat_id=1, method="editMessageText", edit_of=first,
                                        payload={"chat_id": 1, "text": "one 0, edited"}))
    sender = sender_for(bot, sessions, fast_limits())
    counters = await sender.drain()
    assert counters.sent == 9 and counters.failed == 0
    assert telegram.texts(1) == [f"one {i}" for i in range(5)] + ["one 0, edited"]
    assert telegram.texts(2) == [f"two {i}" for i in range(3)]
    rows = await stored(sessions)
    assert all(r.status == "sent" and r.telegram_message_id for r in rows)
    edit = telegram.sent(1, "editMessageText")[0]
    assert int(edit.params["message_id"]) == rows[0].telegram_message_id
    assert telegram.violations == []


async def test_a_429_storm_delivers_everything_and_sends_nothing_during_retry_after(
        sessions, bot, telegram):
    await queue(sessions, *(text(chat, f"m{chat}") for chat in range(1, 7)))
    telegram.fail(429, "Too Many Requests: retry after 1", retry_after=1, times=2)
    sender = sender_for(bot, sessions, fast_limits())
    counters = await sender.drain()
    assert counters.sent == 6 and counters.rate_limited >= 1
    assert telegram.violations == []  # nothing was sent while paused
    assert sorted(t for c in range(1, 7) for t in telegram.texts(c)) == [
        f"m{c}" for c in range(1, 7)]


async def test_a_blocked_prospect_is_marked_and_never_retried(sessions, bot, telegram):
    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=5, chat_id=5))
        await uow.commit()
    await queue(sessions, text(5, "hello"), text(5, "again"), text(6, "other"))
    telegram.fail(403, "Forbidden: bot was blocked by the user", method="sendMessage")
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.blocked == 1
    calls_to_5 = [c for c in telegram.calls if c.params.get("chat_id") == 5]
    assert len(calls_to_5) == 1
    assert [r.status for r in await stored(sessions)] == ["dropped", "dropped", "sent"]
    async with UnitOfWork(sessions) as uow:
        assert (await uow.prospects.get(5)).blocked


def refused(chat_id: int, **fields) -> OutboxMessage:
    """A message Telegram refuses with a 400: button data over 64 bytes."""
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "x" * 65}]]}
    return OutboxMessage(chat_id=chat_id, method="sendMessage", payload={
        "chat_id": chat_id, "text": "refused", "reply_markup": markup}, **fields)


async def test_a_refused_message_is_recorded_as_failed_not_retried(sessions, bot, telegram):
    await queue(sessions, refused(7), text(7, "after"))
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.failed == 1 and counters.sent == 1
    rows = await stored(sessions)
    assert rows[0].status == "failed" and "BUTTON_DATA_INVALID" in rows[0].error
    async with sessions() as session:
        kinds = (await session.execute(select(Event.kind))).scalars().all()
    assert kinds == ["send_failed"]


async def test_server_errors_and_timeouts_are_retried(sessions, bot, telegram):
    await queue(sessions, text(8, "eventually"))
    telegram.fail(502, "Bad Gateway", times=2)
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.retried == 2 and counters.sent == 1
    assert telegram.texts(8) == ["eventually"]


async def test_taps_are_answered_without_waiting_for_the_chat_queue(sessions, bot, telegram):
    await queue(sessions, *(text(9, f"q{i}") for i in range(6)),
                OutboxMessage(chat_id=9, lane="tap", method="answerCallbackQuery",
                              payload={"callback_query_id": "c1"}))
    await sender_for(bot, sessions, fast_limits()).drain_once()
    methods = [c.method for c in telegram.calls]
    assert "answerCallbackQuery" in methods[:2]


async def test_an_edit_goes_to_the_latest_message_of_its_step_that_was_sent(
        sessions, bot, telegram):
    from storage.schema.tables import Conversation

    async with UnitOfWork(sessions) as uow:
        uow.prospects.add(Prospect(user_id=10, chat_id=10))
        await uow.session.flush()
        conversation = await uow.conversations.add_now(Conversation(
            user_id=10, chat_id=10, flow_id="f", flow_version=1, step="q"))
        await uow.commit()
    ask = text(10, "question?", conversation_id=conversation.id, step="q")
    reminder = refused(10, conversation_id=conversation.id, step="q")
    edit = OutboxMessage(chat_id=10, method="editMessageText", conversation_id=conversation.id,
                         step="q", payload={"chat_id": 10, "text": "question? — yes"})
    await queue(sessions, ask, reminder, edit)
    await sender_for(bot, sessions, fast_limits()).drain()
    rows = await stored(sessions)
    assert [r.status for r in rows] == ["sent", "failed", "sent"]
    [call] = telegram.sent(10, "editMessageText")
    assert int(call.params["message_id"]) == rows[0].telegram_message_id


async def test_a_row_that_cannot_be_sent_fails_alone(sessions, bot, telegram):
    broken = OutboxMessage(chat_id=11, method="sendCarrierPigeon", payload={"chat_id": 11})
    await queue(sessions, broken, text(11, "after it"), text(12, "elsewhere"))
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.failed == 1 and counters.sent == 2
    assert telegram.texts(11) == ["after it"] and telegram.texts(12) == ["elsewhere"]
    assert (await stored(sessions))[0].error == "not sendable: KeyError"


async def test_the_sender_waits_out_a_database_outage(bot, caplog):
    import asyncio

    from storage.db.engine import create_engine, sessionmaker
    from tests.e2e.harness import eventually

    engine = create_engine("postgresql://postgres@127.0.0.1:9/nowhere")  # nobody listens
    sender = sender_for(bot, sessionmaker(engine), fast_limits())
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))

    async def noticed() -> bool:  # the first try failed (seconds on a loaded machine)
        return "the database is away" in caplog.text

    await eventually(noticed, what="the sender to notice the database is away")
    await asyncio.sleep(1.5)  # and a few more tries; it must still be running
    assert not running.done()
    stop.set()
    await running  # and it stops cleanly when asked
    await engine.dispose()
    assert "the database is away" in caplog.text


async def test_the_fake_catches_a_bot_that_sends_without_a_limiter(bot, telegram):
    """The fake's jitter tolerance must not hide a missing limiter: a careless burst of ten
    messages to one chat (what a plain aiogram bot does) is refused and recorded."""
    import asyncio

    from aiogram.exceptions import TelegramRetryAfter

    # all at once, as a bot without a limiter does: sent one after another, a loaded machine
    # could space them out past the fake's rate (20 a second here) and nothing would trip
    results = await asyncio.gather(*(bot.send_message(7, f"burst {i}") for i in range(10)),
                                   return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors and all(isinstance(e, TelegramRetryAfter) for e in errors)
    assert "rate: sendMessage to 7" in telegram.violations


def utf16(words: str) -> int:
    return len(words.encode("utf-16-le")) // 2


async def test_a_message_over_4096_goes_in_parts_with_its_buttons_on_the_last(
        sessions, bot, telegram):
    """Telegram refuses a text over 4096 (UTF-16) characters with a 400: the message would be
    lost. It goes in parts cut at paragraphs, in order, paced like any message, entities
    moved with their text; the buttons come with the last part."""
    long = "\n\n".join(f"{i}: " + "слово 🔥 " * 40 for i in range(40))
    buttons = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    whole = {"type": "bold", "offset": 0, "length": utf16(long)}
    await queue(sessions, OutboxMessage(chat_id=30, method="sendMessage", payload={
        "chat_id": 30, "text": long, "entities": [whole], "reply_markup": buttons}),
        text(30, "after"))
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.failed == 0 and telegram.violations == []
    calls = telegram.sent(30, "sendMessage")
    parts = [c.params["text"] for c in calls[:-1]]
    assert len(parts) >= 4 and calls[-1].params["text"] == "after"
    assert "".join(parts) == long
    assert all(utf16(p) <= 4096 and p[0].isdigit() for p in parts)  # cut at paragraphs
    assert [("reply_markup" in c.params) for c in calls[:-1]] == [False] * (
        len(parts) - 1) + [True]
    for call, part in zip(calls, parts, strict=False):
        [entity] = call.params["entities"]
        assert entity["offset"] == 0 and entity["length"] == utf16(part)
    assert [r.status for r in await stored(sessions)] == ["sent", "sent"]


async def test_a_long_caption_edit_and_alert_fit_telegrams_limits(sessions, bot, telegram,
                                                                  tmp_path):
    pdf = tmp_path / "list.pdf"
    pdf.write_bytes(b"%PDF-1.4 checklist")
    caption = "Ваш чек-лист. " * 100  # 1400 characters: over a caption's 1024
    buttons = {"inline_keyboard": [[{"text": "Next", "callback_data": "next"}]]}
    await queue(
        sessions,
        OutboxMessage(chat_id=31, method="sendDocument", payload={
            "chat_id": 31, "caption": caption, "document": {"path": str(pdf)},
            "reply_markup": buttons}),
        OutboxMessage(chat_id=31, method="editMessageText", payload={
            "chat_id": 31, "message_id": 1, "text": "x " * 2500}),
        OutboxMessage(chat_id=31, lane="tap", method="answerCallbackQuery", payload={
            "callback_query_id": "q", "text": "Noted! " * 50, "show_alert": True}))
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.failed == 0 and counters.sent == 3
    [message] = telegram.sent(31, "sendMessage")
    [document] = telegram.sent(31, "sendDocument")
    assert message.params["text"] == caption and not document.params.get("caption")
    assert document.params["reply_markup"] == buttons
    assert telegram.calls.index(message) < telegram.calls.index(document)
    [edit] = telegram.sent(31, "editMessageText")
    assert utf16(edit.params["text"]) <= 4096 and edit.params["text"].endswith("…")
    [alert] = [c for c in telegram.sent(method="answerCallbackQuery")]
    assert utf16(alert.params["text"]) <= 200 and alert.params["text"].startswith("Noted!")


async def test_a_long_bot_api_outage_gives_up_nothing_but_stale_tap_answers(
        sessions, bot, telegram):
    """Sends fail for 40 minutes (a controlled clock, a minute a pass): a prospect's welcome
    and a lead's card are still waiting when it ends, and go out; a tap's answer, of no use
    a minute later, is dropped on purpose with an event."""
    from datetime import timedelta

    from storage.schema.tables import utcnow

    now = [utcnow()]
    await queue(sessions, text(40, "welcome"), text(-100500, "🔥 Hot lead"),
                OutboxMessage(chat_id=41, lane="tap", method="answerCallbackQuery",
                              payload={"callback_query_id": "tap"}))
    telegram.fail(502, "Bad Gateway", times=1_000_000)
    sender = sender_for(bot, sessions, fast_limits(), clock=lambda: now[0],
                    monotonic=lambda: now[0].timestamp())
    for _ in range(40):
        await sender.drain_once()
        now[0] += timedelta(minutes=1)
    assert [r.status for r in await stored(sessions)] == ["pending", "pending", "dropped"]
    assert sender.counters.retried >= 60
    async with sessions() as session:
        [event] = (await session.execute(select(Event))).scalars().all()
    assert event.kind == "send_dropped" and event.data["method"] == "answerCallbackQuery"
    telegram.faults.clear()  # the Bot API is back
    for _ in range(3):
        await sender.drain_once()
        now[0] += timedelta(minutes=1)
    assert telegram.texts(40) == ["welcome"] and telegram.texts(-100500) == ["🔥 Hot lead"]


async def test_a_row_that_keeps_failing_while_others_go_through_fails_with_an_event(
        sessions, bot, telegram):
    from datetime import timedelta

    from storage.schema.tables import utcnow

    now = [utcnow()]
    await queue(sessions, OutboxMessage(chat_id=50, method="editMessageText", payload={
        "chat_id": 50, "message_id": 1, "text": "edited"}))
    telegram.fail(500, "Internal Server Error", method="editMessageText", times=1_000_000)
    sender = sender_for(bot, sessions, fast_limits(), clock=lambda: now[0],
                    monotonic=lambda: now[0].timestamp())
    for i in range(30):
        await queue(sessions, text(51 + i, "fine"))
        await sender.drain_once()
        now[0] += timedelta(minutes=1)
    [row] = [r for r in await stored(sessions) if r.chat_id == 50]
    assert row.status == "failed" and "gave up" in row.error
    async with sessions() as session:
        kinds = (await session.execute(select(Event.kind))).scalars().all()
    assert kinds == ["send_failed"]


async def test_too_long_all_the_same_is_tried_again_shorter_never_lost(sessions, bot,
                                                                       telegram):
    """Should Telegram count a text longer than we do and answer 400 "too long", the row
    goes again at once held to half the limit: in more parts, or shortened."""
    long = "\n".join(f"line {i}: " + "word " * 10 for i in range(50))  # ~2900 characters
    await queue(sessions, OutboxMessage(chat_id=60, method="sendMessage", payload={
        "chat_id": 60, "text": long}), OutboxMessage(
            chat_id=60, lane="tap", method="answerCallbackQuery",
            payload={"callback_query_id": "q", "text": "Noted! " * 20}))
    telegram.fail(400, "Bad Request: message is too long", method="sendMessage")
    telegram.fail(400, "Bad Request: MESSAGE_TOO_LONG", method="answerCallbackQuery")
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.failed == 0
    parts = [c.params["text"] for c in telegram.sent(60, "sendMessage")]
    assert len(parts) == 2 and "".join(parts) == long
    assert all(utf16(p) <= 2048 for p in parts)
    [alert] = telegram.sent(method="answerCallbackQuery")
    assert utf16(alert.params["text"]) <= 100 and "leadbot_halved" not in alert.params
    assert [r.status for r in await stored(sessions)] == ["sent", "sent"]


async def test_an_edit_of_a_message_never_sent_is_dropped_with_an_event(sessions, bot,
                                                                       telegram):
    await queue(sessions, OutboxMessage(chat_id=70, method="editMessageText", edit_of=None,
                                        conversation_id=None, step=None,
                                        payload={"chat_id": 70, "text": "edited"}))
    counters = await sender_for(bot, sessions, fast_limits()).drain()
    assert counters.dropped == 1 and telegram.sent(70) == []
    [row] = await stored(sessions)
    assert row.status == "dropped" and row.error == "the message to edit was never sent"
    async with sessions() as session:
        [event] = (await session.execute(select(Event))).scalars().all()
    assert event.kind == "send_dropped" and event.data["method"] == "editMessageText"


async def test_stopping_mid_scan_lets_the_scan_end_instead_of_cancelling_it(
        sessions, bot, telegram, caplog):
    """At `stop` the sender's scan and marks end on their own: cancelled inside a
    statement, the connection's reset was cancelled too, and SQLAlchemy logged "Exception
    during reset" with a traceback at every quick shutdown (a test's, found flaky in CI)."""
    await queue(sessions, text(1, "queued"))
    sender = sender_for(bot, sessions, limits=fast_limits())
    stop, scans = asyncio.Event(), []
    scan = sender.scan

    async def stopped_inside() -> float:
        stop.set()  # while this scan reads the outbox
        scans.append(await scan())
        return scans[-1]

    sender.scan = stopped_inside
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(sender.run(stop), 10)
    assert scans, "the scan ran to its end"
    assert "Traceback" not in caplog.text and "Exception during reset" not in caplog.text


async def test_a_halted_sender_leaves_the_event_loop_free(sessions, bot):
    """A sender without its number (several processes, its connection to the database lost)
    sends nothing and reads nothing. Its scanning loop went round without ever waiting once
    the next scan was due: the process froze, its reconnection with it (found by
    tests/e2e/test_fleet.py hanging in CI). Here the sender runs in a loop of its own, and
    this thread asks that loop for a turn after SCAN_EVERY has passed many times."""
    import threading

    from bot.outbox.sender import SCAN_EVERY
    from storage.work.owners import Holder

    sender = sender_for(bot, sessions, limits=fast_limits())
    sender.holder = Holder(number=None)  # halted
    loop, stop = asyncio.new_event_loop(), asyncio.Event()
    runner = threading.Thread(target=loop.run_until_complete, args=(sender.run(stop),),
                              daemon=True)  # on a failure it spins on, in the background
    runner.start()
    await asyncio.sleep(3 * SCAN_EVERY)
    turn = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, result="free"), loop)
    assert turn.result(timeout=10) == "free"  # a frozen loop never takes it: TimeoutError
    loop.call_soon_threadsafe(stop.set)
    runner.join(timeout=10)
    assert not runner.is_alive()
    loop.close()
