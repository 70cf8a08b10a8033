"""The loop that runs a job every N seconds, and what counts as an outage for it (the jobs
themselves are modules of their own, listed in schedule.py).

An outage (the database or the network away) pauses a job, never ends it: a job that died
would silently stop follow-ups or pruning until the next restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
OUTAGES = (DBAPIError, OSError, TimeoutError)


@dataclass(frozen=True)
class Sooner:
    """What a job returns when its next work is due before its next run: the runner waits
    only this long (the follow-ups job: the next row falls due in 0.8 s)."""

    seconds: float


async def every(seconds: float, stop: asyncio.Event, job: Callable[[], Awaitable[object]],
                name: str) -> None:
    """Runs `job` now and then every `seconds` (sooner when it returns Sooner) until
    `stop`; outages are logged and waited out, and a bug is logged with its traceback and
    the job runs again next time (a loop that ended would stop follow-ups or timers
    silently until a restart)."""
    while not stop.is_set():
        wait = seconds
        try:
            result = await job()
            if isinstance(result, Sooner):
                wait = max(min(result.seconds, seconds), 0.0)
        except OUTAGES as error:
            log.warning("%s: the database or network is away (%s); trying again later",
                        name, type(error).__name__)
        except Exception:
            log.exception("%s failed; it runs again in %g s", name, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
