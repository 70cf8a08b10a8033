"""Update -> reply, as a prospect sees it. Prints figures; asserts nothing.

    .venv/bin/python bench/reply.py [--prospects 30,60] [--think 2.5] [--quick]
                                    [--databases sqlite,postgresql] [--rounds N]
                                    [--bots aiogram,leadbot,unfused,notbrief,formcalls]

A crowd of prospects goes through the kitchen quiz (/start, the intro's button, six questions,
one of them multiple-choice, up to the consent question: 9 updates each) against the fake Bot
API (tests/fakes/telegram.py, which enforces Telegram's limits and counts 429s and
violations), each taking `--think` seconds (±20 %) to read and tap. The bot runs in its own
process, so its CPU time (from /proc, over the crowd's run only) is its own:

- leadbot (`leadbot run`, long polling) on SQLite and on PostgreSQL;
- a plain aiogram 3 FSM quiz bot with MemoryStorage (bench/fsm_quiz.py), the same questions;
- `unfused`: leadbot on SQLite with aiosqlite's own cursors (a crossing to its thread per
  cursor, execute, fetch and close; storage/db/fused.py makes it one a statement);
- `notbrief`: leadbot on SQLite whose updates and marks cross to aiosqlite's thread for every
  statement (storage/db/engine.py brief(): only BEGIN IMMEDIATE and COMMIT do);
- `formcalls`: leadbot on SQLite sending its Bot API calls as aiogram's multipart forms
  (bot/telegram/session.py sends JSON).

`--rounds N` runs the whole sequence N times, each leadbot run compared with the aiogram
bot's run of its round.

Reply latency: from the update put in the fake's queue to the bot's next message the prospect
waits for (the next question, or the toggled keyboard of a multiple-choice question) arriving
at the fake. Calls per step: counted Bot API messages (sends and edits) per update.
PostgreSQL: LEADBOT_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/leadbot_bench).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, run_this_checkout  # noqa: E402
from bench.pipeline import database  # noqa: E402
from bot.outbox.limits import Limits  # noqa: E402
from tests.fakes.telegram import BOT_ID, FakeTelegram  # noqa: E402

run_this_checkout()  # the bot and the CLI it starts run this checkout's code

SCRIPT = ["/start", "~go", "city", "island", "large", "veneer", "lighting", "~done", "month"]
TICK = os.sysconf("SC_CLK_TCK")
# leadbot as it was before one change (its label, the bench-only variable that undoes it)
VARIANTS = {"unfused": ("leadbot, unfused", "BENCH_UNFUSED"),
            "notbrief": ("leadbot, not brief", "BENCH_NOT_BRIEF"),
            "formcalls": ("leadbot, form calls", "BENCH_FORM_CALLS")}
BIN = Path(sys.executable).parent


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def buttons(markup: object) -> list[dict]:
    if not isinstance(markup, dict):
        return []
    return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Watched(FakeTelegram):
    """The fake, telling each prospect when the reply it waits for arrives."""

    waiting: dict[int, asyncio.Future] = field(default_factory=dict)
    keyboards: dict[int, tuple[int, list[dict]]] = field(default_factory=dict)

    def _seen(self, params: dict, message_id: int) -> None:
        chat_id = int(params["chat_id"])
        found = buttons(params.get("reply_markup"))
        if found:
            self.keyboards[chat_id] = (message_id, found)
        future = self.waiting.get(chat_id)
        if future is not None and not future.done() and (
                found or not str(params.get("message_id", ""))):
            future.set_result(time.monotonic())

    async def _m_sendMessage(self, params: dict) -> dict:
        result = await super()._m_sendMessage(params)
        self._seen(params, result["message_id"])
        return result

    async def _m_sendDocument(self, params: dict) -> dict:
        result = await super()._m_sendDocument(params)
        self._seen(params, result["message_id"])
        return result

    async def _m_editMessageText(self, params: dict) -> dict:
        result = await super()._m_editMessageText(params)
        if buttons(params.get("reply_markup")):  # a toggle shown: a reply; a cosmetic edit: not
            self._seen(params, result["message_id"])
        return result


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    updates: int = 0
    finished: int = 0
    lost: int = 0  # replies that never came within the deadline


async def prospect(telegram: Watched, user_id: int, think: float, figures: Figures,
                   rng: random.Random) -> None:
    user = {"id": user_id, "is_bot": False, "first_name": "Olivia", "language_code": "en"}
    chat = {"id": user_id, "type": "private"}
    await asyncio.sleep(rng.uniform(0, think))
    for n, step in enumerate(SCRIPT):
        if step.startswith("/"):
            body = {"message": {"message_id": n + 1, "date": int(time.time()), "chat": chat,
                                "from": user, "text": "/start kitchen-quiz", "entities": [
                                    {"type": "bot_command", "offset": 0, "length": 6}]}}
        else:
            message_id, shown = telegram.keyboards[user_id]
            data = next(b["callback_data"] for b in shown
                        if b.get("callback_data", "").endswith(f":{step}"))
            body = {"callback_query": {
                "id": f"q{user_id}-{n}", "from": user, "chat_instance": "ci", "data": data,
                "message": {"message_id": message_id, "date": int(time.time()), "chat": chat,
                            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
                            "text": "(the question)"}}}
        future = telegram.waiting[user_id] = asyncio.get_running_loop().create_future()
        sent = time.monotonic()
        telegram.push(body)
        figures.updates += 1
        try:
            arrived = await asyncio.wait_for(future, 60)
        except TimeoutError:
            figures.lost += 1
            return
        figures.latencies.append((arrived - sent) * 1000)
        figures.by_step.setdefault(step, []).append((arrived - sent) * 1000)
        await asyncio.sleep(think * rng.uniform(0.8, 1.2))
    figures.finished += 1


@dataclass
class Run:
    bot: str
    prospects: int
    p50: float
    p99: float
    cpu_ms: float
    per_second: float
    calls_per_step: float
    rate_limited: int
    violations: int
    finished: int
    round: int = 0  # with --rounds: compared with the aiogram bot's run of the same round


async def started(telegram: Watched, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 120
    while not any(c.method == "getUpdates" for c in telegram.calls):
        if process.returncode is not None or time.monotonic() > deadline:
            raise SystemExit(f"the bot did not start (exit code {process.returncode})")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # its sender and jobs are up too


async def one_run(bot: str, kind: str | None, prospects: int, think: float,
                  folder: str, profile: str | None = None) -> Run:
    telegram = Watched(limits=Limits())
    url = await telegram.start()
    folder = tempfile.mkdtemp(dir=folder)
    if bot == "aiogram":
        command = [sys.executable, str(ROOT / "bench" / "fsm_quiz.py"), url, telegram.token]
        env = dict(os.environ)
    else:
        assert kind is not None
        env = dict(os.environ, LEADBOT_BOT_TOKEN=telegram.token, LEADBOT_TELEGRAM_API_URL=url,
                   LEADBOT_DATABASE_URL=await database(kind, folder),
                   LEADBOT_LOG_LEVEL="WARNING", LEADBOT_HOST="127.0.0.1",
                   LEADBOT_PORT=str(free_port()))
        if bot in VARIANTS:  # leadbot as it was before one change, on SQLite
            env[VARIANTS[bot][1]] = "1"
        command = [str(BIN / "leadbot"), "run"]
    process = await asyncio.create_subprocess_exec(*command, env=env, cwd=folder,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        await started(telegram, process)
        figures, rng = Figures(), random.Random(prospects)
        calls_before = len(telegram.calls)
        cpu_before, begin = cpu_seconds(process.pid), time.monotonic()
        spy = None
        if profile:
            spy = await asyncio.create_subprocess_exec(
                str(BIN / "py-spy"), "record", "--pid", str(process.pid), "--format", "raw",
                "-o", f"{profile}/{bot}-{kind}-{prospects}.txt", "--nonblocking",
                "--rate", os.environ.get("BENCH_SPY_RATE", "100"))
        await asyncio.gather(*(prospect(telegram, 100_000 + n, think, figures, rng)
                               for n in range(prospects)))
        elapsed = time.monotonic() - begin
        cpu = cpu_seconds(process.pid) - cpu_before
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            await spy.wait()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, errors = await process.communicate()
        await telegram.stop()
    calls = telegram.calls[calls_before:]
    counted = sum(1 for c in calls if c.status == 200 and c.method in (
        "sendMessage", "sendDocument", "editMessageText", "editMessageCaption"))
    latencies = sorted(figures.latencies) or [float("nan")]
    if os.environ.get("BENCH_STEPS"):
        for step, values in figures.by_step.items():
            values.sort()
            print(f"    {bot} {kind} {step}: p50 {values[len(values) // 2]:.0f} ms, "
                  f"max {values[-1]:.0f} ms")
    if figures.lost or figures.finished < prospects:
        tail = errors.decode(errors="replace").strip().splitlines()[-5:]
        print(f"    ({bot}: {figures.lost} replies never came; stderr tail: {tail})")
    label = VARIANTS[bot][0] if bot in VARIANTS else bot
    return Run(label + (f" ({kind})" if kind else ""), prospects,
               statistics.median(latencies), latencies[int(0.99 * (len(latencies) - 1))],
               cpu * 1000 / max(1, figures.updates), figures.updates / elapsed,
               counted / max(1, figures.updates), sum(1 for c in calls if c.status == 429),
               len(telegram.violations), figures.finished)


def table(runs: list[Run]) -> None:
    print("| bot | prospects | reply p50 | reply p99 | bot CPU per update | updates/s | "
          "calls per step | 429s | violations | finished |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        print(f"| {r.bot} | {r.prospects} | {r.p50:.1f} ms | {r.p99:.0f} ms | {r.cpu_ms:.1f} ms "
              f"| {r.per_second:.1f} | {r.calls_per_step:.2f} | {r.rate_limited} | "
              f"{r.violations} | {r.finished}/{r.prospects} |")
    base = {(r.round, r.prospects): r for r in runs if r.bot == "aiogram"}
    for r in runs:
        plain = base.get((r.round, r.prospects))
        if plain is None or r is plain:
            continue
        print(f"  {r.bot}, {r.prospects} prospects, against aiogram+MemoryStorage: CPU per "
              f"update {r.cpu_ms / plain.cpu_ms:.2f}x, reply p50 {r.p50 / plain.p50:.2f}x, "
              f"p99 {r.p99 / plain.p99:.2f}x")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prospects", default="30,60",
                        help="crowd sizes, comma-separated (default 30,60)")
    parser.add_argument("--think", type=float, default=2.5, help="seconds per step (±20 %%)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--bots", default="aiogram,leadbot",
                        help="aiogram, leadbot, and leadbot before one change: unfused "
                        "(aiosqlite's own cursors), notbrief (every statement in aiosqlite's "
                        "thread), formcalls (multipart Bot API calls)")
    parser.add_argument("--quick", action="store_true", help="10 prospects only")
    parser.add_argument("--rounds", type=int, default=1,
                        help="the whole sequence this many times, alternating (default 1)")
    parser.add_argument("--profile", metavar="FOLDER",
                        help="py-spy (if installed) samples leadbot into FOLDER/*.txt")
    args = parser.parse_args()
    try:
        crowds = [int(n) for n in args.prospects.split(",")]
    except ValueError:
        parser.error("--prospects: numbers, comma-separated")
    kinds = [k for k in args.databases.split(",") if k]
    if any(k not in ("sqlite", "postgresql") for k in kinds):
        parser.error("--databases: sqlite, postgresql")
    bots = [b for b in args.bots.split(",") if b]
    names = ("aiogram", "leadbot", *VARIANTS)
    if not bots or any(b not in names for b in bots):
        parser.error(f"--bots: {', '.join(names)}, comma-separated")
    think = args.think
    if args.quick:
        crowds = [10]
    print(f"reply (update -> the reply at the fake Bot API), {think} s think, 9 updates "
          f"per prospect, {os.cpu_count()} cores:")
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(max(1, args.rounds)):
            first = len(runs)
            for crowd in crowds:
                if "aiogram" in bots:
                    runs.append(await one_run("aiogram", None, crowd, think, folder))
                for bot in ("leadbot", *VARIANTS):
                    if bot not in bots:
                        continue
                    for kind in kinds if bot == "leadbot" else ["sqlite"]:
                        runs.append(await one_run(bot, kind, crowd, think, folder,
                                                  args.profile))
            for run in runs[first:]:
                run.round = round_
    table(runs)


if __name__ == "__main__":
    asyncio.run(main())
