"""One update, one transaction (DESIGN.md, "One update, end to end").

Record the update id (a duplicate is dropped), lock the prospect, run the engine on the
conversation's pinned flow version, store state / answers / lead / consents / events and
every message to send as outbox rows, commit. Only then may the update be acknowledged.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import logsafe
from bot.handoff.handoffs import HandoffConfig, Handoffs, ManagerTap
from bot.outbox.messages import inline_markup, render
from bot.service.flows import FlowRegistry, RunnableFlow
from bot.service.rights import Operator, Rights
from bot.texts import MENU, language_of
from dialogs.engine.actions import AnswerTap, Button, SetContact
from dialogs.engine.core import step
from dialogs.engine.events import Event, OtherMessage, Restart, Start, Tap, TextMessage
from dialogs.engine.state import State
from storage import privacy
from storage.models import Conversation, OutboxMessage, Prospect, utcnow
from storage.models import Event as EventRow
from storage.record import Recorder
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Bot API: deep-link parameters
MENU_PREFIX = "menu:"


@dataclass(frozen=True)
class Incoming:
    """An update as the service needs it; the transport builds it (bot/telegram/router.py)."""

    update_id: int
    user_id: int
    chat_id: int
    language_code: str | None = None
    event: Event | None = None  # what the engine should hear
    start_payload: str | None = None  # set (maybe "") for /start
    menu_flow: str | None = None  # a tap on the menu
    callback_query_id: str | None = None
    blocked: bool | None = None  # my_chat_member: the prospect blocked / unblocked the bot
    command: str | None = None  # /privacy, /mydata, /stop, /forget (bot/service/rights.py)
    rights_data: str | None = None  # a tap on a confirmation of one of those
    message_id: int | None = None  # the message whose button was tapped
    manager_tap: ManagerTap | None = None  # a manager's Claim or status button
    reply_to: int | None = None  # the message a text replies to (a manager's relay)
    sender_name: str = ""  # first and last name, for a manager's relayed words


def parse_payload(payload: str) -> tuple[str | None, str | None]:
    """`FLOW_ID__SOURCE` -> (flow id, source); `FLOW_ID` -> (flow id, None)."""
    if not payload or not PAYLOAD.match(payload):
        return None, None
    flow_id, _, source = payload.partition("__")
    return flow_id.lower(), source or None


class Service:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], flows: FlowRegistry, *,
                 default_flow: str | None = None, clock: Callable[[], datetime] = utcnow,
                 on_commit: Callable[[], None] = lambda: None,
                 operator: Operator | None = None, handoffs: Handoffs | None = None) -> None:
        self.sessions, self.flows, self.default_flow = sessions, flows, default_flow
        self.handoffs = handoffs or Handoffs(HandoffConfig())
        self.rights = Rights(flows, operator or Operator(), self.handoffs)
        self.clock, self.on_commit = clock, on_commit
        self.handled = self.duplicates = self.ignored = 0

    def ignore(self, update_id: int, why: str) -> None:
        """An update with nothing to do (a message without a sender): logged, counted."""
        self.ignored += 1
        log.info("update %s skipped: %s", update_id, why)

    async def handle(self, incoming: Incoming) -> bool:
        """True when handled, False for a duplicate. Retried once when another process
        created the same prospect at the same moment."""
        try:
            handled = await self._handle(incoming)
        except IntegrityError:
            handled = await self._handle(incoming)
        if handled:
            self.handled += 1
            self.on_commit()
        else:
            self.duplicates += 1
        return handled

    async def _handle(self, incoming: Incoming) -> bool:
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            try:  # the primary key refuses a redelivered update: no separate look-up
                await uow.updates.record(incoming.update_id, now)
            except IntegrityError:
                return False
            if incoming.manager_tap is not None:  # a manager, not a prospect
                await self.handoffs.tap(uow, incoming.manager_tap, now)
                await uow.commit()
                return True
            if await self._manager_reply(uow, incoming, now):
                await uow.commit()
                return True
            if incoming.start_payload is not None and await uow.outbox.release_waiting(
                    incoming.chat_id) and incoming.start_payload == "manager":
                await uow.commit()  # a manager opened the chat: their leads follow
                return True
            prospect, current = await self._prospect(uow, incoming, now)
            erased = False
            if incoming.blocked is not None:
                await self._membership(uow, prospect, incoming.blocked, now)
            elif incoming.command is not None or incoming.rights_data is not None:
                erased = await self._rights(uow, prospect, current, incoming, now)
            else:
                if prospect.blocked:  # they wrote to us: they no longer block the bot
                    prospect.blocked, prospect.updated_at = False, now
                if not await self._relay(uow, prospect, incoming, now):
                    await self._converse(uow, prospect, current, incoming, now)
            await uow.commit()
        if erased:  # the database's own old copies of the erased values go too
            await privacy.purge_old_copies(self.sessions.kw["bind"])
        return True

    async def _prospect(self, uow: UnitOfWork, incoming: Incoming, now: datetime
                        ) -> tuple[Prospect, Conversation | None]:
        prospect, current = await uow.prospects.lock_with_conversation(incoming.user_id)
        if prospect is None:
            prospect = Prospect(user_id=incoming.user_id, chat_id=incoming.chat_id,
                                language=language_of(incoming.language_code),
                                created_at=now, updated_at=now)
            uow.prospects.add(prospect)
            await uow.session.flush()
        return prospect, current

    async def _membership(self, uow: UnitOfWork, prospect: Prospect, blocked: bool,
                          now: datetime) -> None:
        prospect.blocked, prospect.updated_at = blocked, now
        if blocked:
            await uow.outbox.drop_chat(prospect.chat_id, "blocked by the prospect")
        uow.events.add(EventRow(user_id=prospect.user_id, created_at=now,
                                kind="blocked" if blocked else "unblocked"))

    async def _manager_reply(self, uow: UnitOfWork, incoming: Incoming, now: datetime) -> bool:
        """A manager's reply to a lead's card or a relayed message: to the prospect."""
        if incoming.reply_to is None or not isinstance(incoming.event, TextMessage):
            return False
        handoff = await self.handoffs.lead_replied_to(uow, incoming.chat_id, incoming.reply_to)
        if handoff is None or incoming.user_id == handoff.user_id:
            return False
        await self.handoffs.from_manager(uow, handoff, incoming.user_id, incoming.sender_name,
                                         incoming.event.text, now)
        return True

    async def _relay(self, uow: UnitOfWork, prospect: Prospect, incoming: Incoming,
                     now: datetime) -> bool:
        """While a manager talks with the prospect, their messages go to the manager."""
        if prospect.relay_handoff_id is None or not isinstance(
                incoming.event, TextMessage | OtherMessage):
            return False
        text = incoming.event.text if isinstance(incoming.event, TextMessage) else None
        kind = incoming.event.kind if isinstance(incoming.event, OtherMessage) else "text"
        if await self.handoffs.from_prospect(uow, prospect.relay_handoff_id, text, kind, now):
            return True
        prospect.relay_handoff_id = None  # the lead is gone: back to the flow
        return False

    async def _rights(self, uow: UnitOfWork, prospect: Prospect,
                      current: Conversation | None, incoming: Incoming, now: datetime) -> bool:
        """True when personal data was erased."""
        language = prospect.language or language_of(incoming.language_code)
        if incoming.command is not None:
            await self.rights.command(uow, prospect, current, incoming.command, language)
            return False
        assert incoming.rights_data is not None
        return await self.rights.tap(uow, prospect, current, incoming.rights_data, language,
                                     query_id=incoming.callback_query_id,
                                     message_id=incoming.message_id,
                                     update_id=incoming.update_id, now=now)

    async def _converse(self, uow: UnitOfWork, prospect: Prospect,
                        current: Conversation | None, incoming: Incoming,
                        now: datetime) -> None:
        target = await self._target(uow, incoming, current)
        if target is None:
            await self._menu(uow, prospect, incoming)
            return
        runnable, state, event = target
        new_state, actions = step(runnable.flow, state, event)
        # accepted names only (bounded words): what a prospect merely types is not kept
        logsafe.FILTER.remember(*(a.name for a in actions if isinstance(a, SetContact)))
        if incoming.callback_query_id and not any(isinstance(a, AnswerTap) for a in actions):
            actions = [AnswerTap(), *actions]  # every tap is answered, or its button spins
        conversation = current
        if current is None or new_state.flow_id != current.flow_id or isinstance(
                event, Restart) or (isinstance(event, Start) and state is not None
                                    and (state.finished or state.flow_id != runnable.flow.id)):
            conversation = await uow.conversations.add_now(Conversation(
                user_id=prospect.user_id, chat_id=prospect.chat_id, flow_id=new_state.flow_id,
                flow_version=new_state.flow_version, step=new_state.step,
                source=new_state.source, state={}, started_at=now, updated_at=now))
        assert conversation is not None and conversation.id is not None
        uow.session.expunge(conversation)  # written below in one statement, not tracked
        conversation.state = new_state.to_dict()
        conversation.step, conversation.finished = new_state.step, new_state.finished
        await uow.conversations.save_state(
            conversation.id, state=conversation.state, step=new_state.step,
            finished=new_state.finished, updated_at=now)
        if prospect.language != new_state.language:
            prospect.language, prospect.updated_at = new_state.language, now
        await Recorder(uow, conversation, now, incoming.update_id).record(actions)
        await render(uow, conversation, actions, incoming.callback_query_id, runnable.base_dir)
        qualification = self.handoffs.wanted(actions)
        if qualification is not None:
            await self.handoffs.announce(uow, conversation, new_state, runnable.flow,
                                         qualification, now)

    async def _target(self, uow: UnitOfWork, incoming: Incoming,
                      current: Conversation | None
                      ) -> tuple[RunnableFlow, State | None, Event] | None:
        """Which flow, which state, which event — or None for the menu."""
        state = State.from_dict(current.state) if current is not None and current.state else None
        starting = incoming.start_payload is not None or incoming.menu_flow is not None
        if starting:
            flow_id, source = parse_payload(incoming.menu_flow or incoming.start_payload or "")
            if flow_id not in self.flows.latest and self.default_flow in self.flows.latest:
                flow_id, source = self.default_flow, source or (
                    incoming.start_payload if incoming.start_payload
                    and PAYLOAD.match(incoming.start_payload) else None)
            if flow_id not in self.flows.latest:
                return None
            runnable = self.flows.latest[flow_id]
            if state is not None and state.flow_id == flow_id and not state.finished:
                runnable = await self.flows.pinned(uow, flow_id, state.flow_version) or runnable
            start = Start(user_id=incoming.user_id, language_code=incoming.language_code,
                          source=source, seed=secrets.token_hex(8))
            return runnable, state, start
        if state is None:
            if self.default_flow in self.flows.latest and not isinstance(incoming.event, Tap):
                start = Start(user_id=incoming.user_id, language_code=incoming.language_code,
                              seed=secrets.token_hex(8))
                return self.flows.latest[self.default_flow], None, start
            return None
        if isinstance(incoming.event, Restart):
            latest = self.flows.latest.get(state.flow_id)
            return (latest, state, incoming.event) if latest else None
        pinned = await self.flows.pinned(uow, state.flow_id, state.flow_version)
        if pinned is None or incoming.event is None:
            return None
        return pinned, state, incoming.event

    async def _menu(self, uow: UnitOfWork, prospect: Prospect, incoming: Incoming) -> None:
        language = language_of(incoming.language_code or prospect.language)
        if incoming.callback_query_id:
            await uow.outbox.add_now(OutboxMessage(
                chat_id=prospect.chat_id, lane="tap", method="answerCallbackQuery",
                payload={"callback_query_id": incoming.callback_query_id}))
        buttons = tuple((Button(text=runnable.flow.title.get(language)
                                or runnable.flow.title[runnable.flow.language],
                                data=MENU_PREFIX + flow_id),)
                        for flow_id, runnable in sorted(self.flows.latest.items()))
        await uow.outbox.add_now(OutboxMessage(
            chat_id=prospect.chat_id, method="sendMessage",
            payload={"chat_id": prospect.chat_id, "text": MENU[language],
                     "reply_markup": inline_markup(buttons)}))
