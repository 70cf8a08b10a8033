"""`GET /b/<token>`: a broadcast's link button, tapped (bot/jobs/broadcast_links.py). Public,
no token, in polling and webhook mode alike, whenever the bot has its token (the links are
made only with LEADBOT_PUBLIC_URL; served without it, links already sent keep working).
Answers 302 to the button's URL as the broadcast's file wrote it, and counts the person's
first tap of that button on their recipient row (their broadcast's results count people
per button) with a `broadcast_tap` event.

Led on, not counted: HEAD requests, crawlers and link previews (bot/web/go.py's list), a
token whose signature is wrong (a number changed by hand, or a bot token since revoked), a
tap again, taps beyond go.CLICKS_PER_SECOND new ones a second in this process, and anyone
the bot may no longer write to about marketing: unsubscribed from the broadcast, marketing
consent withdrawn, /stop, blocked, erased; a cancelled broadcast counts nothing either.
Nothing of the request is kept: no address, no user agent. A broadcast not sent yet, no
such broadcast or button, or a button that is no link: 404. The database away: the
person is still led on if this process has seen the broadcast since it started (a sent
broadcast's buttons never change), else 503.

May import: bot.jobs.broadcast_links, bot.web, storage, dialogs.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from bot.jobs.broadcast_links import PATH, Tap, read
from bot.web.go import NO_STORE, Bucket, is_crawler, not_found
from dialogs.broadcasts.schema import source_of
from storage.reports.segment import recheck
from storage.schema.tables import Event, utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
NOT_SENT = ("draft", "scheduled")  # nobody has its links yet: a token of one was made up
KNOWN = 256  # sent broadcasts whose links this process keeps in memory
SETTLED = 100_000  # taps decided (counted, or never to be), kept so that a repeat costs nothing


@dataclass(frozen=True)
class _Sent:
    name: str
    urls: tuple[str | None, ...]  # by button index: the link, encoded; None: not a link


class Taps:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], key: bytes,
                 bucket: Bucket | None = None) -> None:
        self.sessions, self.key = sessions, key
        self.bucket = bucket or Bucket()
        self.counted = self.skipped = 0
        self._sent: OrderedDict[int, _Sent] = OrderedDict()
        self._settled: set[tuple[int, int, int]] = set()

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.handle)  # HEAD too (aiohttp's allow_head)

    async def handle(self, request: web.Request) -> web.Response:
        tap = read(self.key, request.match_info["token"])
        if tap is None:
            return not_found(request)
        try:
            sent = await self._broadcast(tap.broadcast_id)
        except SQLAlchemyError as error:  # the database is away: /readyz says so too
            log.warning("/b/: the broadcast was not read: %s", type(error).__name__)
            return web.Response(status=503, text="try again", headers=NO_STORE)
        target = None if sent is None or tap.index >= len(sent.urls) else sent.urls[tap.index]
        if sent is None or target is None:
            return not_found(request)
        once = (tap.broadcast_id, tap.recipient_id, tap.index)
        if (tap.genuine and request.method == "GET" and once not in self._settled
                and not is_crawler(request.headers.get("User-Agent", ""))
                and self.bucket.take()):
            try:
                await self._count(tap, sent.name)
                if len(self._settled) >= SETTLED:
                    self._settled.clear()
                self._settled.add(once)
            except SQLAlchemyError as error:  # the person still goes on to the link
                log.warning("/b/: a link's tap was not recorded: %s", type(error).__name__)
        else:
            self.skipped += 1
        return web.Response(status=302, headers={**NO_STORE, "Location": target})

    async def _broadcast(self, broadcast_id: int) -> _Sent | None:
        """The sent broadcast's name and links (None: none, or not sent yet)."""
        known = self._sent.get(broadcast_id)
        if known is not None:
            self._sent.move_to_end(broadcast_id)
            return known
        async with UnitOfWork(self.sessions, reading=True) as uow:  # no write lock
            broadcast = await uow.broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.status in NOT_SENT:
                return None
            known = _Sent(broadcast.name, urls(broadcast.definition))
        self._sent[broadcast_id] = known
        if len(self._sent) > KNOWN:
            self._sent.popitem(last=False)
        return known

    async def _count(self, tap: Tap, name: str) -> None:
        async with UnitOfWork(self.sessions) as uow:
            broadcast = await uow.broadcasts.get(tap.broadcast_id)
            recipient = None if broadcast is None or broadcast.status == "cancelled" else (
                await uow.broadcasts.tap_link(tap.recipient_id, tap.broadcast_id, tap.index))
            if recipient is not None and (await recheck(
                    uow.session, [recipient.user_id]))[recipient.user_id] is not None:
                recipient = None  # no marketing consent now, stopped, blocked or erased
            if recipient is None:  # not its recipient, tapped before, or not to be counted
                self.skipped += 1
                return
            uow.stage(Event, user_id=recipient.user_id, kind="broadcast_tap",
                      source=source_of(name), created_at=utcnow(),
                      data={"broadcast": name, "button": tap.index, "link": True})
            await uow.commit()
            self.counted += 1


def urls(definition: dict[str, Any]) -> tuple[str | None, ...]:
    """Each button's link as the stored definition has it (read as JSON, not through the
    schema: a definition an older release wrote still leads on), percent-encoded for the
    Location header (a Cyrillic domain in its IDNA form); None for a button that is no
    https link."""
    message = definition.get("message") if isinstance(definition, dict) else None
    buttons = message.get("buttons") if isinstance(message, dict) else None
    found: list[str | None] = []
    for button in buttons if isinstance(buttons, list) else ():
        url = button.get("url") if isinstance(button, dict) else None
        try:
            found.append(str(URL(url)) if isinstance(url, str)
                         and url.startswith("https://") else None)
        except ValueError:
            found.append(None)
    return tuple(found)
