"""The retention job: personal data kept no longer than LEADBOT_RETENTION_DAYS.

May import: storage, bot.jobs. Never a Telegram library.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.jobs.context import Running
from storage.privacy import erasure
from storage.schema.tables import utcnow
from storage.work import tracking
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)


async def anonymise_expired(app: Running, now: datetime | None = None) -> int:
    """The retention job: conversations (and their leads) untouched for
    LEADBOT_RETENTION_DAYS are anonymised as /forget does, and clicks of tracking links
    that old which started no conversation lose their click ids. Returns how many
    conversations."""
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
    async with UnitOfWork(app.sessions) as uow:  # clicks that started no conversation
        cleared = await tracking.expire_clicks(uow.session, before)
        await uow.commit()
    if cleared:
        log.info("retention: %s clicks older than %s days lost their click ids", cleared,
                 app.settings.retention_days)
    if done or cleared:  # the edits of what managers were shown go now; old copies: the
        app.sender.wake()  # SQLite log, PostgreSQL's dead tuples
        await erasure.purge_old_copies(app.engine, vacuum=True)
    if done:
        log.info("retention: anonymised %s conversations older than %s days", done,
                 app.settings.retention_days)
    return done
