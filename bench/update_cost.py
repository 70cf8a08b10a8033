"""One update's own cost: CPU and SQL statements per update, on a SQLite file. Asserts nothing.

    .venv/bin/python bench/update_cost.py [PROSPECTS] [PROFILE_FILE|-] [show] [postgresql]

The kitchen quiz's updates (bench/pipeline.py), fed one at a time through the aiogram
transport into the service (no polling, no sender): process CPU time per update, and the
statements each update's transaction runs through SQLAlchemy (its before_cursor_execute: an
update's statements that go straight to sqlite3, storage/db/trip.py, are not counted), `show`
lists them. A pyinstrument profile is written to PROFILE_FILE when pyinstrument is installed.
`postgresql`: on LEADBOT_BENCH_POSTGRES (bench/pipeline.py), a fresh database. The collector
is tuned after the warm-up as `leadbot run` tunes it (bot/cli/run.py `tune_gc`). Untuned, the
full collections move with the objects the imports leave: one added import measured 0.8 ms an
update slower on PostgreSQL, for nothing it ran.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.common import transport_for  # noqa: E402
from bench.pipeline import Updates, database  # noqa: E402
from bot.cli.run import tune_gc  # noqa: E402
from bot.service.core import Service  # noqa: E402
from bot.service.flows import FlowRegistry  # noqa: E402
from storage.db.engine import create_engine, sessionmaker  # noqa: E402
from storage.db.migrate import upgrade  # noqa: E402


async def main(prospects: int, profile: str | None, show: bool, kind: str) -> None:
    folder = tempfile.mkdtemp()
    engine = create_engine(await database(kind, folder))
    await upgrade(engine)
    statements: collections.Counter[str] = collections.Counter()
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, context, many:
                 statements.update([sql.split("\n")[0][:100]]))
    transport = transport_for("aiogram")
    service = Service(sessionmaker(engine), FlowRegistry.from_dir(ROOT / "dialogs" / "flows"))
    transport.attach(service)
    source = Updates(transport)
    for update in source.for_prospect(1):  # warm-up: caches, compiled statements
        await transport.feed(update)
    statements.clear()
    tune_gc()
    batches = [source.for_prospect(10_000 + n) for n in range(prospects)]
    count = sum(len(b) for b in batches)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    cpu, wall = time.process_time(), time.perf_counter()
    for batch in batches:
        for update in batch:
            await transport.feed(update)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None and profile:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=False))
    print(f"{count} updates: CPU {cpu / count * 1000:.2f} ms/update, wall "
          f"{wall / count * 1000:.2f} ms/update, "
          f"{sum(statements.values()) / count:.2f} statements/update")
    if show:
        for sql, n in statements.most_common():
            print(f"  {n / count:5.2f}  {sql}")
    await engine.dispose()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]) if args else 30,
                     args[1] if len(args) > 1 and args[1] != "-" else None, "show" in args,
                     "postgresql" if "postgresql" in args else "sqlite"))
