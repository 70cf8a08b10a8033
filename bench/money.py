"""How long the money report takes on a big history. Prints figures; asserts nothing.

    .venv/bin/python bench/money.py [--quick] [--prospects N] [--only sqlite|postgresql]

The history of bench/report.py (N prospects, default 100,000; --quick 10,000, over 90
days, about ten events each), and on top of it: a campaign on every conversation from a
source (two per source), a sale on a tenth of the hand-offs' leads (won a few days after
the lead, an amount on nine in ten), a click for every second conversation from a source
and as many again that led nowhere, and a spend row per source, campaign and day of the 90
days. Then times `leadbot report --money` (the real command, a process of its own) for the
last 30 days by source, campaign and day, and the money() function alone, on each
database; and prints the by-source table (docs/funnel.md shows one).

PostgreSQL: LEADBOT_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/
leadbot_bench_money; the database is dropped and made again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import asyncpg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("LEADBOT_BENCH_POSTGRES",
                      "postgresql://postgres@127.0.0.1:5432/leadbot_bench_money")

import report as history_bench  # noqa: E402  (bench/report.py: the history, its writers)

from storage.db.engine import create_engine, sessionmaker  # noqa: E402
from storage.reports.money import MoneyQuery, money  # noqa: E402

NOW = history_bench.NOW
CLICK = ("token", "link", "flow_id", "source", "campaign", "utm", "created_at")
SPEND = ("first_day", "last_day", "source", "campaign", "amount", "currency", "origin",
         "created_at")


def money_rows(rows: dict[str, list]) -> dict[str, list]:
    """Campaigns, sales, clicks and spend over bench/report.py's rows (changed in place:
    the conversations' and leads' tuples get their campaign, the leads their sale)."""
    rng = random.Random(23)
    conversations = rows["conversations"]
    campaigns: dict[int, str | None] = {}
    for i, row in enumerate(conversations):
        source = row[7]
        campaigns[row[0]] = None if source is None else f"{source}-{rng.choice('ab')}"
        conversations[i] = (*row, campaigns[row[0]])
    handed = {row[0] for row in rows["handoffs"]}
    for i, row in enumerate(rows["leads"]):
        lead, created = row[0], row[15]
        won_at = amount = None
        if lead in handed and rng.random() < 0.1:
            won_at = created + timedelta(days=rng.randrange(1, 15))
            amount = rng.randrange(10_000, 500_000) * 100 if rng.random() < 0.9 else None
        rows["leads"][i] = (*row, campaigns[row[1]], won_at, amount,
                            None if amount is None else "RUB")
    clicks = []
    for row in conversations:
        if row[7] is not None and rng.random() < 0.5:
            for _ in range(2):
                clicks.append((f"c{len(clicks)}", row[7], row[3], row[7], row[-1], "{}",
                               row[10] - timedelta(seconds=rng.randrange(60, 600))))
    spend = []
    for days_ago in range(90):
        day = (NOW - timedelta(days=days_ago)).date()
        for source in filter(None, history_bench.SOURCES):
            if source == "youtube":
                continue  # a source with no spend: its cost columns say so
            for campaign in (f"{source}-a", f"{source}-b"):
                spend.append((day, day, source, campaign, rng.randrange(1000, 20_000) * 100,
                              "RUB", "bench", NOW))
    return {"clicks": clicks, "spend": spend}


COLUMNS = {
    "conversations": (*history_bench.CONVERSATION, "campaign"),
    "leads": (*history_bench.LEAD, "campaign", "won_at", "amount", "currency"),
    "clicks": CLICK, "spend": SPEND,
}


def fill_sqlite(path: str, rows: dict[str, list]) -> None:
    def plain(value):  # SQLAlchemy's SQLite format: naive UTC text
        if hasattr(value, "tzinfo"):
            return value.replace(tzinfo=None).isoformat(" ")
        return value.isoformat() if hasattr(value, "isoformat") else value
    db = sqlite3.connect(path)
    for table, columns in history_bench.TABLES + [("clicks", CLICK), ("spend", SPEND)]:
        columns = COLUMNS.get(table, columns)
        marks = ", ".join("?" * len(columns))
        db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                       ([plain(v) for v in row] for row in rows[table]))
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def fill_postgres(url: str, rows: dict[str, list]) -> None:
    db = await asyncpg.connect(url)
    for table, columns in history_bench.TABLES + [("clicks", CLICK), ("spend", SPEND)]:
        columns = COLUMNS.get(table, columns)
        await db.copy_records_to_table(table, records=rows[table], columns=list(columns))
    await db.execute("ANALYZE")
    await db.close()


def timed_command(url: str, *args: str) -> tuple[float, float, str]:
    """`leadbot report --money ARGS`: wall time, CPU time, what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    env.update(LEADBOT_DATABASE_URL=url, LEADBOT_CURRENCY="RUB")
    started = time.perf_counter()
    result = subprocess.run([history_bench.LEADBOT, "report", "--money", *args],
                            capture_output=True, text=True, env=env, timeout=300)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise SystemExit(result.stderr)
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, \
        result.stdout


async def timed_function(url: str, query: MoneyQuery) -> float:
    engine = create_engine(url)
    async with sessionmaker(engine)() as session:
        await money(session, query)  # warm
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            await money(session, query)
            best = min(best, time.perf_counter() - started)
    await engine.dispose()
    return best


async def bench(kind: str, prospects: int, folder: str) -> None:
    url = (f"sqlite:///{folder}/money.db" if kind == "sqlite"
           else await history_bench.fresh_postgres())
    orders = await history_bench.snapshot(url)
    rows = history_bench.history(prospects, orders)
    rows.update(money_rows(rows))
    if kind == "sqlite":
        fill_sqlite(f"{folder}/money.db", rows)
    else:
        await fill_postgres(url, rows)
    until = NOW.date()
    since = until - timedelta(days=29)
    period = ("--since", since.isoformat(), "--until", until.isoformat())
    won = sum(1 for row in rows["leads"] if row[-3] is not None)
    print(f"{kind}: {len(rows['prospects']):,} prospects, {len(rows['leads']):,} leads, "
          f"{won:,} sales, {len(rows['clicks']):,} clicks, {len(rows['spend']):,} spend rows")
    table = ""
    for by in ("source", "campaign", "day"):
        wall, cpu, output = timed_command(url, *period, "--by", by)
        table = table or output
        alone = await timed_function(url, MoneyQuery(since, until, "UTC", by))
        print(f"  leadbot report --money --by {by}, 30 days: {wall:.2f} s, {cpu:.2f} s of "
              f"CPU (the whole command; target < 2 s); money() alone {alone * 1000:.0f} ms")
    print(f"  machine load (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(table)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 prospects")
    parser.add_argument("--prospects", type=int)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    prospects = args.prospects or (10_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as folder:
        for kind in (args.only,) if args.only else ("sqlite", "postgresql"):
            await bench(kind, prospects, folder)


if __name__ == "__main__":
    asyncio.run(main())
