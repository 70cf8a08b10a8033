"""Every periodic job of the running bot in one table: its name (in logs), how often it
runs, and what it runs. `serve()` (bot/app.py) starts them all with `start`.

May import: bot.jobs, storage. Never a Telegram library.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.jobs.broadcasts import send_broadcasts
from bot.jobs.context import Running
from bot.jobs.followups import send_follow_ups
from bot.jobs.handoff_timers import handoff_timers
from bot.jobs.periodic import every
from bot.jobs.pruning import prune
from bot.jobs.retention import anonymise_expired
from storage.schema.tables import utcnow
from storage.work import passes
from storage.work.uow import UnitOfWork


@dataclass(frozen=True)
class Job:
    name: str
    seconds: float  # runs at start, then every so many seconds
    run: Callable[[Running], Awaitable[object]]
    # a whole pass run by one process of several (storage/work/passes.py); the others'
    # jobs take their rows one by one (SKIP LOCKED, leases), so every process runs them
    once: bool = False


SCHEDULE = (
    Job("pruning", 3600, prune, once=True),
    Job("follow-ups", 5, send_follow_ups),  # a due row waits at most this long
    Job("retention", 3600, anonymise_expired, once=True),
    Job("hand-off timers", 10, handoff_timers),
    Job("broadcasts", 5, send_broadcasts),  # every second while one is sending
)


def start(app: Running, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """One task per job, each running until `stop` (outages waited out: periodic.py)."""
    return [asyncio.create_task(every(job.seconds, stop, lambda job=job: turn(app, job),
                                      job.name))
            for job in SCHEDULE]


async def turn(app: Running, job: Job) -> object:
    """Runs `job`, unless it runs once across processes and another took this turn."""
    if job.once:
        async with UnitOfWork(app.sessions) as uow:
            mine = await passes.take_turn(uow.session, job.name,
                                          timedelta(seconds=job.seconds), utcnow())
            await uow.commit()
        if not mine:
            return None
    return await job.run(app)
