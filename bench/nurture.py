"""Nurture at scale: due follow-up -> its message at the (fake) Bot API, and the bot's CPU
while nothing is due. Prints figures; asserts nothing.

    .venv/bin/python bench/nurture.py [--rows N] [--due M] [--idle S] [--quick]

N follow-ups are scheduled (default 100,000: a prospect, a finished conversation with the
marketing opt-in and a follow-up row each). M of them (default 300) fall due one after
another during the run, the rest weeks later: a big table, a steady trickle of due rows.
The follow-ups job runs as `leadbot run` runs it (bot/jobs/schedule.py's interval, the
periodic runner), the real sender sends through aiogram's Bot to the fake Bot API (limits
x20 both sides). Measured per due row: from its due_at to its sendMessage at the fake; the
job's interval bounds it (a row due just after a pass waits for the next). Then S seconds
(default 30) with nothing due: the process's CPU time over wall time. `--quick`: 5,000 rows,
100 due, 10 s idle. A SQLite file, as `make run` uses; quiet hours and the cap off (the
run may be at any hour).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bench.common import fresh_sqlite  # noqa: E402
from bot.jobs.followups import send_follow_ups  # noqa: E402
from bot.jobs.periodic import every  # noqa: E402
from bot.jobs.schedule import SCHEDULE  # noqa: E402
from bot.outbox.limits import Limits  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.delivery import sender_for  # noqa: E402
from dialogs.engine.state import State  # noqa: E402
from storage.schema.tables import Conversation, FollowUp, Prospect, utcnow  # noqa: E402

CHUNK = 5_000


async def schedule(sessions, rows: int, due: int, start, spacing: float) -> None:
    now = utcnow()
    state = State(flow_id="kitchen-quiz", flow_version=1, user_id=0, language="en",
                  step="thanks", finished=True, outcome="nurture",
                  consents={"processing": "1", "marketing": "1"}).to_dict()
    async with sessions() as session:
        for first in range(1, rows + 1, CHUNK):
            ids = range(first, min(first + CHUNK, rows + 1))
            await session.execute(insert(Prospect), [
                {"user_id": i, "chat_id": i, "language": "en", "created_at": now,
                 "updated_at": now} for i in ids])
            await session.execute(insert(Conversation), [
                {"id": i, "user_id": i, "chat_id": i, "flow_id": "kitchen-quiz",
                 "flow_version": 1, "step": "thanks", "finished": True,
                 "state": {**state, "user_id": i}, "started_at": now, "updated_at": now}
                for i in ids])
            await session.execute(insert(FollowUp), [
                {"conversation_id": i, "user_id": i, "chat_id": i, "key": "gallery",
                 "text": f"Here are 12 kitchens we made this year ({i})", "marketing": True,
                 "due_at": start + timedelta(seconds=spacing * i) if i <= due
                 else now + timedelta(days=30), "status": "pending", "created_at": now}
                for i in ids])
        await session.commit()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=300)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--spacing", type=float, default=0.1, help="seconds between due rows")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.due, args.idle = 5_000, 100, 10.0
    if not 0 < args.due <= args.rows:
        parser.error("--due must be between 1 and --rows")
    interval = next(job.seconds for job in SCHEDULE if job.name == "follow-ups")
    limits = Limits().scaled(20)
    from tests.fakes.telegram import FakeTelegram

    telegram = FakeTelegram(limits=limits)
    await telegram.start()
    engine, sessions, _ = await fresh_sqlite("nurture.db")
    started = time.monotonic()
    lead_in = 5.0  # the first row falls due this long after scheduling ends
    window = args.due * args.spacing
    await schedule(sessions, args.rows, args.due, utcnow() + timedelta(days=1), args.spacing)
    print(f"{args.rows:,} follow-ups scheduled in {time.monotonic() - started:.1f} s "
          f"({args.due} fall due over {window:.0f} s; the job runs every {interval:g} s)")
    async with engine.begin() as connection:  # the due ones: from a moment just ahead
        first = utcnow() + timedelta(seconds=lead_in)
        for i in range(1, args.due + 1):
            await connection.execute(
                FollowUp.__table__.update().where(FollowUp.__table__.c.id == i)
                .values(due_at=first + timedelta(seconds=args.spacing * (i - 1))))
    wall_of = time.time() - time.monotonic()  # due_at (wall clock) -> the fake's clock
    bot = Bot(telegram.token, session=AiohttpSession(
        api=TelegramAPIServer.from_base(telegram.url)))
    sender = sender_for(bot, sessions, limits)
    stop = asyncio.Event()

    passes: list[float] = []  # CPU per job pass (nearly nothing else runs while idle)
    app = SimpleNamespace(sessions=sessions, sender=sender, settings=Settings(
        quiet_hours="off", nurture_weekly_cap=0, nurture_stale_hours=0))

    async def job() -> object:  # the job as `leadbot run` runs it, its CPU counted
        cpu = time.process_time()
        result = await send_follow_ups(app)
        passes.append(time.process_time() - cpu)
        return result

    tasks = [asyncio.create_task(sender.run(stop)),
             asyncio.create_task(every(interval, stop, job, "follow-ups"))]
    deadline = time.monotonic() + lead_in + window + interval + 120
    while len(telegram.sent(None, "sendMessage")) < args.due and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    calls = telegram.sent(None, "sendMessage")
    due_at = {i: first.timestamp() + args.spacing * (i - 1) for i in range(1, args.due + 1)}
    latencies = sorted(call.at + wall_of - due_at[int(call.params["chat_id"])]
                       for call in calls)
    p50 = statistics.median(latencies)
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    print(f"due -> sendMessage at the Bot API: {len(latencies)} of {args.due} messages, "
          f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    await asyncio.sleep(interval)  # the last sends settle
    cpu, wall, before = time.process_time(), time.monotonic(), len(passes)
    await asyncio.sleep(args.idle)  # nothing due: the job polls, the sender waits
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    idle = sorted(passes[before:]) or [0.0]
    print(f"CPU while nothing is due ({args.rows - args.due:,} rows scheduled later): "
          f"{cpu / wall * 100:.2f} % of one core over {wall:.0f} s, the sender's idle "
          f"polling included; the follow-ups job alone: {len(idle)} passes, median "
          f"{statistics.median(idle) * 1000:.1f} ms CPU each "
          f"({statistics.median(idle) / interval * 100:.3f} % of a core)")
    stop.set()
    await asyncio.gather(*tasks)
    await bot.session.close()
    await engine.dispose()
    await telegram.stop()


if __name__ == "__main__":
    asyncio.run(main())
