"""The disk a lead costs on SQLite, before and after pruning. Prints figures; asserts nothing.

    .venv/bin/python bench/disk.py [--leads N]

Half the leads finish the kitchen quiz hot (name, phone, a card in the managers' group,
claimed by a manager: the lead in their private chat, a status set); half finish the
renovation checklist (name, email, phone, the PDF, follow-ups). Every message is then taken
as sent (as the sender would mark it), and the clean-up job (bot/jobs/pruning.py `prune`) runs as it
would LEADBOT_PRUNE_AFTER_DAYS later. Bytes are the SQLite pages in use (page_count minus
free pages, which the file reuses), per table where SQLite has `dbstat`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text, update  # noqa: E402

from bench.common import fresh_sqlite  # noqa: E402
from bot.handoff.handoffs import HandoffConfig, Handoffs  # noqa: E402
from bot.jobs.pruning import prune  # noqa: E402
from bot.service.core import Service  # noqa: E402
from bot.service.intents import ManagerTap  # noqa: E402
from bot.settings import Settings  # noqa: E402
from dialogs.engine.events import ContactShared, Tap, TextMessage  # noqa: E402
from dialogs.engine.state import State  # noqa: E402
from storage.schema.tables import Handoff, OutboxMessage, ProcessedUpdate, utcnow  # noqa: E402
from storage.work.uow import UnitOfWork  # noqa: E402
from tests.intents import intent  # noqa: E402

GROUP, MANAGER = -100500, 4242
KITCHEN = ["~go", "city", "island", "large", "veneer", "appliances", "lighting", "~done",
           "month", "~yes", "~mkno"]
CHECKLIST = ["~go", "planning", "quarter", "maybe", "~yes", "~mkyes"]


class Driver:
    def __init__(self, service: Service) -> None:
        self.service, self.update_id = service, 0

    async def send(self, user_id: int, chat_id: int | None = None, **fields) -> None:
        self.update_id += 1
        await self.service.handle(intent(update_id=self.update_id, user_id=user_id,
                                           chat_id=chat_id or user_id, language_code="en",
                                           **fields))

    async def tap(self, user_id: int, option: str) -> None:
        async with UnitOfWork(self.service.sessions) as uow:
            state = State.from_dict((await uow.conversations.latest(user_id)).state)
        await self.send(user_id, event=Tap(state.flow_id, state.flow_version, state.step,
                                           option), callback_query_id=f"q{self.update_id}")

    async def manager(self, data: str) -> None:
        self.update_id += 1
        chat = GROUP if data.startswith("claim:") else MANAGER
        await self.send(MANAGER, chat, manager_tap=ManagerTap(
            update_id=self.update_id, user_id=MANAGER, chat_id=chat, name="Anna Petrova",
            data=data, query_id=f"m{self.update_id}", message_id=1))

    async def kitchen(self, user_id: int) -> None:
        await self.send(user_id, start_payload="kitchen-quiz__instagram")
        for option in KITCHEN:
            await self.tap(user_id, option)
        await self.send(user_id, event=TextMessage("Olivia Smith"))
        await self.send(user_id, event=ContactShared(f"7916{user_id:07d}", user_id, user_id))
        async with self.service.sessions() as session:
            handoff_id = await session.scalar(select(Handoff.id).where(
                Handoff.user_id == user_id))
        await self.manager(f"claim:{handoff_id}")
        await self.manager(f"lead:{handoff_id}:contacted")

    async def checklist(self, user_id: int) -> None:
        await self.send(user_id, start_payload="renovation-checklist__facebook")
        for option in CHECKLIST:
            await self.tap(user_id, option)
        await self.send(user_id, event=TextMessage("Olivia Smith"))
        await self.send(user_id, event=TextMessage(f"person{user_id}@example.com"))
        await self.send(user_id, event=ContactShared(f"38067{user_id:07d}", user_id, user_id))


async def in_use(sessions) -> tuple[int, dict[str, int]]:
    async with sessions() as session:
        size = await session.scalar(text("PRAGMA page_size"))
        pages = await session.scalar(text("PRAGMA page_count"))
        free = await session.scalar(text("PRAGMA freelist_count"))
        try:
            tables = dict((await session.execute(text(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))).all())
        except Exception:  # SQLite built without dbstat: totals only
            tables = {}
    return (pages - free) * size, tables


async def measure(leads: int) -> None:
    engine, sessions, flows = await fresh_sqlite("disk.db")
    service = Service(sessions, flows, handoffs=Handoffs(HandoffConfig(chat_id=GROUP,
                                                                       language="en")))
    driver = Driver(service)
    empty, _ = await in_use(sessions)
    for user_id in range(1, leads + 1):
        await (driver.kitchen if user_id % 2 else driver.checklist)(user_id)
    async with sessions() as session:  # what the sender does once Telegram accepted them
        await session.execute(update(OutboxMessage).values(
            status="sent", sent_at=OutboxMessage.created_at,
            telegram_message_id=OutboxMessage.id))
        await session.commit()
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
        updates = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
    before, tables_before = await in_use(sessions)
    app = SimpleNamespace(settings=Settings(), sessions=sessions)
    removed = await prune(app, now=utcnow() + timedelta(days=Settings().prune_after_days + 1))
    after, tables_after = await in_use(sessions)
    await engine.dispose()
    path = Path(engine.url.database or "")
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("VACUUM")  # outside the bot's BEGIN IMMEDIATE transactions
    file_size = path.stat().st_size

    print(f"{leads} leads ({leads // 2 + leads % 2} kitchen hot + claimed, {leads // 2} "
          f"checklist), {updates} updates, {rows} outbox rows")
    print(f"  before pruning: {(before - empty) / leads:,.0f} bytes per lead "
          f"({(before - empty) / updates:,.0f} per update)")
    print(f"  after pruning:  {(after - empty) / leads:,.0f} bytes per lead "
          f"(pruned {', '.join(f'{n} {what}' for what, n in removed.items())})")
    print(f"  after VACUUM:   {file_size / leads:,.0f} bytes of file per lead")
    if tables_after:
        print("  per table after pruning (bytes per lead, tables and their indexes):")
        for name, size in sorted(tables_after.items(), key=lambda item: -item[1]):
            if size >= leads * 40:
                was = tables_before.get(name, 0) / leads
                print(f"    {name:<40} {size / leads:>8,.0f}  (before {was:,.0f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(measure(args.leads))


if __name__ == "__main__":
    main()
