"""What personal-data protection costs. Prints figures; asserts nothing.

    .venv/bin/python bench/privacy.py [--prospects N]

1. Encryption at rest: seal + unseal of one phone (Fernet, storage/schema/sealing.py).
2. The log filter: one typical log line masked, with 10,000 names remembered.
3. /mydata and /forget on a SQLite file: export and erase of one prospect who finished the
   renovation checklist (name, email, phone, consents, follow-ups), each its own transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fresh_sqlite  # noqa: E402
from bot.logsafe import PersonalDataFilter  # noqa: E402
from bot.service.core import Service  # noqa: E402
from dialogs.engine.events import ContactShared, Tap, TextMessage  # noqa: E402
from dialogs.engine.state import State  # noqa: E402
from storage.privacy import erasure  # noqa: E402
from storage.privacy import rights as privacy_rights  # noqa: E402
from storage.schema import sealing  # noqa: E402
from storage.schema.tables import utcnow  # noqa: E402
from storage.work.uow import UnitOfWork  # noqa: E402
from tests.intents import intent  # noqa: E402

TAPS = ["~go", "planning", "quarter", "maybe", "~yes", "~mkyes"]


def per_call(function, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - started) / count * 1e6


def encryption() -> None:
    sealing.configure(sealing.new_key())
    sealed = sealing.seal("+380671234567")
    both = per_call(lambda: sealing.unseal(sealing.seal("+380671234567")), 20_000)
    print(f"seal + unseal of a phone: {both:.1f} µs ({len(sealed)} bytes stored)")
    sealing.configure(None)


def log_filter() -> None:
    masking = PersonalDataFilter()
    masking.remember(*(f"Name{i} Surname{i}" for i in range(10_000)))
    line = "outbox row 48213 (sendMessage) failed: Bad Request: chat not found, retry in 2 s"
    masking.mask(line)  # warm-up
    cost = per_call(lambda: masking.mask(line), 20_000)
    print(f"log line masked, 10,000 names remembered: {cost:.1f} µs")


async def rights(prospects: int) -> None:
    engine, sessions, flows = await fresh_sqlite("bench.db")
    service = Service(sessions, flows)
    update_id = 0

    async def send(user_id: int, **fields) -> None:
        nonlocal update_id
        update_id += 1
        await service.handle(intent(update_id=update_id, user_id=user_id, chat_id=user_id,
                                      language_code="en", **fields))

    for user_id in range(1, prospects + 1):
        await send(user_id, start_payload="renovation-checklist__bench")
        for option in TAPS:
            async with UnitOfWork(sessions) as uow:
                state = State.from_dict((await uow.conversations.latest(user_id)).state)
            await send(user_id, event=Tap(state.flow_id, state.flow_version, state.step,
                                          option), callback_query_id=f"q{update_id}")
        await send(user_id, event=TextMessage(f"Name{user_id} Surname"))
        await send(user_id, event=TextMessage(f"person{user_id}@example.com"))
        await send(user_id, event=ContactShared(f"38067{user_id:07d}", user_id, user_id))

    exports, erasures = [], []
    for user_id in range(1, prospects + 1):
        started = time.perf_counter()
        async with UnitOfWork(sessions) as uow:
            await privacy_rights.export(uow, user_id, utcnow())
        exports.append(time.perf_counter() - started)
        started = time.perf_counter()
        async with UnitOfWork(sessions) as uow:
            await erasure.erase(uow, user_id, now=utcnow(), reason="bench")
            await uow.commit()
        erasures.append(time.perf_counter() - started)
    await engine.dispose()
    print(f"/mydata export of one prospect, SQLite: median "
          f"{statistics.median(exports) * 1000:.1f} ms ({prospects} prospects)")
    print(f"/forget erasure of one prospect, SQLite: median "
          f"{statistics.median(erasures) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prospects", type=int, default=200)
    args = parser.parse_args()
    encryption()
    log_filter()
    asyncio.run(rights(args.prospects))


if __name__ == "__main__":
    main()
