"""The hand-off timers job: SLA reminders and escalations of leads nobody took in time.

May import: storage, bot.jobs. Never a Telegram library.
"""

from __future__ import annotations

from datetime import datetime

from bot.jobs.context import Running
from storage.schema.tables import utcnow
from storage.work.uow import UnitOfWork


async def handoff_timers(app: Running, now: datetime | None = None) -> int:
    """SLA reminders and escalations that are due (durable rows: they fire after a
    restart too). Returns how many leads were handled."""
    async with UnitOfWork(app.sessions) as uow:
        fired = await app.service.handoffs.tick(uow, now or utcnow())
        await uow.commit()
    if fired:
        app.sender.wake()
    return fired
