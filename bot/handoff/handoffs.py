"""Hot leads to the sales managers, in one object the service and the jobs hold: it hands
a qualified lead off (announce: the route, a manager assigned or the card posted, the
after-hours word to the prospect), and passes everything else to its parts: cards.py (the
card and digests), claims.py (claims and statuses; sales.py: a won sale's amount), relay.py
(manager <-> prospect), sla.py (reminders, escalation). Decisions are
dialogs.rules.handoff's; queries are storage's.

Everything here runs inside the transaction of the update (or timer tick) that caused it;
messages are outbox rows, so the card goes out the moment the transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from bot.handoff.cards import CARD_TEXT, DIGEST_SIZE, Cards
from bot.handoff.claims import Claims
from bot.handoff.desk import Desk, HandoffConfig
from bot.handoff.relay import Relay
from bot.handoff.sla import Timers
from bot.service import callbacks
from bot.service.intents import ManagerTap
from dialogs.engine.actions import Action, RecordQualification
from dialogs.engine.state import State
from dialogs.format.schema import Flow
from dialogs.rules.handoff import IN_HAND, Assignment, pick_manager
from dialogs.rules.routing import Manager, Route, facts
from storage.deliveries import rows as crm
from storage.schema.tables import Conversation, Event, Handoff, Lead, OutboxMessage
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
__all__ = ["CARD_TEXT", "DIGEST_SIZE", "HandoffConfig", "Handoffs", "ManagerTap"]


class Handoffs:
    def __init__(self, config: HandoffConfig) -> None:
        self.desk = Desk(config)
        self.cards = Cards(self.desk)
        self.claims = Claims(self.desk, self.cards)
        self.relay = Relay(self.desk)
        self.timers = Timers(self.desk, self.cards)

    @property
    def config(self) -> HandoffConfig:
        return self.desk.config

    @property
    def bot_username(self) -> str:
        return self.desk.bot_username

    @bot_username.setter
    def bot_username(self, value: str) -> None:
        self.desk.bot_username = value

    # -- handing a lead off ----------------------------------------------------------------
    def wanted(self, actions: list[Action], consents: Collection[str]
               ) -> RecordQualification | None:
        """The qualification that hands this lead off, if any: never without consent to
        processing (`consents`: the purposes the prospect has agreed to)."""
        return self.cards.wanted(actions, consents)

    async def announce(self, uow: UnitOfWork, conversation: Conversation, state: State,
                       flow: Flow, qualification: RecordQualification, now: datetime,
                       nurtured_since: datetime | None = None) -> None:
        """`nurtured_since`: the lead warmed up through nurture (the card says after how
        long), from when its sequences began."""
        lead = await uow.leads.for_conversation(conversation.id)
        if lead is None or lead.id is None:
            await uow.session.flush()
            lead = await uow.leads.for_conversation(conversation.id)
        assert lead is not None and lead.id is not None
        if self.wanted([qualification], state.consents) is None:
            # No card, no manager, no link to their account without consent to processing
            # (LEADBOT_HANDOFF_ALSO may name the temperature of a prospect who declined).
            log.info("lead %s: not handed off, no consent to processing", lead.id)
            return
        if await uow.handoffs.for_lead(lead.id) is not None:
            return  # one hand-off per lead
        q, config = qualification, self.config
        route = config.routing.route(facts(
            flow=flow.id, tags=q.tags, answers=state.answers, language=state.language,
            temperature=q.temperature, score=q.score, source=conversation.source, sql=q.sql,
            mql=q.mql, target=q.target))
        chat_id = route.chat_id if route and route.chat_id else config.chat_id
        manager = await self.assign(uow, route) if route and route.assign else None
        if chat_id is None and manager is None:
            log.warning("lead %s: no route and no LEADBOT_MANAGERS_CHAT_ID to hand it to",
                        lead.id)
            return
        handoff = Handoff(lead_id=lead.id, conversation_id=conversation.id,
                          user_id=conversation.user_id, chat_id=chat_id or 0,
                          route=route.name if route else None,
                          temperature=q.temperature, language=state.language,
                          submitted_at=now, due_at=self.desk.due(now, q.temperature),
                          created_at=now)
        handoff.card_text = self.cards.text(lead, conversation, state, flow, q, now,
                                            nurtured_since)
        uow.handoffs.add(handoff)
        await uow.session.flush()
        lead.status = "handoff"
        crm.note(uow, lead.id, "handoff", now, route=handoff.route)
        if manager is not None:  # straight to one manager: claimed on their behalf
            handoff.assigned = True
            handoff.claimed_by, handoff.claimed_by_name = manager.id, manager.name or str(
                manager.id)
            handoff.claimed_at = handoff.status_at = now
            handoff.status, handoff.due_at = "claimed", None
        if chat_id is not None:
            await self.cards.post(uow, handoff)
        uow.stage(Event, user_id=conversation.user_id, conversation_id=conversation.id,
                  kind="announced", flow_id=conversation.flow_id,
                  flow_version=conversation.flow_version, source=conversation.source,
                  campaign=conversation.campaign,
                  data={"handoff": handoff.id, "chat": chat_id, "route": handoff.route},
                  created_at=now)
        if manager is not None:
            await self.claims.claimed(uow, handoff, lead, now, "assigned")
        hours = config.hours
        if hours is not None and not hours.is_open(now):
            self.desk.to_prospect(uow, handoff, "after_hours", when=self.desk.when(
                hours.next_opening(now), handoff.language), zone=hours.zone.key)

    async def assign(self, uow: UnitOfWork, route: Route) -> Manager:
        """The route's manager for this lead (round robin, or the least loaded)."""
        managers = list(route.managers)
        ids = [m.id for m in managers]
        if route.assign == "round_robin":
            known = Assignment(last_assigned=await uow.handoffs.last_assigned(route.name))
        else:
            known = Assignment(loads=await uow.handoffs.loads(ids, IN_HAND))
        return pick_manager(route.assign or "", managers, ids, known)

    def card_text(self, lead: Lead, conversation: Conversation, state: State, flow: Flow,
                  q: RecordQualification, now: datetime) -> str:
        return self.cards.text(lead, conversation, state, flow, q, now)

    def render(self, handoffs: list[Handoff], prefix: str = "") -> dict[str, Any]:
        return self.cards.render(handoffs, prefix)

    # -- a manager's buttons ---------------------------------------------------------------
    async def tap(self, uow: UnitOfWork, tap: ManagerTap, now: datetime) -> None:
        press = tap.press
        if isinstance(press, callbacks.Claim):
            await self.claims.claim(uow, tap, tap.name, press.handoff_id, now)
        elif isinstance(press, callbacks.SetStatus):
            await self.claims.status(uow, tap, press, now)
        elif isinstance(press, callbacks.EndRelay):
            await self.relay.end(uow, tap, press.handoff_id, now)
        else:  # forged, or from a bot long gone: answered, nothing else
            self.desk.answer(uow, tap)

    async def unreachable(self, uow: UnitOfWork, row: OutboxMessage) -> None:
        await self.claims.unreachable(uow, row)

    # -- relay -----------------------------------------------------------------------------
    async def lead_replied_to(self, uow: UnitOfWork, chat_id: int,
                              message_id: int) -> Handoff | None:
        return await self.relay.replied_to(uow, chat_id, message_id)

    async def from_manager(self, uow: UnitOfWork, handoff: Handoff, manager: int,
                           name: str, text: str, now: datetime) -> None:
        await self.relay.from_manager(uow, handoff, manager, name, text, now)

    async def amount_replied(self, uow: UnitOfWork, chat_id: int, user_id: int,
                             message_id: int, text: str, now: datetime) -> bool:
        """A manager's reply to the question of a won sale's amount (never relayed)."""
        return await self.claims.sales.replied(uow, chat_id, user_id, message_id, text, now)

    async def from_prospect(self, uow: UnitOfWork, handoff_id: int, text: str | None,
                            kind: str, now: datetime) -> bool:
        return await self.relay.from_prospect(uow, handoff_id, text, kind, now)

    # -- timers and erasure ----------------------------------------------------------------
    async def tick(self, uow: UnitOfWork, now: datetime) -> int:
        return await self.timers.tick(uow, now)

    async def erased(self, uow: UnitOfWork, user_id: int,
                     conversation_ids: list[int] | None = None,
                     shown: Iterable[OutboxMessage] = ()) -> None:
        """`shown`: the erasure receipt's messages in other chats, to edit (erasing.py)."""
        await self.cards.erased(uow, user_id, conversation_ids, shown)
