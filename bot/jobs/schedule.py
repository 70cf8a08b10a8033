"""Every periodic job of the running bot in one table: its name (in logs), how often it
runs, and what it runs. `serve()` (bot/app.py) starts them all with `start`.

May import: bot.jobs. Never a Telegram library.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.jobs.context import Running
from bot.jobs.followups import send_follow_ups
from bot.jobs.handoff_timers import handoff_timers
from bot.jobs.periodic import every
from bot.jobs.pruning import prune
from bot.jobs.retention import anonymise_expired


@dataclass(frozen=True)
class Job:
    name: str
    seconds: float  # runs at start, then every so many seconds
    run: Callable[[Running], Awaitable[object]]


SCHEDULE = (
    Job("pruning", 3600, prune),
    Job("follow-ups", 5, send_follow_ups),  # a due row waits at most this long
    Job("retention", 3600, anonymise_expired),
    Job("hand-off timers", 10, handoff_timers),
)


def start(app: Running, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """One task per job, each running until `stop` (outages waited out: periodic.py)."""
    return [asyncio.create_task(every(job.seconds, stop, lambda job=job: job.run(app),
                                      job.name))
            for job in SCHEDULE]
