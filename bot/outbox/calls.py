"""The Bot API call for an outbox row (the sender's, bot/outbox/sender.py): within
Telegram's length limits, an edit given the id of the message it changes (from memory, or
read from the outbox). A card or a card's edit, which a new lead or a claim may rewrite in
place while it waits (bot/handoff/cards.py), is marked called before its call and goes as
stored then (`_called`): memory's copy may be older than the last rewrite.

May import: storage, bot.outbox; no Telegram library.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox import textlimits
from bot.outbox.marks import Mark, Marks
from bot.outbox.pending import Known, MessageIds, Row
from bot.outbox.port import Call
from storage.work import owners
from storage.work.uow import UnitOfWork


class Calls:
    """A base class of the Sender."""

    sessions: async_sessionmaker[AsyncSession]
    ids: MessageIds
    marks: Marks
    holder: owners.Holder | None
    clock: Callable[[], datetime]

    # the Sender's own and its other base's (outcomes.py); not defined here, so that
    # neither is shadowed in the Sender's method order
    _marked: Callable[[list[Mark]], None]
    _export: Callable[[dict], Awaitable[Call]]

    async def _call_for(self, row: Row) -> tuple[Call | None, dict | None]:
        """The Bot API call for a row, within Telegram's length limits, and what of the
        row remains to send after it (a long text's next parts), if anything. None if the
        message an edit is for was never sent."""
        payload = dict(row.payload)
        method = row.method
        if "export_of" in payload:
            return await self._export(payload), None
        if method.startswith("edit") and "message_id" not in payload:
            original = self.ids.for_edit(row) or await self._stored_original(row)
            if original is None:
                return None, None
            payload["message_id"] = original.message_id
            if original.method in ("sendDocument", "sendPhoto"):  # a file's text: its caption
                method = "editMessageCaption"
                payload["caption"] = payload.pop("text")
        method, payload, rest = textlimits.fit(method, payload)
        return Call(method, payload), rest

    async def _called(self, row: Row) -> bool:
        """A card or a card's edit: marked called (committed), its payload as stored now.
        False: not pending any more (dropped, erased) or not this sender's: not sent."""
        if row.purpose != "card" and row.edit_of is None:
            return True
        me = None if self.holder is None else self.holder.number
        async with UnitOfWork(self.sessions) as uow:
            stored = await uow.outbox.call(row.id, self.clock(), me)
            await uow.commit()
        if stored is not None:
            row.payload, row.lead_id = stored
        return stored is not None

    async def _stored_original(self, row: Row) -> Known | None:
        """What an edit changes, from the outbox (after a restart, or an old message):
        the accepted rows are marked first, so the read sees them."""
        self._marked(await self.marks.flush())
        async with UnitOfWork(self.sessions) as uow:
            if row.edit_of is not None:
                original = await uow.outbox.get(row.edit_of)
            elif row.conversation_id is not None and row.step is not None:
                original = await uow.outbox.sent_for_step(row.conversation_id, row.step,
                                                          row.id)
            else:
                original = None
        if original is None or original.telegram_message_id is None:
            return None
        assert original.id is not None
        return Known(original.id, original.telegram_message_id, original.method)
