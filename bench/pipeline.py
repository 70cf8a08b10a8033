"""The whole path of an update, and the sender. Prints figures; asserts nothing.

    .venv/bin/python bench/pipeline.py [--quick] [--transport aiogram|ptb]

The transport is LEADBOT_TRANSPORT's (bot/transport/), or --transport's: the same objects
`leadbot run` builds (open_transport), so aiogram and python-telegram-bot are measured alike.

1. Updates per second through the transport (its update types and router), the service's
   transaction and the outbox commit, many chats at once (as the poller runs them), on
   SQLite and on PostgreSQL, with the garbage collector tuned as `leadbot run` tunes it.
2. Latency p50 / p99 of one update at a steady 100 updates per second.
3. The sender draining one message to each of 10,000 chats against the fake Bot API, which
   enforces Telegram's real limits: messages per second and 429s.
PostgreSQL: LEADBOT_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/leadbot_bench).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from typing import Any  # noqa: E402

import asyncpg  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.common import transport_for  # noqa: E402
from bot.cli.run import tune_gc  # noqa: E402
from bot.outbox.limits import Limits  # noqa: E402
from bot.outbox.sender import Sender  # noqa: E402
from bot.service.core import Service  # noqa: E402
from bot.service.flows import FlowRegistry  # noqa: E402
from bot.settings import TRANSPORTS, Settings  # noqa: E402
from bot.transport.base import Transport  # noqa: E402
from bot.transport.updates import Counters  # noqa: E402
from storage.db.engine import create_engine, sessionmaker  # noqa: E402
from storage.db.migrate import upgrade  # noqa: E402
from storage.schema.tables import OutboxMessage  # noqa: E402
from storage.work.uow import UnitOfWork  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

POSTGRES = os.environ.get("LEADBOT_BENCH_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/leadbot_bench")
QUIZ = ["kitchen-quiz:1:intro:~go", "kitchen-quiz:1:location:city",
        "kitchen-quiz:1:layout:island", "kitchen-quiz:1:size:large",
        "kitchen-quiz:1:facades:veneer", "kitchen-quiz:1:extras:lighting",
        "kitchen-quiz:1:extras:~done", "kitchen-quiz:1:timing:month"]


class Updates:
    """A prospect's quiz as Telegram updates: /start, then a tap per question, read into the
    transport's own update type as polling reads them."""

    def __init__(self, transport: Transport) -> None:
        self.transport, self.next_id = transport, 1
        self.counters = Counters()

    def for_prospect(self, user_id: int) -> list[Any]:
        user = {"id": user_id, "is_bot": False, "first_name": "P", "language_code": "en"}
        message = {"message_id": 1, "date": 0, "chat": {"id": user_id, "type": "private"},
                   "from": user}
        raw = [{"message": message | {"text": "/start kitchen-quiz", "entities": [
            {"type": "bot_command", "offset": 0, "length": 6}]}}]
        raw += [{"callback_query": {"id": f"q{user_id}{i}", "from": user, "chat_instance": "c",
                                    "data": data, "message": message}}
                for i, data in enumerate(QUIZ)]
        updates = []
        for body in raw:
            updates.append(self.transport.parse({"update_id": self.next_id, **body},
                                                self.counters))
            self.next_id += 1
        return updates


async def database(kind: str, folder: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder}/bench.db"
    admin = await asyncpg.connect(POSTGRES.rsplit("/", 1)[0] + "/postgres")
    name = POSTGRES.rsplit("/", 1)[1]
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return POSTGRES


async def pipeline(kind: str, prospects: int, folder: str, transport_name: str) -> None:
    url = await database(kind, folder)
    engine = create_engine(url)
    await upgrade(engine)
    sessions = sessionmaker(engine)
    transport = transport_for(transport_name)
    service = Service(sessions, FlowRegistry.from_dir(ROOT / "dialogs" / "flows"))
    transport.attach(service)
    source = Updates(transport)

    async def chat(updates: list[Any]) -> None:
        for update in updates:  # one chat: in order, one at a time
            await transport.feed(update)

    batches = [source.for_prospect(10_000 + n) for n in range(prospects)]
    count = sum(len(b) for b in batches)
    tune_gc()  # as `leadbot run` does after start-up
    started = time.perf_counter()
    await asyncio.gather(*(chat(batch) for batch in batches))
    elapsed = time.perf_counter() - started
    async with UnitOfWork(sessions) as uow:
        queued = await uow.outbox.pending_count()
    print(f"  {kind:<10} throughput: {count} updates from {prospects} chats at once in "
          f"{elapsed:.2f} s = {count / elapsed:.0f} updates/s ({queued} messages queued)")

    latencies = []
    steady = [source.for_prospect(50_000 + n) for n in range(prospects)]
    flat = [u for round_ in zip(*steady, strict=True) for u in round_]  # chats interleaved
    interval, tasks = 1 / 100, []
    begin = time.perf_counter()

    async def timed(update: Any) -> None:
        t0 = time.perf_counter()
        await transport.feed(update)
        latencies.append((time.perf_counter() - t0) * 1000)

    for index, update in enumerate(flat):
        delay = begin + index * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(update)))
    await asyncio.gather(*tasks)
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    print(f"  {kind:<10} at a steady 100 updates/s ({len(flat)} updates): p50 "
          f"{statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
    await transport.close()
    await engine.dispose()


async def drain(chats: int, folder: str, transport_name: str) -> None:
    telegram = FakeTelegram(limits=Limits())
    await telegram.start()
    engine = create_engine(f"sqlite:///{folder}/drain.db")
    await upgrade(engine)
    sessions = sessionmaker(engine)
    async with UnitOfWork(sessions) as uow:
        for n in range(chats):
            uow.outbox.add(OutboxMessage(chat_id=100_000 + n, method="sendMessage", payload={
                "chat_id": 100_000 + n, "text": "Your estimate is ready"}))
        await uow.commit()
    transport = transport_for(transport_name, telegram.url, telegram.token)
    sender = Sender(transport.delivery, sessions, Limits())
    started = time.perf_counter()
    counters = await sender.drain(timeout=chats / 20 + 60)
    elapsed = time.perf_counter() - started
    print(f"  sender: {counters.sent} messages to {chats} chats in {elapsed:.1f} s = "
          f"{counters.sent / elapsed:.1f} messages/s; 429s: {counters.rate_limited}; "
          f"limit violations seen by the fake: {len(telegram.violations)}")
    await transport.close()
    await telegram.stop()
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 chats for the sender")
    parser.add_argument("--prospects", type=int, default=150)
    parser.add_argument("--transport", choices=TRANSPORTS, default=None,
                        help="default: LEADBOT_TRANSPORT (aiogram)")
    args = parser.parse_args()
    name = args.transport or Settings(_env_file=None).transport
    with tempfile.TemporaryDirectory() as folder:
        print(f"pipeline (update -> {name} transport -> transaction -> outbox commit):")
        for kind in ("sqlite", "postgresql"):
            await pipeline(kind, args.prospects, folder, name)
        print(f"sender via {name} (against the fake Bot API enforcing 30/s per bot, "
              f"1/s per chat):")
        await drain(1000 if args.quick else 10_000, folder, name)


if __name__ == "__main__":
    asyncio.run(main())
