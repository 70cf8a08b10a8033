"""The clean-up job: old outbox rows, update ids and delivery events deleted in batches,
and the CRM notifications that only grow (storage/deliveries/sales.py `prune`: kept
KEEP_DAYS, far longer than the signed hook's 5-minute timestamp window).

May import: storage, bot.jobs. Never a Telegram library.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.jobs.context import Running
from storage.deliveries import rows as crm
from storage.deliveries import sales
from storage.schema.tables import utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
PRUNE_BATCH = 5000  # outbox rows deleted per transaction


async def prune(app: Running, now: datetime | None = None) -> dict[str, int]:
    """The clean-up job: sent (and failed, dropped) outbox rows, update ids and delivery
    events older than LEADBOT_PRUNE_AFTER_DAYS are deleted, in batches; the rows still
    needed and every event of the funnel are kept (storage/work/outbox.py). Returns how
    many rows of each."""
    now = now or utcnow()
    before = now - timedelta(days=app.settings.prune_after_days)
    async with UnitOfWork(app.sessions) as uow:
        removed = {"update ids": await uow.updates.prune(before),
                   "delivery events": await uow.events.prune_delivery(before),
                   "CRM deliveries": await crm.prune(uow, before),
                   "CRM notifications": await sales.prune(
                       uow, now - timedelta(days=sales.KEEP_DAYS)),
                   "outbox rows": 0}
        await uow.commit()
    while True:  # in batches: a first run over a big backlog holds no lock for long
        async with UnitOfWork(app.sessions) as uow:
            batch = await uow.outbox.prune(before, PRUNE_BATCH)
            await uow.commit()
        removed["outbox rows"] += batch
        if batch < PRUNE_BATCH:
            break
    if any(removed.values()):
        log.info("pruned what is older than %s days: %s", app.settings.prune_after_days,
                 ", ".join(f"{count} {what}" for what, count in removed.items()))
    return removed
