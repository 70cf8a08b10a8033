"""A won sale and its amount, from the manager holding the lead.

The "won" tap (claims.py) sets `leads.won_at` and asks the manager, in their private chat,
for the amount: a prompt with Telegram's ForceReply (an outbox row of purpose "amount",
with the lead's id, is how a reply finds its lead). A reply to that prompt is read by
dialogs.rules.amounts in the managers' language and LEADBOT_CURRENCY, recorded on the lead
(`amount` in hundredths, `currency`), answered ("Recorded: 150 000 RUB"), shown on the
manager's copy of the lead (its status line), written as a `sale` event and sent to the
CRMs (a `sale` delivery). A second reply corrects it. A reply that is not an amount gets a
polite line that is itself a prompt: the question stays open. Such replies are never
relayed to the prospect (relay.py answers replies to the lead and to relayed words only).

A won that later goes lost fell through (`fell_through`): `won_at`, `amount` and `currency`
are cleared, so a lead's amount is always a sale that stands; what was recorded stays in
the `sale` event and goes into the `lead_status` event of the loss.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.handoff.desk import Desk
from bot.outbox import messages
from dialogs.engine.actions import Keyboard
from dialogs.rules.amounts import format_amount, parse_amount, to_minor
from storage.deliveries import rows as crm
from storage.schema.tables import Event, Handoff, Lead
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
PURPOSE = "amount"  # the outbox row of the question: a reply to it is an amount
EXAMPLE, CENTS = 15_000_000, 15_000_050  # "150 000" and "150 000,50", in hundredths


class Sales:
    def __init__(self, desk: Desk, buttons: Callable[[Handoff], Keyboard]) -> None:
        self.desk, self.buttons = desk, buttons

    @property
    def currency(self) -> str:
        return self.desk.config.currency

    def amount(self, minor: int) -> str:
        return format_amount(minor, self.desk.config.language)

    def status_line(self, label: str, lead: Lead | None) -> str:
        """The lead's status as its manager's copy shows it, with the sale's amount once
        there is one: `Status: 🏆 Won · 150 000 RUB`."""
        line = f"{self.desk.words['status']}: {label}"
        if lead is not None and lead.won_at is not None and lead.amount is not None:
            line += f" · {self.amount(lead.amount)} {lead.currency or self.currency}"
        return line

    def won(self, uow: UnitOfWork, handoff: Handoff, lead: Lead | None,
            now: datetime) -> None:
        """The won tap: the sale's time, then the question of its amount."""
        if lead is not None:
            lead.won_at = now
        self.ask(uow, handoff, "amount_ask")

    @staticmethod
    def fell_through(lead: Lead | None) -> dict[str, Any] | None:
        """A won lead is lost after all: the sale is gone from the lead (what it was, for
        the loss's event). None: there was no sale to undo."""
        if lead is None or lead.won_at is None:
            return None
        was = {"amount": lead.amount, "currency": lead.currency}
        lead.won_at = lead.amount = lead.currency = None
        return was

    def ask(self, uow: UnitOfWork, handoff: Handoff, key: str) -> None:
        """The question (or, after a reply that is not an amount, the question again) with
        ForceReply: the manager's app opens a reply to it."""
        if handoff.claimed_by is None:
            return
        w = self.desk.words
        text = w[key].format(currency=self.currency, example=self.amount(EXAMPLE),
                             cents=self.amount(CENTS))
        markup = {"force_reply": True,
                  "input_field_placeholder": w["amount_hint"].format(currency=self.currency)}
        messages.send(uow, handoff.claimed_by, text, markup=markup, purpose=PURPOSE,
                      conversation_id=handoff.conversation_id, lead_id=handoff.lead_id)

    async def replied(self, uow: UnitOfWork, chat_id: int, user_id: int, message_id: int,
                      text: str, now: datetime) -> bool:
        """A reply in a manager's chat to the amount's question: read and recorded, or
        answered why not. False: not a reply to such a question (nothing done)."""
        lead_id = await uow.handoffs.asked(chat_id, message_id, PURPOSE)
        if lead_id is None:
            return False
        w = self.desk.words
        handoff = await uow.handoffs.locked(lead_id)
        if handoff is None:
            return True
        if handoff.claimed_by != user_id:
            log.warning("amount refused: user %s does not hold lead %s", user_id, lead_id)
            messages.send(uow, chat_id, w["not_yours"])
            return True
        lead = await uow.session.get(Lead, lead_id)
        if lead is None or lead.erased_at is not None:  # /forget or retention: nothing kept
            messages.send(uow, chat_id, w["amount_erased"])
            return True
        if handoff.status != "won":  # lost since: a sale that fell through has no amount
            status = w.get(handoff.status, handoff.status)
            messages.send(uow, chat_id, w["amount_not_won"].format(status=status))
            return True
        amount = parse_amount(text, self.desk.config.language, self.currency)
        if amount is None:
            self.ask(uow, handoff, "amount_bad")
            return True
        await self.record(uow, handoff, lead, amount, user_id, now)
        return True

    async def record(self, uow: UnitOfWork, handoff: Handoff, lead: Lead, amount: Decimal,
                     manager: int, now: datetime) -> None:
        w, minor, currency = self.desk.words, to_minor(amount), self.currency
        was, was_currency = lead.amount, lead.currency or currency
        said = self.amount(minor)
        if was is not None and (was, was_currency) != (minor, currency):
            answer = w["amount_fixed"].format(amount=said, currency=currency,
                                              was=f"{self.amount(was)} {was_currency}")
        else:
            answer = w["amount_set"].format(amount=said, currency=currency)
        chat_id = handoff.claimed_by or manager
        messages.send(uow, chat_id, answer, lead_id=lead.id)
        if (was, was_currency) == (minor, currency):
            return  # the same amount again: nothing new to record or send
        lead.amount, lead.currency, lead.updated_at = minor, currency, now
        if lead.won_at is None:
            lead.won_at = handoff.status_at or now
        uow.stage(Event, user_id=handoff.user_id, conversation_id=handoff.conversation_id,
                  kind="sale", flow_id=lead.flow_id, flow_version=lead.flow_version,
                  source=lead.source, campaign=lead.campaign, created_at=now,
                  data={"handoff": handoff.id, "lead": lead.id, "amount": minor,
                        "currency": currency, "manager": manager, "corrected": was})
        crm.note(uow, lead.id, "sale", now, amount=minor, currency=currency,
                 manager_id=manager, corrected=was is not None)
        message_id = await uow.handoffs.lead_message(chat_id, lead.id or 0)
        messages.edit(uow, chat_id, message_id,
                      f"{handoff.card_text}\n\n{self.status_line(w['won'], lead)}",
                      self.buttons(handoff), lead_id=lead.id)
