"""How fast a hot lead's card reaches the managers' group. Prints figures; asserts nothing.

    .venv/bin/python bench/handoff.py [--leads N] [--scale K]

N prospects (default 1,000) go through the kitchen quiz up to their phone number; then each
gives it, one after another, spread within the group's budget. Measured for each: from the
commit of the update that hands the lead off (when Service.handle returns) to the card's
sendMessage reaching the fake Bot API, through the real sender and aiogram's Bot over HTTP.
Telegram's limits are sped up K times (default 20) on both sides, so 1,000 leads within
"20 a minute into a group" take under three minutes, not fifty; the path a card takes is
the same (at real speed the budget leaves even more room between cards).
A SQLite file, as `make run` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import fresh_sqlite  # noqa: E402
from bot.handoff.handoffs import HandoffConfig, Handoffs  # noqa: E402
from bot.outbox.limits import Limits  # noqa: E402
from bot.service.core import Service  # noqa: E402
from bot.telegram.delivery import sender_for  # noqa: E402
from dialogs.engine.events import Tap, TextMessage  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.intents import intent  # noqa: E402

GROUP = -100777
STEPS = [("intro", "~go"), ("location", "city"), ("layout", "island"), ("size", "large"),
         ("facades", "veneer"), ("extras", "appliances"), ("extras", "~done"),
         ("timing", "month"), ("consent", "~yes"), ("consent", "~mkno")]


def name(number: int) -> str:
    return "Lead " + "".join(chr(97 + int(d)) for d in f"{number:04d}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=20.0)
    args = parser.parse_args()
    limits = Limits().scaled(args.scale)
    telegram = FakeTelegram(limits=limits)
    await telegram.start()
    engine, sessions, flows = await fresh_sqlite("bench.db")
    bot = Bot(telegram.token, session=AiohttpSession(
        api=TelegramAPIServer.from_base(telegram.url)))
    sender = sender_for(bot, sessions, limits)
    service = Service(sessions, flows, on_commit=sender.wake,
                      handoffs=Handoffs(HandoffConfig(chat_id=GROUP, language="en")))
    update_id = 0

    async def send(user_id: int, **fields) -> None:
        nonlocal update_id
        update_id += 1
        await service.handle(intent(update_id=update_id, user_id=user_id, chat_id=user_id,
                                      language_code="en", **fields))

    started = time.monotonic()
    for user_id in range(1, args.leads + 1):
        await send(user_id, start_payload="kitchen-quiz")
        for step, option in STEPS:
            await send(user_id, event=Tap("kitchen-quiz", 1, step, option),
                       callback_query_id=f"q{update_id}")
        await send(user_id, event=TextMessage(name(user_id)))
    async with engine.begin() as connection:  # their quiz messages are not what we measure
        await connection.execute(text("UPDATE outbox SET status = 'sent' "
                                      "WHERE status = 'pending'"))
    print(f"{args.leads} prospects brought to their phone number: {update_id} updates in "
          f"{time.monotonic() - started:.0f} s")

    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    interval = 60 / (limits.group_per_minute * 0.9)  # within the group's budget
    committed: dict[str, float] = {}
    for user_id in range(1, args.leads + 1):
        phone = f"+7 916 {user_id // 10_000:03d}-{user_id // 100 % 100:02d}-{user_id % 100:02d}"
        await send(user_id, event=TextMessage(phone))
        committed[name(user_id)] = time.monotonic()
        await asyncio.sleep(interval)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(  # a Claim button per lead
            len(call.params["reply_markup"]["inline_keyboard"])
            for call in telegram.sent(GROUP, "sendMessage")) < args.leads:
        await asyncio.sleep(0.05)
    stop.set()
    await running
    cards = telegram.sent(GROUP, "sendMessage")
    latencies = []
    for call in cards:
        for lead, at in committed.items():
            if f"\n{lead} · " in call.params["text"]:
                latencies.append(call.at - at)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"hand-off commit -> card at the Bot API: {len(latencies)} cards in "
          f"{len(cards)} messages, p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms; 429s: {sender.counters.rate_limited}, "
          f"limit violations seen by the fake: {len(telegram.violations)}")
    await bot.session.close()
    await engine.dispose()
    await telegram.stop()


if __name__ == "__main__":
    asyncio.run(main())
