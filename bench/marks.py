"""The sender's bookkeeping alone: CPU per batch of sent marks, and per broadcast message's
`sending` mark, one after another. Asserts nothing.

    .venv/bin/python bench/marks.py [MARKS] [sqlite,postgresql]

MARKS rows (default 500) are queued in a fresh migrated database, then marked one batch of
one row at a time through `Marks.flush` (bot/outbox/marks.py), as the sender marks a reply
Telegram accepted at a human pace; then as many bulk rows are marked `sending`
(storage/work/outbox.py `start_sending`). The first 20 of each warm up and are not counted.
To compare with other code, run the same file in a checkout of it (git worktree).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline import database  # noqa: E402
from bot.cli.run import tune_gc  # noqa: E402
from bot.outbox.marks import Mark, Marks  # noqa: E402
from bot.outbox.pending import Row  # noqa: E402
from storage.db.engine import create_engine, sessionmaker  # noqa: E402
from storage.db.migrate import upgrade  # noqa: E402
from storage.schema.tables import OutboxMessage, utcnow  # noqa: E402
from storage.work import outbox  # noqa: E402
from storage.work.uow import UnitOfWork  # noqa: E402

WARM = 20


async def queued(sessions, count: int) -> list[int]:
    async with UnitOfWork(sessions) as uow:
        for chat in range(count):
            uow.stage(OutboxMessage, chat_id=chat, method="sendMessage",
                      payload={"text": "x"})
        ids = [row["id"] for row in await uow.flush_outbox()]
        await uow.commit()
    return ids


async def start_sending(engine, sessions, row_id: int) -> bool:
    if hasattr(outbox, "start_sending"):
        return await outbox.start_sending(engine, row_id)
    async with UnitOfWork(sessions) as uow:  # a checkout from before storage/db/trip.py
        started = await uow.outbox.start_sending(row_id)
        await uow.commit()
    return started


async def one(kind: str, count: int) -> None:
    engine = create_engine(await database(kind, tempfile.mkdtemp()))
    await upgrade(engine)
    sessions = sessionmaker(engine)
    marks = Marks(sessions)
    fields = [field.name for field in dataclasses.fields(Row)]
    rows = [Row(**{name: (row_id if name == "id" else None) for name in fields})
            for row_id in await queued(sessions, count)]
    tune_gc()  # as `leadbot run` does
    cpu = 0.0
    for n, row in enumerate(rows):
        started = time.process_time()
        marks.add(Mark(row, "sent", utcnow(), message_id=n + 1))
        await marks.flush()
        cpu += (time.process_time() - started) if n >= WARM else 0.0
    sent = cpu / (count - WARM) * 1000
    bulk = await queued(sessions, count)
    cpu = 0.0
    for n, row_id in enumerate(bulk):
        started = time.process_time()
        assert await start_sending(engine, sessions, row_id)
        cpu += (time.process_time() - started) if n >= WARM else 0.0
    print(f"{kind}: a batch of one sent mark {sent:.3f} ms of CPU; a broadcast message's "
          f"`sending` {cpu / (count - WARM) * 1000:.3f} ms ({count - WARM} of each)")
    await engine.dispose()


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    kinds = sys.argv[2].split(",") if len(sys.argv) > 2 else ["sqlite", "postgresql"]
    for kind in kinds:
        await one(kind, count)


if __name__ == "__main__":
    asyncio.run(main())
