"""A broadcast going out while a crowd talks to the bot. Prints figures; asserts nothing.

    .venv/bin/python bench/broadcast.py [--recipients 10000] [--prospects 30] [--think 2.5]
                                        [--waves 3] [--quick] [--databases sqlite,postgresql]
                                        [--profile FOLDER]

R recipients (default 10,000; `--quick` 1,000) are written straight into a fresh migrated
database, in bulk: a prospect each, a finished kitchen-quiz conversation, a warm lead and a
granted `marketing` row in the consent ledger (what storage/reports/segment.py takes for a
recipient), languages ru / uk / en in turn. A broadcast file to `flows: [kitchen-quiz],
temperatures: [warm]` (a text with `{name}`, a link and a flow button, the Unsubscribe the
bot adds) is stored with `leadbot broadcast create`. Then, `leadbot run` in its own process
against the fake Bot API (tests/fakes/telegram.py) with Telegram's real limits, as in
bench/reply.py, whose crowd, fake and helpers this reuses:

- run A: the bot alone with the crowd (`--waves` crowds of `--prospects`, one after another,
  each through the kitchen quiz at `--think` seconds a step): reply p50 / p99, 429s;
- run B, on the same database: `leadbot broadcast send`, then, once the first broadcast
  message reached the fake, the same crowds (new prospects) while it goes out. The crowd's
  reply p50 / p99 beside run A's, and p99 B/A (the issue's target: <= 1.5x); the delivery
  time from `send` (the command started) to the last broadcast message the fake accepted,
  and its rate (target: R / 20 s + 10 % at the default LEADBOT_BROADCAST_RATE); 429s (0),
  limit violations at the fake (0); the bot's CPU over the broadcast; and what
  `leadbot broadcast status` says of it (delivered, unknown).

Quiet hours are off (LEADBOT_QUIET_HOURS=off): the bench runs at any hour, and quiet hours
in the recipients' zones would move them to the morning. The machine's load average is
printed beside the figures: the machine may be shared.
PostgreSQL: LEADBOT_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/leadbot_bench),
dropped and created anew.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.common import free_port, run_this_checkout  # noqa: E402
from bench.pipeline import database  # noqa: E402
from bench.reply import BIN, SCRIPT, Figures, Watched, cpu_seconds, prospect, started  # noqa: E402
from bot.outbox.limits import Limits  # noqa: E402
from storage.db.engine import create_engine  # noqa: E402
from storage.db.migrate import upgrade  # noqa: E402
from storage.schema.tables import Consent, Conversation, Lead, Prospect  # noqa: E402

run_this_checkout()  # the bot and the CLI it starts run this checkout's code

NAME = "bench-offer"
FIRST_RECIPIENT = 5_000_000  # recipients' user and chat ids start here, far from the crowd's
CROWD = {"A": 100_000, "B": 200_000}  # the crowds' user ids: new prospects in each run
UPDATE_IDS = {"A": 1, "B": 1_000_000}  # the fake's update ids in each run
WAVE = 1_000  # user ids between one wave of the crowd and the next
LANGUAGES = ("ru", "uk", "en")
STATUS = {NAME, "recipients", "skipped", "delivered", "blocked", "failed", "dropped", "unknown",
          "waiting"}  # the lines of `leadbot broadcast status` shown
SENDS = {"sendMessage", "sendPhoto", "sendDocument"}
FILE = """\
name: bench-offer
segment:
  flows: [kitchen-quiz]
  temperatures: [warm]
message:
  text:
    ru: "Здравствуйте, {name}! До <b>15 декабря</b> столешница из камня — <b>за полцены</b>."
    uk: "Вітаємо, {name}! До <b>15 грудня</b> кам'яна стільниця — <b>за півціни</b>."
    en: "Hello {name}! Until <b>15 December</b> a stone worktop is <b>half price</b>."
  fallback: en
  buttons:
    - text: {ru: "Смотреть", uk: "Дивитися", en: "See it"}
      url: https://example.com/offer
    - text: {ru: "Пройти квиз", uk: "Пройти квіз", en: "Take the quiz"}
      flow: kitchen-quiz
"""


async def seed(url: str, recipients: int) -> float:
    """Migrates the database and writes the recipients; returns the seconds it took."""
    begin = time.monotonic()
    engine = create_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    users = range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients)
    language = {u: LANGUAGES[u % 3] for u in users}
    chunk = 5_000
    async with engine.begin() as connection:
        for start in range(0, recipients, chunk):
            part = users[start:start + chunk]
            await connection.execute(insert(Prospect.__table__), [
                {"user_id": u, "chat_id": u, "language": language[u], "blocked": False,
                 "created_at": now - timedelta(days=20), "updated_at": now - timedelta(days=20)}
                for u in part])
            await connection.execute(insert(Conversation.__table__), [
                {"user_id": u, "chat_id": u, "flow_id": "kitchen-quiz", "flow_version": 1,
                 "step": "thanks", "finished": True, "state": {}, "progress": {},
                 "started_at": now - timedelta(days=20), "updated_at": now - timedelta(days=20)}
                for u in part])
        conversations = dict((await connection.execute(
            select(Conversation.user_id, Conversation.id)
            .where(Conversation.user_id >= FIRST_RECIPIENT))).all())
        rows = sorted(conversations.items())
        for start in range(0, recipients, chunk):
            part = rows[start:start + chunk]
            await connection.execute(insert(Lead.__table__), [
                {"conversation_id": c, "user_id": u, "flow_id": "kitchen-quiz", "flow_version": 1,
                 "score": 40, "temperature": "warm", "mql": True, "sql": False, "status": "open",
                 "breakdown": [], "tags": [], "created_at": now - timedelta(days=20),
                 "updated_at": now - timedelta(days=20)} for u, c in part])
            await connection.execute(insert(Consent.__table__), [
                {"user_id": u, "conversation_id": c, "purpose": "marketing", "granted": True,
                 "policy_version": "2026-11", "text_sha256": "0" * 64, "language": language[u],
                 "created_at": now - timedelta(days=20), "operator": "Oak & Stone",
                 "channel": "telegram"} for u, c in part])
    await engine.dispose()
    return time.monotonic() - begin


async def leadbot(env: dict[str, str], folder: str, *args: str) -> str:
    """A `leadbot` command to the end; its output (exit code not 0: SystemExit)."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / "leadbot"), *args, env=env, cwd=folder, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode:
        raise SystemExit(f"leadbot {' '.join(args)}: exit {process.returncode}\n"
                         f"{out.decode()}{err.decode()}")
    return out.decode()


def bulk(call: object) -> bool:
    try:
        return (call.method in SENDS and call.status == 200  # type: ignore[attr-defined]
                and int(call.params["chat_id"]) >= FIRST_RECIPIENT)  # type: ignore[attr-defined]
    except (KeyError, TypeError, ValueError):
        return False


class Stamped(list):
    """The crowd's reply latencies, each with when it arrived (monotonic): when the slow
    ones came."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    def append(self, value: float) -> None:
        super().append(value)
        self.at.append(time.monotonic())


async def crowd(telegram: Watched, base: int, prospects: int, think: float, waves: int
                ) -> Figures:
    """`waves` crowds one after another, each `prospects` new people through the quiz."""
    figures = Figures(latencies=Stamped())
    for wave in range(waves):
        rng = random.Random(prospects * 1000 + wave)  # the same pace in run A and run B
        await asyncio.gather(*(prospect(telegram, base + wave * WAVE + n, think, figures, rng)
                               for n in range(prospects)))
    return figures


def p(values: list[float], q: float) -> float:
    values = sorted(values) or [float("nan")]
    return statistics.median(values) if q == 0.5 else values[int(q * (len(values) - 1))]


@dataclass
class Run:
    label: str
    replies: list[float]
    crowd_429: int
    bulk_429: int
    violations: int
    cpu_ms_update: float
    cpu_share: float  # of one core, while the crowd ran
    finished: str
    load: str
    broadcast: dict | None = None


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


async def one_run(label: str, env: dict[str, str], folder: str, args: argparse.Namespace,
                  recipients: int, profile: str | None) -> Run:
    telegram = Watched(limits=Limits())
    # the bot keeps the update ids it processed (a redelivery is refused): run B's updates
    # must not reuse run A's, as Telegram's never would
    telegram._update_ids = itertools.count(UPDATE_IDS[label])
    url = await telegram.start()
    env = dict(env, LEADBOT_BOT_TOKEN=telegram.token, LEADBOT_TELEGRAM_API_URL=url,
               LEADBOT_HOST="127.0.0.1", LEADBOT_PORT=str(free_port()))
    process = await asyncio.create_subprocess_exec(str(BIN / "leadbot"), "run", env=env,
                                                   cwd=folder, stderr=asyncio.subprocess.PIPE)
    spy, before = None, 0
    broadcast: dict | None = None
    try:
        try:
            await started(telegram, process)
        except SystemExit:
            if process.returncode is not None:
                print((await process.stderr.read()).decode(errors="replace")[-2000:])
            raise
        before = len(telegram.calls)
        loads = [load()]
        cpu0 = cpu_seconds(process.pid)
        if label == "B":
            if profile:
                spy = await asyncio.create_subprocess_exec(
                    str(BIN / "py-spy"), "record", "--pid", str(process.pid), "--format",
                    "speedscope", "--idle", "--rate", "200",
                    "-o", f"{profile}/broadcast-{env['BENCH_KIND']}.json",
                    "--nonblocking", stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL)
            sent = time.monotonic()
            said = await leadbot(env, folder, "broadcast", "send", NAME)
            told = time.monotonic() - sent
            while not any(bulk(c) for c in telegram.calls[before:]):
                if time.monotonic() - sent > 60 or process.returncode is not None:
                    raise SystemExit(f"no broadcast message within 60 s: {said}")
                await asyncio.sleep(0.1)
            first = time.monotonic()
        else:
            sent = time.monotonic()
        crowd_cpu0, crowd_begin = cpu_seconds(process.pid), time.monotonic()
        figures = await crowd(telegram, CROWD[label], args.prospects, args.think, args.waves)
        crowd_cpu = cpu_seconds(process.pid) - crowd_cpu0
        crowd_end = time.monotonic()
        loads.append(load())
        if label == "B":
            deadline = sent + recipients / 20 * 2 + 120
            last_count, last_change = -1, time.monotonic()
            while time.monotonic() < deadline:
                count = sum(1 for c in telegram.calls[before:] if bulk(c))
                if count >= recipients:
                    break
                if count != last_count:
                    last_count, last_change = count, time.monotonic()
                elif time.monotonic() - last_change > 60:
                    break  # nothing more for a minute: what went, went
                await asyncio.sleep(0.5)
            accepted = [c.at for c in telegram.calls[before:] if bulk(c)]
            cpu = cpu_seconds(process.pid) - cpu0
            loads.append(load())
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                await spy.wait()
            await asyncio.sleep(3)  # the job marks it done
            status = await leadbot(env, folder, "broadcast", "status", NAME)
            last = max(accepted) if accepted else float("nan")
            broadcast = {"said": said.strip().splitlines()[0], "send_s": told,
                         "first_s": first - sent, "accepted": len(accepted),
                         "delivery_s": last - sent, "steady_s": last - first,
                         "cpu_s": cpu, "status": status.strip(),
                         "crowd_during": crowd_end - crowd_begin,
                         "crowd_start_s": crowd_begin - sent}
    finally:
        if spy is not None and spy.returncode is None:
            spy.send_signal(signal.SIGINT)
            await spy.wait()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, errors = await process.communicate()
        await telegram.stop()
    calls = telegram.calls[before:]
    bulk_429 = sum(1 for c in calls if c.status == 429 and _to_recipient(c))
    crowd_429 = sum(1 for c in calls if c.status == 429 and not _to_recipient(c))
    expected = args.prospects * args.waves
    if figures.lost or figures.finished < expected:
        tail = errors.decode(errors="replace").strip().splitlines()[-5:]
        print(f"    (run {label}: {figures.lost} replies never came; stderr tail: {tail})")
    stamped = figures.latencies
    slow = sorted(zip(stamped, stamped.at, strict=True), reverse=True)[:max(3, len(stamped) // 50)]
    print(f"    run {label}: the slowest replies (ms @ s after "
          f"{'`send`' if label == 'B' else 'the start'}): " + ", ".join(
              f"{ms:.0f} @ {at - sent:.1f}" for ms, at in sorted(slow, key=lambda x: x[1])))
    return Run(label, figures.latencies, crowd_429, bulk_429, len(telegram.violations),
               crowd_cpu * 1000 / max(1, figures.updates),
               crowd_cpu / max(1e-9, crowd_end - crowd_begin), f"{figures.finished}/{expected}",
               " → ".join(loads), broadcast)


def _to_recipient(call: object) -> bool:
    try:
        return int(call.params.get("chat_id", 0)) >= FIRST_RECIPIENT  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return False


async def one_database(kind: str, args: argparse.Namespace, recipients: int,
                       folder: str) -> list[Run]:
    folder = tempfile.mkdtemp(dir=folder)
    url = await database(kind, folder)
    seconds = await seed(url, recipients)
    env = dict(os.environ, LEADBOT_DATABASE_URL=url, LEADBOT_LOG_LEVEL="WARNING",
               LEADBOT_QUIET_HOURS="off", BENCH_KIND=kind)
    (Path(folder) / "offer.yaml").write_text(FILE, encoding="utf-8")
    said = await leadbot(env, folder, "broadcast", "create", "offer.yaml")
    print(f"  {kind}: {recipients} recipients seeded in {seconds:.1f} s; "
          f"{said.strip().splitlines()[0]}")
    a = await one_run("A", env, folder, args, recipients, None)
    b = await one_run("B", env, folder, args, recipients, args.profile)
    return [a, b]


def report(kind: str, recipients: int, runs: list[Run], args: argparse.Namespace) -> None:
    a, b = runs
    print(f"\n{kind}, {recipients} recipients, crowd {args.waves} × {args.prospects} "
          f"prospects × {len(SCRIPT)} updates, {args.think} s think:")
    print("| run | reply p50 | reply p99 | max | crowd 429s | broadcast 429s | violations | "
          "bot CPU while the crowd ran: per crowd update, of a core | finished | "
          "load average (1/5/15 min) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        what = "A: the crowd alone" if r.label == "A" else "B: the crowd during the broadcast"
        print(f"| {what} | {p(r.replies, 0.5):.1f} ms | {p(r.replies, 0.99):.0f} ms | "
              f"{max(r.replies or [float('nan')]):.0f} ms | {r.crowd_429} | {r.bulk_429} | "
              f"{r.violations} | {r.cpu_ms_update:.1f} ms, {100 * r.cpu_share:.0f} % | "
              f"{r.finished} | {r.load} |")
    print(f"  reply p99 B/A: {p(b.replies, 0.99) / p(a.replies, 0.99):.2f}x (target <= 1.5x); "
          f"p50 B/A {p(b.replies, 0.5) / p(a.replies, 0.5):.2f}x")
    s = b.broadcast or {}
    if not s:
        return
    target = recipients / 20 * 1.1
    print(f"  send: {s['said']} ({s['send_s']:.1f} s for the command; first message at the "
          f"fake {s['first_s']:.1f} s after it started; the crowd from "
          f"{s['crowd_start_s']:.1f} s for {s['crowd_during']:.0f} s)")
    print(f"  delivery: {s['accepted']} broadcast messages accepted by the fake, the last "
          f"{s['delivery_s']:.1f} s after `send` (target <= {target:.0f} s): "
          f"{s['accepted'] / s['delivery_s']:.2f} messages/s overall, "
          f"{(s['accepted'] - 1) / max(s['steady_s'], 1e-9):.2f}/s from the first to the last")
    print(f"  bot CPU over the broadcast: {s['cpu_s']:.1f} s in {s['delivery_s']:.0f} s "
          f"({100 * s['cpu_s'] / s['delivery_s']:.0f} % of a core; "
          f"{1000 * s['cpu_s'] / max(1, s['accepted']):.1f} ms per message, crowd included)")
    shown = [line.strip() for line in s["status"].splitlines()
             if line.strip().split(":")[0] in STATUS]
    print(f"  `leadbot broadcast status {NAME}`: " + "; ".join(shown))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--prospects", type=int, default=30, help="a wave of the crowd")
    parser.add_argument("--waves", type=int, default=3, help="crowds one after another")
    parser.add_argument("--think", type=float, default=2.5, help="seconds per step (±20 %%)")
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--quick", action="store_true", help="1,000 recipients")
    parser.add_argument("--profile", metavar="FOLDER",
                        help="py-spy (if installed) samples the bot during run B into "
                             "FOLDER/broadcast-KIND.json: a timeline (speedscope), idle "
                             "samples included, so that a slow reply's moment can be looked "
                             "up")
    args = parser.parse_args()
    kinds = [k for k in args.databases.split(",") if k]
    if any(k not in ("sqlite", "postgresql") for k in kinds):
        parser.error("--databases: sqlite, postgresql")
    if args.recipients < 1 or args.prospects < 1 or args.waves < 1:
        parser.error("--recipients, --prospects and --waves: 1 or more")
    recipients = 1_000 if args.quick else args.recipients
    print(f"broadcast ({recipients} recipients at LEADBOT_BROADCAST_RATE "
          f"{os.environ.get('LEADBOT_BROADCAST_RATE', '20 (default)')}) beside a crowd, "
          f"{os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load()}:")
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            runs = await one_database(kind, args, recipients, folder)
            report(kind, recipients, runs, args)


if __name__ == "__main__":
    asyncio.run(main())
