"""The inbound routes on the bot's web server (bot/web/server.py):

- `POST /crm/bitrix24`: Bitrix24's outbound webhook; 404 without LEADBOT_BITRIX24_APP_TOKEN,
  401 without a token, 403 with another; the notification is stored (200) and read back.
  Bitrix24 tells of every lead edited in the portal: a lead leadbot did not make (no
  crm_links row: leadbot links each lead it creates) is answered 200 and neither stored
  nor read back. A deal always is (its LEAD_ID may be leadbot's).
- `POST /crm/amocrm/<secret>`: amoCRM's webhook; 404 for any other path (and while
  LEADBOT_AMOCRM_HOOK_SECRET is unset); stored (200) and read back.
- `POST /crm/events`: the signed generic hook; 404 without LEADBOT_INBOUND_SECRET, 401 for
  a signature or timestamp that does not hold; applied at once (it says the status itself);
  a delivery id seen before: 200, nothing done again.

A body that is not what it should be (not a form / not JSON, over 64 KiB, not UTF-8, a NUL
byte, a field missing) is refused (400, 413, 415) before anything is stored. An unknown
lead is answered 200 (the CRM would retry forever) and recorded as `unknown_lead`. No
answer says more than its status and a word; nothing of a request is logged but that.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries.crm.inbound import forms
from bot.deliveries.crm.inbound.apply import Context, apply
from bot.deliveries.crm.inbound.reader import Reader
from storage.deliveries import links, sales
from storage.schema.tables import utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)


def _no(status: int, why: str) -> web.Response:
    return web.json_response({"ok": False, "error": why}, status=status)


class Inbound:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], context: Context, *,
                 reader: Reader | None, bitrix24_token: str | None = None,
                 amocrm_secret: str | None = None, events_secret: str | None = None,
                 on_commit: Any = lambda: None, on_outbox: Any = lambda: None) -> None:
        self.sessions, self.context, self.reader = sessions, context, reader
        self.bitrix24_token, self.amocrm_secret = bitrix24_token, amocrm_secret
        self.events_secret = events_secret
        self.on_commit, self.on_outbox = on_commit, on_outbox

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/crm/bitrix24", self.bitrix24)
        app.router.add_post("/crm/amocrm/{secret}", self.amocrm)
        app.router.add_post("/crm/events", self.events)

    async def _notify(self, target: str, notices: list[forms.Notice]) -> web.Response:
        now = utcnow()
        async with UnitOfWork(self.sessions) as uow:
            for notice in notices:
                await sales.notify(uow, target, notice.key, now)
            await uow.commit()
        if self.reader is not None:
            self.reader.wake()
        return web.json_response({"ok": True})

    async def bitrix24(self, request: web.Request) -> web.Response:
        if not self.bitrix24_token:
            raise web.HTTPNotFound()
        try:
            fields = forms.form(await forms.body(request, forms.FORM))
            notice = forms.bitrix24(fields, self.bitrix24_token)
        except forms.Refused as refused:
            log.warning("crm inbound: bitrix24 refused: %s", refused.why)
            return _no(refused.status, refused.why)
        if notice.entity == "lead":
            async with UnitOfWork(self.sessions) as uow:
                ours = await links.lead_of(uow, "bitrix24", notice.id)
            if ours is None:  # another lead of the portal: nothing of leadbot's
                return web.json_response({"ok": True, "result": "not ours"})
        return await self._notify("bitrix24", [notice])

    async def amocrm(self, request: web.Request) -> web.Response:
        if not self.amocrm_secret or not forms.same(request.match_info["secret"],
                                                    self.amocrm_secret):
            raise web.HTTPNotFound()
        try:
            notices = forms.amocrm(forms.form(await forms.body(request, forms.FORM)))
        except forms.Refused as refused:
            log.warning("crm inbound: amocrm refused: %s", refused.why)
            return _no(refused.status, refused.why)
        return await self._notify("amocrm", notices)

    async def events(self, request: web.Request) -> web.Response:
        if not self.events_secret:
            raise web.HTTPNotFound()
        try:
            raw = await forms.body(request, "application/json")
            event = forms.event(raw, request.headers, self.events_secret)
        except forms.Refused as refused:
            log.warning("crm inbound: events refused: %s", refused.why)
            return _no(refused.status, refused.why)
        try:
            async with UnitOfWork(self.sessions) as uow:
                outcome = await apply(uow, self.context, "events", event.delivery,
                                      event.lead_id, event.said, utcnow())
                await uow.commit()
        except IntegrityError:  # the same delivery at the same moment: the other has it
            return web.json_response({"ok": True, "result": "repeat"})
        self.on_commit()
        if outcome.alert_chat is not None:
            self.on_outbox()
        return web.json_response({"ok": True, "result": outcome.result})
