"""Manager and prospect talking through the bot: a manager's reply to the lead (or to a
relayed message) goes to the prospect, the prospect's messages go back while the relay is
on, either side ends it with a button; erasure ends it for good.
"""

from __future__ import annotations

from datetime import datetime

from bot.handoff.desk import Desk, Tapper
from bot.outbox import messages, textlimits
from bot.service import callbacks
from bot.texts import PROSPECT_HANDOFF, language_of
from dialogs.engine.actions import Button
from storage.schema.tables import Handoff, Lead
from storage.work.uow import UnitOfWork


class Relay:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def replied_to(self, uow: UnitOfWork, chat_id: int,
                         message_id: int) -> Handoff | None:
        """The hand-off whose lead (or relayed message) a manager replied to, if any."""
        return await uow.handoffs.replied_to(chat_id, message_id)

    async def from_manager(self, uow: UnitOfWork, handoff: Handoff, manager: int,
                           name: str, text: str, now: datetime) -> None:
        w = self.desk.words
        if handoff.claimed_by != manager:
            messages.send(uow, manager, w["not_your_chat"])
            return
        lead = await uow.session.get(Lead, handoff.lead_id)
        if lead is None or lead.erased_at is not None:  # /forget or retention ended it
            messages.send(uow, manager, w["relay_erased"])
            return
        prospect = await uow.prospects.lock(handoff.user_id)
        if prospect is None:
            return
        if prospect.relay_handoff_id != handoff.id:
            prospect.relay_handoff_id = handoff.id
            self.desk.event(uow, handoff, "relay_started", now, manager=manager)
        words = PROSPECT_HANDOFF[language_of(handoff.language)]
        messages.send(uow, prospect.chat_id,
                      words["relay"].format(name=name.split()[0] if name else "", text=text),
                      self._end(words["end_chat"], handoff), purpose="relay",
                      conversation_id=handoff.conversation_id, lead_id=handoff.lead_id)
        self.desk.event(uow, handoff, "relay_message", now, side="manager")

    async def from_prospect(self, uow: UnitOfWork, handoff_id: int, text: str | None,
                            kind: str, now: datetime) -> bool:
        """A prospect's message during a relay goes to their manager. False: no relay."""
        handoff = await uow.handoffs.get(handoff_id)
        if handoff is None or handoff.claimed_by is None:
            return False
        w = self.desk.words
        lead = await uow.session.get(Lead, handoff.lead_id)
        if lead is None or lead.erased_at is not None:  # erased: the relay is over
            return False
        who = lead.name or f"#{handoff.id}"
        body = text if text is not None else w["relay_media"].format(kind=kind)
        # A long text goes as several messages, each a row of its own: erasure edits every
        # message by its id (a row split by the sender would keep only its last part's).
        room = textlimits.TEXT - textlimits.units(w["relay_from"].format(name=who, text=""))
        pieces = textlimits.parts(body, max(room, 1))
        for number, piece in enumerate(pieces, 1):
            messages.send(uow, handoff.claimed_by, w["relay_from"].format(name=who, text=piece),
                          self._end(w["end_chat"], handoff) if number == len(pieces) else (),
                          purpose="relay", conversation_id=handoff.conversation_id,
                          lead_id=handoff.lead_id)
        self.desk.event(uow, handoff, "relay_message", now, side="prospect")
        return True

    async def end(self, uow: UnitOfWork, tap: Tapper, handoff_id: int, now: datetime) -> None:
        handoff = await uow.handoffs.get(handoff_id)
        if handoff is None or tap.user_id not in (handoff.claimed_by, handoff.user_id):
            self.desk.answer(uow, tap)
            return
        self.desk.answer(uow, tap)
        prospect = await uow.prospects.lock(handoff.user_id)
        if prospect is None or prospect.relay_handoff_id != handoff.id:
            return
        prospect.relay_handoff_id = None
        language = language_of(handoff.language)
        self.desk.to_prospect(uow, handoff, "relay_ended")
        if handoff.claimed_by is not None:
            messages.send(uow, handoff.claimed_by, self.desk.words["relay_ended"])
        self.desk.event(uow, handoff, "relay_ended", now, by="prospect" if tap.user_id ==
                        handoff.user_id else "manager", language=language)

    @staticmethod
    def _end(label: str, handoff: Handoff) -> tuple:
        return ((Button(text=label, data=callbacks.end_relay(handoff.id or 0)),),)
