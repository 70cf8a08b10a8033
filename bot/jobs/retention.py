"""The retention job: personal data kept no longer than LEADBOT_RETENTION_DAYS.

May import: storage, bot.jobs. Never a Telegram library.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.jobs.context import Running
from storage.privacy import erasure
from storage.schema.tables import utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)


async def anonymise_expired(app: Running, now: datetime | None = None) -> int:
    """The retention job: conversations (and their leads) untouched for
    LEADBOT_RETENTION_DAYS are anonymised as /forget does. Returns how many."""
    now = now or utcnow()
    before = now - timedelta(days=app.settings.retention_days)
    done = 0
    while True:
        async with UnitOfWork(app.sessions) as uow:
            found = await erasure.expired(uow, before)
            for user_id, ids in found.items():
                receipt = await erasure.erase(uow, user_id, now=now, reason="retention",
                                              conversation_ids=ids)
                await app.service.handoffs.erased(uow, user_id, ids, receipt.shown)
            await uow.commit()
        done += sum(len(ids) for ids in found.values())
        if not found:
            break
    if done:  # the edits of what managers were shown go now; old copies: the SQLite log,
        app.sender.wake()  # PostgreSQL's dead tuples
        await erasure.purge_old_copies(app.engine, vacuum=True)
        log.info("retention: anonymised %s conversations older than %s days", done,
                 app.settings.retention_days)
    return done
