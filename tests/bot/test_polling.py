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

    dp, seen = dispatcher({})
    poller = Poller(bot, dp, timeout=1)
    telegram.fail(400, "Bad Request: something odd", method="getUpdates")
    telegram.push({"message": text_update(0, "still here")["message"]})
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    for _ in range(500):
        if seen:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert seen == ["still here"]
