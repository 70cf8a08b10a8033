"""A manager takes a lead: who may claim, the first claim wins (atomically, in the
database), the claimer gets the lead in their private chat with status buttons, the
prospect is told who will call; then the lead's status as the manager sets it (the machine
of dialogs.rules.handoff: which status may follow which, lost needs a reason, won asks for
the amount: sales.py); and a manager whose private chat refuses the bot is pointed to it in
the group.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.handoff.cards import Cards
from bot.handoff.desk import Desk, Tapper, utf16
from bot.handoff.sales import Sales
from bot.outbox import messages
from bot.service import callbacks
from dialogs.engine.actions import Button
from dialogs.rules.handoff import CONTACTED, LOST_REASONS, STATUSES, status_step
from storage.deliveries import rows as crm
from storage.schema.tables import Handoff, Lead, OutboxMessage
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
REASONS = {"price": "price_reason", "competitor": "competitor", "no_answer": "no_answer",
           "not_target": "not_target_reason", "other": "other"}  # reason -> its words
assert tuple(REASONS) == LOST_REASONS


class Claims:
    def __init__(self, desk: Desk, cards: Cards) -> None:
        self.desk, self.cards = desk, cards
        self.sales = Sales(desk, self.status_buttons)

    def is_manager(self, tap: Tapper, route_name: str | None = None) -> bool:
        """Managers tap in the managers' chats (only members see those), and are on the
        list of their route, or of LEADBOT_MANAGER_IDS, when one is given."""
        config = self.desk.config
        chats = {config.chat_id, config.escalation_chat_id} - {None}
        chats |= config.routing.chats()
        in_chat = tap.chat_id in chats or (tap.chat_id == tap.user_id)
        route = next((r for r in config.routing.routes if r.name == route_name), None)
        if route is not None and route.managers:
            return in_chat and route.may_claim(tap.user_id)
        allowed = not config.manager_ids or tap.user_id in config.manager_ids
        return in_chat and allowed

    async def claim(self, uow: UnitOfWork, tap: Tapper, name: str, handoff_id: int,
                    now: datetime) -> None:
        desk = self.desk
        route = await uow.handoffs.route_of(handoff_id)
        if not self.is_manager(tap, route) or tap.chat_id == tap.user_id:
            log.warning("claim refused: user %s is not a manager (chat %s)", tap.user_id,
                        tap.chat_id)
            desk.answer(uow, tap, desk.words_for(tap)["not_manager"], alert=True)
            return
        won, handoff = await uow.handoffs.claim(handoff_id, tap.user_id, name, now)
        if handoff is None:
            desk.answer(uow, tap)
            return
        if not won:
            desk.answer(uow, tap, desk.words["taken"].format(name=handoff.claimed_by_name),
                        alert=True)
            return
        desk.answer(uow, tap, desk.words["yours"])
        await self.cards.refresh(uow, handoff.card_id)
        await self.claimed(uow, handoff, await uow.session.get(Lead, handoff.lead_id), now,
                           "claimed")

    async def claimed(self, uow: UnitOfWork, handoff: Handoff, lead: Lead | None,
                      now: datetime, kind: str) -> None:
        """A manager has the lead (claimed, or assigned by a route): the prospect is told
        who, the manager gets it privately with the status buttons."""
        desk = self.desk
        manager, name = handoff.claimed_by, handoff.claimed_by_name or ""
        assert manager is not None
        if lead is not None:
            lead.status, lead.updated_at = "claimed", now
        seconds = int((now - handoff.submitted_at).total_seconds())
        desk.event(uow, handoff, kind, now, manager=manager, seconds=seconds,
                   route=handoff.route)
        crm.note(uow, handoff.lead_id, "claimed", now, how=kind)
        desk.to_prospect(uow, handoff, "claimed", name=name.split()[0] if name else "")
        # the lead in the manager's private chat; replying to it writes to the client
        messages.send(uow, manager, f"{handoff.card_text}\n\n{desk.words['reply_hint']}",
                      self.status_buttons(handoff), purpose="lead",
                      conversation_id=handoff.conversation_id, lead_id=handoff.lead_id)

    def status_buttons(self, handoff: Handoff) -> tuple:
        w = self.desk.words
        return tuple((Button(text=w[s], data=callbacks.status(handoff.id or 0, s)),)
                     for s in STATUSES)

    async def status(self, uow: UnitOfWork, tap: Tapper, press: callbacks.SetStatus,
                     now: datetime) -> None:
        desk = self.desk
        w = desk.words
        handoff = await uow.handoffs.get(press.handoff_id)
        status, reason = press.status, press.reason
        if handoff is None or status not in STATUSES or (reason and reason not in REASONS):
            desk.answer(uow, tap)
            return
        if handoff.claimed_by != tap.user_id:
            desk.answer(uow, tap, desk.words_for(tap)["not_yours"], alert=True)
            return
        step = status_step(handoff.status, status, reason)
        if step == "not_now":
            current = w.get(handoff.status, handoff.status)
            desk.answer(uow, tap, w["not_now"].format(status=current), alert=True)
            return
        if step == "ask_reason":  # first the reason
            desk.answer(uow, tap)
            buttons = tuple((Button(text=w[label], data=callbacks.status(
                handoff.id or 0, "lost", key)),) for key, label in REASONS.items())
            desk.edit(uow, tap, f"{handoff.card_text}\n\n{w['lost_why']}", buttons,
                      handoff.lead_id)
            return
        handoff.status, handoff.status_at, handoff.lost_reason = status, now, reason
        if status in CONTACTED and handoff.first_contact_at is None:
            handoff.first_contact_at = now
        lead = await uow.session.get(Lead, handoff.lead_id)
        fell = self.sales.fell_through(lead) if status == "lost" else None  # won, then lost
        if lead is not None:
            lead.status, lead.updated_at = status, now
        crm.note(uow, handoff.lead_id, "status", now, status=status, reason=reason)
        label = w[status] + (f" ({w[REASONS[reason]]})" if reason else "")
        desk.answer(uow, tap, w["status_set"].format(status=label))
        desk.edit(uow, tap, f"{handoff.card_text}\n\n{self.sales.status_line(label, lead)}",
                  self.status_buttons(handoff), handoff.lead_id)
        if status == "won":
            self.sales.won(uow, handoff, lead, now)
        claimed = handoff.claimed_at or now
        desk.event(uow, handoff, "lead_status", now, status=status, reason=reason,
                   since_claim=int((now - claimed).total_seconds()),
                   since_submission=int((now - handoff.submitted_at).total_seconds()),
                   **({"fell_through": fell} if fell is not None else {}))

    async def unreachable(self, uow: UnitOfWork, row: OutboxMessage) -> None:
        """A manager's private chat refused the lead: the group is told, with the link
        that opens the chat; the lead's messages wait for it."""
        handoff = await uow.handoffs.of_lead(row.lead_id)
        if handoff is None:
            return
        name = handoff.claimed_by_name or str(row.chat_id)
        username = self.desk.bot_username
        link = f"https://t.me/{username}?start=manager" if username else ""
        text = self.desk.words["start_me"].format(name=name, link=link).strip()
        messages.send(uow, handoff.chat_id, text, preview=False, entities=[
            {"type": "text_link", "offset": 0, "length": utf16(name),
             "url": f"tg://user?id={row.chat_id}"}])
        self.desk.event(uow, handoff, "manager_unreachable", row.created_at,
                        manager=row.chat_id)
