"""A Bot API call's CPU in the bot: aiogram's multipart form against one JSON body
(bot/telegram/session.py). Prints figures; asserts nothing.

    .venv/bin/python bench/calls.py [--calls 1500] [--rounds 3]

The fake Bot API (tests/fakes/telegram.py, its limits lifted) runs in a process of its own;
this process sends sendMessage with a four-button keyboard, one call after another, and
counts its own CPU time per call: building the request, aiohttp, reading Telegram's answer
into aiogram's Message. The two sessions alternate within each round.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup  # noqa: E402

from bot.outbox.limits import Limits  # noqa: E402
from bot.telegram.session import JsonSession  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

CHATS = 50
TEXT = "Which layout is your kitchen? Each answer adds 3 % to your discount, up to 15 %."


def serve(queue: multiprocessing.Queue) -> None:
    async def main() -> None:
        telegram = FakeTelegram(limits=Limits().scaled(10**6))
        queue.put((await telegram.start(), telegram.token))
        await asyncio.Event().wait()

    asyncio.run(main())


async def cost(url: str, token: str, session_class: type[AiohttpSession], calls: int) -> float:
    """CPU milliseconds per sendMessage."""
    bot = Bot(token, session=session_class(api=TelegramAPIServer.from_base(url)))
    keyboard = InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=f"Option {n}", callback_data=f"q:7:a:option{n}")]
        for n in range(4)])
    try:
        for n in range(CHATS):  # the connection made, aiogram's models built
            await bot.send_message(100_000 + n, TEXT, reply_markup=keyboard)
        start = time.process_time()
        for n in range(calls):
            await bot.send_message(100_000 + n % CHATS, TEXT, reply_markup=keyboard)
        return (time.process_time() - start) * 1000 / calls
    finally:
        await bot.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.calls < 1 or args.rounds < 1:
        parser.error("--calls and --rounds: at least 1")
    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue,), daemon=True)
    server.start()
    try:
        url, token = queue.get(timeout=30)
        print(f"sendMessage with a four-button keyboard, {args.calls} calls a run, CPU per call "
              "in the calling process:")
        print("| round | aiogram's multipart form | one JSON body | JSON / form |")
        print("| --- | --- | --- | --- |")
        for n in range(args.rounds):
            form = asyncio.run(cost(url, token, AiohttpSession, args.calls))
            json = asyncio.run(cost(url, token, JsonSession, args.calls))
            print(f"| {n + 1} | {form:.3f} ms | {json:.3f} ms | {json / form:.2f} |")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
