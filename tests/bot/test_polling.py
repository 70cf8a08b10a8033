"""The poller acknowledges only what was handled; an outage never makes it skip updates."""

from __future__ import annotations

import time

from aiogram import Dispatcher, Router
from aiogram.types import Message, Update
from sqlalchemy.exc import OperationalError

from bot.telegram.polling import MAX_FAILURES, Poller


def text_update(update_id: int, text: str) -> dict:
    user = {"id": 3, "is_bot": False, "first_name": "P"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "from": user,
        "chat": {"id": 3, "type": "private"}, "text": text}}


def dispatcher(behaviour: dict[str, list]) -> tuple[Dispatcher, list[str]]:
    seen: list[str] = []
    router = Router()

    @router.message()
    async def handle(message: Message) -> None:
        seen.append(message.text)
        outcomes = behaviour.get(message.text, [])
        if outcomes:
            raise outcomes.pop(0)

    dp = Dispatcher()
    dp.include_router(router)
    return dp, seen


async def batch(bot, *texts: str, start: int = 1) -> list[Update]:
    return [Update.model_validate(text_update(start + i, t), context={"bot": bot})
            for i, t in enumerate(texts)]


async def test_an_outage_is_retried_for_as_long_as_it_takes(bot):
    outage = OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))
    dp, seen = dispatcher({"hello": [outage] * (MAX_FAILURES + 2)})
    poller = Poller(bot, dp)
    updates = await batch(bot, "hello")
    for _ in range(MAX_FAILURES + 2):
        assert not await poller.handle_batch(updates)
        assert poller.offset is None  # not acknowledged: Telegram keeps it for us
    assert await poller.handle_batch(updates)
    assert poller.offset == 2 and seen.count("hello") == MAX_FAILURES + 3


async def test_a_bug_in_one_update_is_skipped_after_three_tries(bot):
    dp, seen = dispatcher({"poison": [KeyError("bug")] * 10})
    poller = Poller(bot, dp)
    updates = await batch(bot, "poison", "next")
    for _ in range(MAX_FAILURES - 1):
        assert not await poller.handle_batch(updates)
    assert await poller.handle_batch(updates)
    assert poller.offset == 3 and seen[-1] == "next"


async def test_an_unreadable_get_updates_answer_does_not_stop_polling(bot, telegram):
    import asyncio

    from tests.e2e.harness import eventually

    dp, seen = dispatcher({})
    poller = Poller(bot, dp, timeout=1)
    telegram.fail(400, "Bad Request: something odd", method="getUpdates")
    telegram.push({"message": text_update(0, "still here")["message"]})
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))

    async def handled() -> bool:
        return bool(seen)

    try:  # the failed poll, a back-off, the next poll: seconds on a loaded machine
        await eventually(handled, what="the update after the unreadable answer")
    finally:
        stop.set()
        await task
    assert seen == ["still here"]


def tap_update(update_id: int, language: str = "uk") -> dict:
    user = {"id": 4, "is_bot": False, "first_name": "P", "language_code": language}
    return {"update_id": update_id, "callback_query": {
        "id": f"tap{update_id}", "from": user, "chat_instance": "c", "data": "x:1:y:z",
        "message": {"message_id": 1, "date": int(time.time()), "text": "?",
                    "chat": {"id": 4, "type": "private"}}}}


def failing_taps() -> Dispatcher:
    router = Router()

    @router.callback_query()
    async def handle(_: object) -> None:
        raise KeyError("bug")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


def answers_to(telegram, query_id: str) -> list[str]:
    return [c.params.get("text", "") for c in telegram.sent(method="answerCallbackQuery")
            if c.params["callback_query_id"] == query_id]


async def test_a_tap_skipped_after_its_tries_is_still_answered_by_polling(bot, telegram):
    from bot.texts import TAP_FAILED

    poller = Poller(bot, failing_taps())
    updates = [Update.model_validate(tap_update(7), context={"bot": bot})]
    for _ in range(MAX_FAILURES - 1):
        assert not await poller.handle_batch(updates)
    assert answers_to(telegram, "tap7") == []
    assert await poller.handle_batch(updates)
    assert poller.offset == 8 and poller.counters.skipped == 1
    assert answers_to(telegram, "tap7") == [TAP_FAILED["uk"]]  # the button stops spinning


async def test_a_tap_skipped_after_its_tries_is_still_answered_by_the_webhook(
        bot, telegram, engine):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.telegram.wire import AiogramWire
    from bot.texts import TAP_FAILED
    from bot.transport.webhook import SECRET_HEADER, WEBHOOK_PATH, webhook_route
    from bot.web.server import build_app

    route = webhook_route(AiogramWire(bot, failing_taps()), "s3cret")
    client = TestClient(TestServer(build_app(route, engine)))
    await client.start_server()
    try:
        statuses = []
        for _ in range(MAX_FAILURES):  # Telegram sends it again after each 500
            response = await client.post(WEBHOOK_PATH, json=tap_update(9, "en"),
                                         headers={SECRET_HEADER: "s3cret"})
            statuses.append(response.status)
    finally:
        await client.close()
    assert statuses == [500] * (MAX_FAILURES - 1) + [200]
    assert answers_to(telegram, "tap9") == [TAP_FAILED["en"]]


async def test_a_refused_statement_is_a_bug_and_an_unreachable_database_an_outage(
        engine, tmp_path):
    """asyncpg refuses an int4 out of range and a NUL in text; neither is an outage."""
    from sqlalchemy import text

    from bot.transport.updates import is_outage
    from storage.db.engine import create_engine

    refused = []
    for statement, value in (("SELECT CAST(:v AS INTEGER)", 2**31),
                             ("SELECT CAST(:v AS TEXT)", "a\x00b")):
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement), {"v": value})
        except Exception as error:  # what each database says, whatever its type
            refused.append(error)
    assert refused if engine.dialect.name == "postgresql" else True
    assert not any(is_outage(error) for error in refused)
    away = create_engine("postgresql://postgres@127.0.0.1:1/none"
                         if engine.dialect.name == "postgresql" else f"sqlite:///{tmp_path}")
    try:
        async with away.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:
        assert is_outage(error), type(error)
    else:
        raise AssertionError("an unreachable database answered")
    finally:
        await away.dispose()


async def test_an_update_that_cannot_be_parsed_is_skipped_alone_and_counted_once(bot):
    outage = OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))
    dp, seen = dispatcher({"after": [outage]})
    poller = Poller(bot, dp)
    broken = text_update(1, "x")
    broken["message"]["poll"] = {"id": "p1", "question": "?"}  # no options, no type ...
    del broken["message"]["text"]
    raw = [text_update(0, "before"), broken, text_update(2, "after")]
    assert not await poller.handle_raw(raw)  # the database away for "after": again
    assert await poller.handle_raw(raw)
    # the chat's batch again (the service drops "before" as a duplicate), the poll once
    assert poller.offset == 3 and seen == ["before", "after", "before", "after"]
    assert poller.counters.unreadable == 1
