"""`GET /b/<token>`: a broadcast's link button, tapped (bot/jobs/broadcast_links.py). Public,
no token, in polling and webhook mode alike: records the tap on the recipient (their first
of that button; their broadcast's results count people per button) with a `broadcast_tap`
event, and answers 302 to the button's URL as the broadcast's definition has it.

Not counted, still led on: HEAD requests, crawlers and link previews (bot/web/go.py's
list), a token whose signature is wrong (a number changed by hand), taps beyond
go.CLICKS_PER_SECOND in this process, and a tap when the database is away (the visitor is
not kept from the link for a count). Nothing of the request is kept: no address, no user
agent. A token of no broadcast, or of a button that is not a link: 404.

May import: bot.jobs.broadcast_links, bot.web, storage, dialogs.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.broadcast_links import PATH, Links, Tap
from bot.web.go import NO_STORE, Bucket, is_crawler, not_found
from dialogs.broadcasts.schema import from_dict, source_of
from storage.schema.tables import Event, utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)


class Taps:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], links: Links,
                 bucket: Bucket | None = None) -> None:
        self.sessions, self.links = sessions, links
        self.bucket = bucket or Bucket()
        self.counted = self.skipped = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.handle)  # HEAD too (aiohttp's allow_head)

    async def _count(self, tap: Tap, name: str) -> None:
        async with UnitOfWork(self.sessions) as uow:
            recipient = await uow.broadcasts.tap_link(tap.recipient_id, tap.broadcast_id,
                                                      tap.index)
            if recipient is None:  # tapped before, or not its recipient: nothing to write
                self.skipped += 1
                return
            uow.stage(Event, user_id=recipient.user_id, kind="broadcast_tap",
                      source=source_of(name), created_at=utcnow(),
                      data={"broadcast": name, "button": tap.index, "link": True})
            await uow.commit()
            self.counted += 1

    async def handle(self, request: web.Request) -> web.Response:
        tap = self.links.read(request.match_info["token"])
        if tap is None:
            return not_found(request)
        count = (tap.genuine and request.method == "GET"
                 and not is_crawler(request.headers.get("User-Agent", "")))
        try:
            async with UnitOfWork(self.sessions, reading=True) as uow:  # no write lock
                broadcast = await uow.broadcasts.get(tap.broadcast_id)
                name = None if broadcast is None else broadcast.name
                target = None if broadcast is None else _url(broadcast.definition, tap.index)
        except SQLAlchemyError as error:  # the database is away: /readyz says so too
            log.warning("/b/: the link was not read: %s", type(error).__name__)
            return web.Response(status=503, text="try again", headers=NO_STORE)
        if name is None or target is None:
            return not_found(request)
        if count and self.bucket.take():
            try:
                await self._count(tap, name)
            except SQLAlchemyError as error:  # the person still goes on to the link
                log.warning("/b/: a link's tap was not recorded: %s", type(error).__name__)
        else:
            self.skipped += 1
        return web.Response(status=302, headers={**NO_STORE, "Location": target})


def _url(definition: dict[str, Any], index: int) -> str | None:
    """The URL of the broadcast's button `index`, if it is a link button (an https URL:
    the broadcast's checks allow no other)."""
    buttons = from_dict(definition).message.buttons
    if not 0 <= index < len(buttons):
        return None
    return buttons[index].url
