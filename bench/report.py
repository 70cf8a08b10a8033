"""How long the funnel takes on a big history. Prints figures; asserts nothing.

    .venv/bin/python bench/report.py [--quick] [--prospects N] [--only sqlite|postgresql]
                                     [--before CHECKOUT]

Generates N prospects (default 100,000; --quick 10,000) over 90 days, about ten events
each (1,000,000 by default): the shipped flows' steps, answers, some going back, consents,
contacts, leads and hand-offs; written in bulk (executemany into SQLite, COPY into
PostgreSQL). Then times `leadbot report` (the real command, a process of its own) for the
kitchen quiz and the last 30 days, the funnel function alone, the dashboard's flow page
(GET /admin?flow=kitchen-quiz with the same 30 days, through the real aiohttp server of
bot/web/server.py on 127.0.0.1, bearer token: every panel, the leads' first page), its
home page (GET /admin: every flow against the period before, its default 7 days and the
same 30) and a lead's page (GET /admin/lead/<id>: its events, answers and CRM deliveries,
three a lead here), on each database.

--before CHECKOUT (another checkout of leadbot, e.g. /work/main at an older commit): also
times that checkout's storage/reports/funnel.py on the same data, side by side with this one: the
funnel alone, and the page's three groupings (all, by source, by variant) as the page asked
for them then (three funnel() calls at once, a session each) against `funnels()` (one
pass). Wall time (best of 3) and CPU time: this process's plus, on PostgreSQL, the server
processes' that did the counting (/proc/<backend pid>/stat), which a loaded machine
inflates far less than wall time.

PostgreSQL: LEADBOT_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/
leadbot_bench_report; the database is dropped and made again).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import run_this_checkout  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.service.flows import FlowRegistry  # noqa: E402
from bot.web.filters import PAGE_SIZE  # noqa: E402
from bot.web.server import web_app  # noqa: E402
from dialogs.rules.funnel import marked, step_order  # noqa: E402
from storage.db.engine import create_engine, sessionmaker  # noqa: E402
from storage.db.migrate import upgrade  # noqa: E402
from storage.reports.answers import chosen  # noqa: E402
from storage.reports.funnel import funnel, funnels  # noqa: E402
from storage.reports.leads import LeadFilter, page  # noqa: E402
from storage.reports.period import FunnelQuery  # noqa: E402
from storage.reports.speed import handoff_speed  # noqa: E402
from storage.work.uow import UnitOfWork  # noqa: E402

run_this_checkout()  # the CLI it starts runs this checkout's code

POSTGRES = os.environ.get("LEADBOT_BENCH_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/leadbot_bench_report")
LEADBOT = str(Path(sys.executable).with_name("leadbot"))
NOW = datetime.now(UTC).replace(microsecond=0)
FLOWS = [("kitchen-quiz", 0.6), ("renovation-calculator", 0.2),
         ("renovation-checklist", 0.2)]
SOURCES = ["instagram", "vk", "youtube", "ads", None]
QUESTIONS = {"single_choice", "multiple_choice", "free_text", "number", "calculator"}

PROSPECT = ("user_id", "chat_id", "language", "blocked", "created_at", "updated_at")
CONVERSATION = ("id", "user_id", "chat_id", "flow_id", "flow_version", "step", "finished",
                "source", "state", "progress", "started_at", "updated_at")
EVENT = ("user_id", "conversation_id", "kind", "flow_id", "flow_version", "step", "source",
         "data", "created_at")
LEAD = ("id", "conversation_id", "user_id", "flow_id", "flow_version", "source", "score",
        "temperature", "mql", "sql", "target", "outcome", "status", "breakdown", "tags",
        "created_at", "updated_at", "qualified_at")
ANSWER = ("conversation_id", "step", "value", "label", "points", "created_at")
OPTIONS: dict[str, dict[str, list[str]]] = {}  # flow -> choice step -> its options' ids
HANDOFF = ("lead_id", "conversation_id", "user_id", "chat_id", "assigned", "temperature",
           "language", "submitted_at", "claimed_by", "claimed_at", "status", "status_at",
           "first_contact_at", "created_at")
CRM_DELIVERY = ("key", "target", "lead_id", "event", "data", "status", "attempts",
                "not_before", "created_at", "sent_at", "alerted")


def history(prospects: int, orders: dict[str, list[tuple[str, str]]]) -> dict[str, list]:
    """Rows per table: tuples in the column order above, times as aware datetimes."""
    rng = random.Random(13)
    rows: dict[str, list] = {"prospects": [], "conversations": [], "events": [],
                             "leads": [], "handoffs": [], "answers": [], "crm_deliveries": []}
    names, weights = zip(*FLOWS, strict=True)
    events = rows["events"]
    # ids in the order the conversations started, as the database gives them to the bot
    starts = sorted(NOW - timedelta(seconds=rng.randrange(90 * 86400))
                    for _ in range(prospects))
    for user in range(1, prospects + 1):
        flow = rng.choices(names, weights)[0]
        source = rng.choice(SOURCES)
        at = starts[user - 1]
        language = rng.choice(("ru", "ru", "uk", "en"))
        rows["prospects"].append((user, user, language, False, at, at))
        # the main path runs to the first end step; the other ends are branches (out of
        # the area, consent declined) some take after the first question
        ends = [i for i, (_, kind) in enumerate(orders[flow]) if kind == "end"]
        steps = orders[flow][:ends[0] + 1]
        if len(ends) > 1 and rng.random() < 0.08:
            steps = steps[:2] + [orders[flow][rng.choice(ends[1:])]]
        # some finish; the others leave early rather than late (about ten events each)
        stop = len(steps) if rng.random() < 0.25 else 1 + int(len(steps) * rng.random() ** 1.5)

        progress: dict = {}  # what the bot keeps on the conversation, from the same marks

        def event(kind: str, step: str | None, data: dict, when: datetime,
                  flow: str = flow, user: int = user, source: str | None = source,
                  progress: dict = progress) -> None:
            events.append((user, user, kind, flow, 1, step, source, json.dumps(data), when))
            progress.update(marked(progress, kind, step, data.get("purpose")))

        when = at
        for step, kind in steps[:stop]:
            when += timedelta(seconds=rng.randrange(3, 40))
            event("step", step, {"step_kind": kind}, when)
            if kind in QUESTIONS:
                for _ in range(2 if rng.random() < 0.08 else 1):  # some went back
                    event("answer", step, {"points": 5}, when)
                    options = OPTIONS.get(flow, {}).get(step)
                    value = (rng.choice(options) if kind == "single_choice" else
                             rng.sample(options, rng.randint(1, len(options)))
                             if options else rng.randrange(10, 200))
                    rows["answers"].append((user, step, json.dumps(value), str(value), 5,
                                            when))
            elif kind == "consent":
                event("answer", step, {"points": 0}, when)
                event("consent", step, {"purpose": "processing", "granted": True}, when)
            elif kind == "contact":
                event("contact", None, {"fields": ["phone"]}, when)
        rows["conversations"].append((user, user, user, flow, 1, steps[stop - 1][0],
                                      stop == len(steps), source, "{}", json.dumps(progress),
                                      at, when))
        if stop < len(steps) * 0.7:
            continue
        temperature = rng.choice(("hot", "warm", "cold"))
        outcome = {"hot": "handoff", "warm": "nurture", "cold": "close"}[temperature]
        event("qualified", None, {"temperature": temperature, "outcome": outcome}, when)
        rows["leads"].append((user, user, user, flow, 1, source, rng.randrange(100),
                              temperature, temperature != "cold", temperature == "hot",
                              temperature != "cold", outcome, outcome, "[]", "[]",
                              when, when, when))
        for number, moment in enumerate(("qualified", "handoff", "status")):  # a CRM's rows
            rows["crm_deliveries"].append((f"{user:012d}{number:04d}", "webhook", user, moment,
                                           "{}", "sent", 1, when, when, when, False))
        if outcome == "handoff":
            event("handoff", None, {"temperature": temperature}, when)
            claimed = when + timedelta(seconds=rng.randrange(30, 7200))
            contacted = claimed + timedelta(seconds=rng.randrange(60, 3600))
            status = rng.choice(("claimed", "contacted", "won", "lost"))
            rows["handoffs"].append((user, user, user, -100, False, temperature, language,
                                     when, 7, claimed, status, contacted, contacted, when))
    return rows


async def snapshot(url: str) -> dict[str, list[tuple[str, str]]]:
    engine = create_engine(url)
    await upgrade(engine)
    flows = FlowRegistry.from_dir(ROOT / "dialogs" / "flows")
    async with UnitOfWork(sessionmaker(engine)) as uow:
        await flows.snapshot(uow)
        await uow.commit()
    await engine.dispose()
    for flow_id, runnable in flows.latest.items():
        OPTIONS[flow_id] = {step_id: [o.id for o in step.options]
                            for step_id, step in runnable.flow.steps.items()
                            if getattr(step, "kind", "") in ("single_choice",
                                                             "multiple_choice")}
    return {flow_id: step_order(runnable.flow.model_dump(mode="json"))
            for flow_id, runnable in flows.latest.items()}


TABLES = [("prospects", PROSPECT), ("conversations", CONVERSATION), ("events", EVENT),
          ("leads", LEAD), ("handoffs", HANDOFF), ("answers", ANSWER),
          ("crm_deliveries", CRM_DELIVERY)]


def fill_sqlite(path: str, rows: dict[str, list]) -> None:
    def plain(value):  # SQLAlchemy's SQLite format: naive UTC text
        return value.replace(tzinfo=None).isoformat(" ") if isinstance(value, datetime) \
            else value
    db = sqlite3.connect(path)
    for table, columns in TABLES:
        marks = ", ".join("?" * len(columns))
        db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                       ([plain(v) for v in row] for row in rows[table]))
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def fill_postgres(url: str, rows: dict[str, list]) -> None:
    db = await asyncpg.connect(url)
    for table, columns in TABLES:
        await db.copy_records_to_table(table, records=rows[table], columns=list(columns))
    await db.execute("SELECT setval('conversations_id_seq', (SELECT max(id) FROM conversations))")
    await db.execute("ANALYZE")
    await db.close()


async def fresh_postgres() -> str:
    admin = await asyncpg.connect(POSTGRES.rsplit("/", 1)[0] + "/postgres")
    name = POSTGRES.rsplit("/", 1)[1]
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return POSTGRES


def timed_command(url: str, since: date, until: date) -> tuple[float, float, str]:
    """The command's wall time and its CPU time (user + system: what a loaded machine
    does not inflate), and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    env["LEADBOT_DATABASE_URL"] = url
    started = time.perf_counter()
    result = subprocess.run([LEADBOT, "report", "--flow", "kitchen-quiz", "--since",
                             since.isoformat(), "--until", until.isoformat(), "--format",
                             "json"], capture_output=True, text=True, env=env, timeout=300)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise SystemExit(result.stderr)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, result.stdout


async def timed_function(url: str, query: FunnelQuery) -> float:
    engine = create_engine(url)
    async with sessionmaker(engine)() as session:
        await funnel(session, query)  # warm: connection, caches
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            await funnel(session, query)
            best = min(best, time.perf_counter() - started)
    await engine.dispose()
    return best


PAGE = [None, "source", "variant", "day"]  # the flow page's groupings


def before_funnel(checkout: str):
    """`funnel` of another checkout's storage/reports/funnel.py (its imports resolve to this
    tree: a checkout from before storage/ had rooms has no such file)."""
    spec = importlib.util.spec_from_file_location(
        "funnel_before", Path(checkout) / "storage" / "reports" / "funnel.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module.funnel


def server_cpu(pids: set[int]) -> float:
    """CPU seconds (user + system) the PostgreSQL backends `pids` have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def timed_side_by_side(url: str, query: FunnelQuery, old) -> dict[str, tuple]:
    """name -> (best wall s, its CPU s) of 3 runs after a warm one, old and new alike,
    alternating, on one pool."""
    from sqlalchemy import text

    engine = create_engine(url)
    make = sessionmaker(engine)
    postgres = url.startswith("postgresql")
    pids: set[int] = set()

    async def session_pid(session) -> None:
        if postgres:
            pids.add((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    async def one(count, q):
        async with make() as session:
            await session_pid(session)
            return await count(session, q)

    cases = {
        "funnel() before": lambda: one(old, query),
        "funnel() now": lambda: one(funnel, query),
        "page's 3 groupings before (3 x funnel() at once)": lambda: asyncio.gather(
            *(one(old, FunnelQuery(**{**vars(query), "by": by})) for by in PAGE)),
        "page's 3 groupings now (funnels(), one pass)": lambda: one(
            lambda session, q: funnels(session, q, PAGE), query),
    }
    best: dict[str, tuple] = {}
    for round_ in range(4):
        for name, run in cases.items():
            cpu, server = time.process_time(), server_cpu(pids) if postgres else 0.0
            started = time.perf_counter()
            await run()
            wall = time.perf_counter() - started
            used = time.process_time() - cpu + (server_cpu(pids) - server if postgres
                                                else 0.0)
            if round_ and (name not in best or wall < best[name][0]):  # round 0 warms
                best[name] = (wall, used)
    await engine.dispose()
    return best


async def timed_page(url: str, path: str) -> tuple[float, float, int]:
    """A dashboard page (`path`: the flow page, the home page) through the real server:
    (best, median) wall seconds of 5 GETs after a warm one, and the page's size in bytes."""
    from types import SimpleNamespace

    from aiohttp import web

    engine = create_engine(url)
    token = "bench-token"
    running = SimpleNamespace(
        settings=SimpleNamespace(admin_token=SecretStr(token), timezone="UTC",
                                 currency="RUB"),
        engine=engine, sessions=sessionmaker(engine),
        flows=FlowRegistry.from_dir(ROOT / "dialogs" / "flows"))
    runner = web.AppRunner(web_app(running, Metrics()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    page = f"http://{host}:{port}{path}"
    times, size = [], 0
    try:
        async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {token}"}) as client:
            for attempt in range(6):
                started = time.perf_counter()
                async with client.get(page) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise SystemExit(f"{path}: {response.status} {body[:300]!r}")
                if attempt:  # the first one warms connections and templates
                    times.append(time.perf_counter() - started)
                size = len(body)
    finally:
        await runner.cleanup()
        await engine.dispose()
    times.sort()
    return times[0], times[len(times) // 2], size


async def execute(url: str, statement: str) -> None:
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        db.execute(statement)
        db.commit()
        db.close()
    else:
        db = await asyncpg.connect(url)
        await db.execute(statement)
        await db.close()


async def timed_parts(url: str, query: FunnelQuery) -> dict[str, float]:
    """The flow page's reads one by one (the page runs them at once, a connection each):
    where its time goes."""
    engine = create_engine(url)
    make = sessionmaker(engine)

    async def leads() -> None:
        async with UnitOfWork(make) as uow:
            await page(uow, query, LeadFilter(None, None, None), size=PAGE_SIZE, number=1,
                       with_contacts=False, now=NOW)

    async def speed() -> None:
        async with make() as session:
            await handoff_speed(session, query)

    async def counted() -> None:
        async with make() as session:
            await funnels(session, query, PAGE)

    async def answered() -> None:
        flow = OPTIONS["kitchen-quiz"]
        async with make() as session:
            await chosen(session, query, [s for s in flow if s != "extras"], ["extras"])

    best: dict[str, float] = {}
    for round_ in range(4):
        for name, run in (("funnels (4 groupings)", counted), ("answers chosen", answered),
                          ("managers' speed", speed), ("leads' first page", leads)):
            started = time.perf_counter()
            await run()
            if round_:  # round 0 warms
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
    await engine.dispose()
    return best


async def bench(kind: str, prospects: int, folder: str, before: str | None) -> None:
    url = f"sqlite:///{folder}/report.db" if kind == "sqlite" else await fresh_postgres()
    orders = await snapshot(url)
    rows = history(prospects, orders)
    started = time.perf_counter()
    if kind == "sqlite":
        fill_sqlite(f"{folder}/report.db", rows)
    else:
        await fill_postgres(url, rows)
    filled = time.perf_counter() - started
    if before:  # what the older code counted the events with (migration 0015 dropped it)
        await execute(url, "CREATE INDEX ix_events_conversation_kind ON events "
                           "(conversation_id, kind, step, user_id)")
    until = NOW.date()
    since = until - timedelta(days=29)
    command, cpu, output = timed_command(url, since, until)
    started_people = sum(g["started"] for g in json.loads(output)["groups"])
    alone = await timed_function(url, FunnelQuery("kitchen-quiz", since, until))
    by_day = await timed_function(url, FunnelQuery("kitchen-quiz", since, until, by="day"))
    print(f"{kind}: {len(rows['prospects']):,} prospects, {len(rows['events']):,} events, "
          f"{len(rows['leads']):,} leads, {len(rows['handoffs']):,} hand-offs "
          f"(written in {filled:.1f} s)")
    print(f"  leadbot report, kitchen-quiz, 30 days ({started_people:,} people): "
          f"{command:.2f} s, {cpu:.2f} s of CPU (the whole command: start, migrations "
          f"check, query, print)")
    print(f"  funnel() alone: {alone * 1000:.0f} ms; --by day: {by_day * 1000:.0f} ms")
    period = f"since={since.isoformat()}&until={until.isoformat()}"
    for name, path in (("flow page, 30 days", f"/admin?flow=kitchen-quiz&{period}"),
                       ("home page, 7 days", "/admin"), ("home page, 30 days", f"/admin?{period}")):
        best, median, size = await timed_page(url, path)
        print(f"  dashboard {name} (GET {path}, real server, {size:,} bytes): best "
              f"{best * 1000:.0f} ms, median {median * 1000:.0f} ms of 5 (target < 500 ms)")
    lead = f"/admin/lead/{rows['leads'][-1][0]}"  # the newest, with its CRM deliveries
    best, median, size = await timed_page(url, lead)
    print(f"  a lead's page (GET {lead}, {size:,} bytes): best {best * 1000:.0f} ms, "
          f"median {median * 1000:.0f} ms of 5 (target < 500 ms)")
    parts = await timed_parts(url, FunnelQuery("kitchen-quiz", since, until))
    print("  its parts, one after another (best of 3): " + ", ".join(
        f"{name} {wall * 1000:.0f} ms" for name, wall in parts.items()))
    if before:
        figures = await timed_side_by_side(url, FunnelQuery("kitchen-quiz", since, until),
                                           before_funnel(before))
        for name, (wall, used) in figures.items():
            print(f"  {name}: {wall * 1000:.0f} ms wall, {used * 1000:.0f} ms CPU")
    print(f"  machine load (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 prospects")
    parser.add_argument("--prospects", type=int)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--before", metavar="CHECKOUT",
                        help="also time this checkout's funnel, side by side")
    args = parser.parse_args()
    prospects = args.prospects or (10_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as folder:
        for kind in (args.only,) if args.only else ("sqlite", "postgresql"):
            await bench(kind, prospects, folder, args.before)


if __name__ == "__main__":
    asyncio.run(main())
