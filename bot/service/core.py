"""One update, one transaction.

Record the update id (a duplicate is dropped), lock the prospect, run the engine on the
conversation's pinned flow version, store state / answers / lead / consents / events and
every message to send as outbox rows, commit. Only then may the update be acknowledged.
What an update asks is one of the records of bot/service/intents.py; HANDLERS maps each to
the method that carries it out.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import logsafe
from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.outbox import messages
from bot.outbox.messages import render
from bot.service import broadcasts, callbacks
from bot.service.flows import FlowRegistry, RunnableFlow
from bot.service.intents import (
    Begin,
    BroadcastTap,
    Intent,
    ManagerTap,
    Membership,
    PickFlow,
    RightsCommand,
    RightsTap,
    Say,
)
from bot.service.rights import CHANNEL, Operator, Rights
from bot.texts import MENU, language_of
from dialogs.engine import callback
from dialogs.engine.actions import AnswerTap, Button, SetContact
from dialogs.engine.core import step
from dialogs.engine.events import (
    ContactShared,
    Event,
    OtherMessage,
    Restart,
    Start,
    Tap,
    TextMessage,
)
from dialogs.engine.state import State
from dialogs.format.schema import Flow
from dialogs.rules.funnel import progressed
from storage.privacy import erasure
from storage.privacy import rights as privacy_rights
from storage.record import Recorder
from storage.schema.money import Click
from storage.schema.tables import Conversation, Prospect, utcnow
from storage.schema.tables import Event as EventRow
from storage.work import tracking
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Bot API: deep-link parameters
Handler = Callable[["Service", UnitOfWork, Intent, datetime], Awaitable[bool]]


def parse_payload(payload: str) -> tuple[str | None, str | None]:
    """`FLOW_ID__SOURCE` -> (flow id, source); `FLOW_ID` -> (flow id, None). What follows
    `__` may be a tracking link's click token (bot/web/go.py): `_target` looks it up."""
    if not payload or not PAYLOAD.match(payload):
        return None, None
    flow_id, _, source = payload.partition("__")
    return flow_id.lower(), source or None


class Service:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], flows: FlowRegistry, *,
                 default_flow: str | None = None, clock: Callable[[], datetime] = utcnow,
                 on_commit: Callable[[], None] = lambda: None,
                 on_outbox: Callable[[list[dict], bool, dict, set[int]], None] | None = None,
                 operator: Operator | None = None, handoffs: Handoffs | None = None) -> None:
        self.sessions, self.flows, self.default_flow = sessions, flows, default_flow
        self.handoffs = handoffs or Handoffs(HandoffConfig())
        self.rights = Rights(flows, operator or Operator(), self.handoffs)
        self.clock, self.on_commit = clock, on_commit
        # the short path: the outbox rows an update committed, straight to the sender (and
        # whether it must read the outbox again: rows were changed in place, or erased)
        self.on_outbox = on_outbox
        self.handled = self.duplicates = self.ignored = 0
        self.in_flight = 0  # updates being handled now (a broadcast's messages wait: bulk.py)
        # metrics (bot/metrics.py, set by bot/app.py): an update arrived at (None: forget it)
        self.received: Callable[[int, datetime | None], None] = lambda chat_id, at: None

    def ignore(self, update_id: int, why: str) -> None:
        """An update with nothing to do (a message without a sender): logged, counted."""
        self.ignored += 1
        log.info("update %s skipped: %s", update_id, why)

    async def handle(self, intent: Intent) -> bool:
        """True when handled, False for a duplicate. Retried once when another process
        created the same prospect at the same moment."""
        self.received(intent.chat_id, self.clock())  # metrics: reply latency starts
        self.in_flight += 1
        try:
            handled = await self._handle(intent)
        except IntegrityError:
            handled = await self._handle(intent)
        finally:
            self.in_flight -= 1
        if handled:
            self.handled += 1
            self.on_commit()
        else:
            self.duplicates += 1
            self.received(intent.chat_id, None)  # metrics: no reply is coming
        return handled

    async def _handle(self, intent: Intent) -> bool:
        now = self.clock()
        async with UnitOfWork(self.sessions, brief=True) as uow:
            try:  # the primary key refuses a redelivered update: no separate look-up
                await uow.updates.record(intent.update_id, now)
            except IntegrityError:
                return False
            erased = await HANDLERS[type(intent)](self, uow, intent, now)
            await uow.commit()
        if self.on_outbox is not None:
            routed = uow.routed  # several processes: rows of its chats it took, chats it took
            self.on_outbox(uow.committed_outbox,
                           erased or uow.outbox.changed or bool(routed.adopted),
                           routed.taken_over, routed.dead)
        if erased:  # the database's own old copies of the erased values go too
            await erasure.purge_old_copies(self.sessions.kw["bind"])
        return True

    # -- one handler per intent; each returns True when personal data was erased -----------
    async def _manager_tap(self, uow: UnitOfWork, tap: ManagerTap, now: datetime) -> bool:
        await self.handoffs.tap(uow, tap, now)  # a manager, not a prospect
        return False

    async def _begin(self, uow: UnitOfWork, begin: Begin, now: datetime) -> bool:
        if await uow.outbox.release_waiting(begin.chat_id) and begin.payload == "manager":
            return False  # a manager opened the chat: their leads follow
        prospect, current = await self._prospect(uow, begin, now)
        self._unblocked(prospect, now)
        await self._converse(uow, prospect, current, begin, now)
        return False

    async def _say(self, uow: UnitOfWork, say: Say, now: datetime) -> bool:
        if await self._manager_reply(uow, say, now):
            return False
        prospect, current = await self._prospect(uow, say, now)
        self._unblocked(prospect, now)
        if not await self._relay(uow, prospect, say, now):
            await self._converse(uow, prospect, current, say, now)
        return False

    async def _pick_flow(self, uow: UnitOfWork, pick: PickFlow, now: datetime) -> bool:
        prospect, current = await self._prospect(uow, pick, now)
        self._unblocked(prospect, now)
        await self._converse(uow, prospect, current, pick, now)
        return False

    async def _rights_command(self, uow: UnitOfWork, command: RightsCommand,
                              now: datetime) -> bool:
        prospect, current = await self._prospect(uow, command, now)
        language = prospect.language or language_of(command.language_code)
        await self.rights.command(uow, prospect, current, command.command, language)
        return False

    async def _rights_tap(self, uow: UnitOfWork, tap: RightsTap, now: datetime) -> bool:
        prospect, current = await self._prospect(uow, tap, now)
        language = prospect.language or language_of(tap.language_code)
        return await self.rights.tap(uow, prospect, current, tap.press, language,
                                     query_id=tap.query_id, message_id=tap.message_id,
                                     update_id=tap.update_id, now=now)

    async def _broadcast_tap(self, uow: UnitOfWork, tap: BroadcastTap, now: datetime) -> bool:
        return await broadcasts.tap(self, uow, tap, now)

    async def _membership(self, uow: UnitOfWork, change: Membership, now: datetime) -> bool:
        prospect, _ = await self._prospect(uow, change, now)
        prospect.blocked, prospect.updated_at = change.blocked, now
        if change.blocked:
            await uow.outbox.drop_chat(prospect.chat_id, "blocked by the prospect")
        uow.events.add(EventRow(user_id=prospect.user_id, created_at=now,
                                kind="blocked" if change.blocked else "unblocked"))
        return False

    # -- the prospect ----------------------------------------------------------------------
    @staticmethod
    def _unblocked(prospect: Prospect, now: datetime) -> None:
        if prospect.blocked:  # they wrote to us: they no longer block the bot
            prospect.blocked, prospect.updated_at = False, now

    async def _prospect(self, uow: UnitOfWork, intent: Intent, now: datetime
                        ) -> tuple[Prospect, Conversation | None]:
        prospect, current = await uow.prospects.lock_with_conversation(intent.user_id)
        if prospect is None:
            prospect = Prospect(user_id=intent.user_id, chat_id=intent.chat_id,
                                language=language_of(intent.language_code),
                                created_at=now, updated_at=now)
            uow.prospects.add(prospect)
            await uow.session.flush()
        return prospect, current

    async def _manager_reply(self, uow: UnitOfWork, say: Say, now: datetime) -> bool:
        """A manager's reply to a lead's card or a relayed message: to the prospect. A
        reply to the question of a won sale's amount is that amount: never relayed."""
        if say.reply_to is None or not isinstance(say.event, TextMessage):
            return False
        if await self.handoffs.amount_replied(uow, say.chat_id, say.user_id, say.reply_to,
                                              say.event.text, now):
            return True
        handoff = await self.handoffs.lead_replied_to(uow, say.chat_id, say.reply_to)
        if handoff is None or say.user_id == handoff.user_id:
            return False
        await self.handoffs.from_manager(uow, handoff, say.user_id, say.sender_name,
                                         say.event.text, now)
        return True

    async def _relay(self, uow: UnitOfWork, prospect: Prospect, say: Say,
                     now: datetime) -> bool:
        """While a manager talks with the prospect, their messages go to the manager."""
        if prospect.relay_handoff_id is None or not isinstance(
                say.event, TextMessage | OtherMessage):
            return False
        text = say.event.text if isinstance(say.event, TextMessage) else None
        kind = say.event.kind if isinstance(say.event, OtherMessage) else "text"
        if await self.handoffs.from_prospect(uow, prospect.relay_handoff_id, text, kind, now):
            return True
        prospect.relay_handoff_id = None  # the lead is gone: back to the flow
        return False

    async def _converse(self, uow: UnitOfWork, prospect: Prospect,
                        current: Conversation | None, intent: Begin | Say | PickFlow,
                        now: datetime) -> None:
        target = await self._target(uow, intent, current)
        query_id = intent.query_id if isinstance(intent, Say | PickFlow) else None
        if target is None:
            await self._menu(uow, prospect, intent, query_id)
            return
        runnable, state, event, click = target
        follow_up = await self._follow_up_tap(uow, current, event)
        if follow_up == "refused":  # never sent to them, or closed: a stale button's answer
            event = Tap(event.flow_id, event.flow_version, callback.NURTURE_STEP, "")
        new_state, actions = step(runnable.flow, state, event)
        if follow_up == "open" and current is not None and isinstance(event, Tap) and (
                new_state.answers.get(event.step) == event.option):
            await uow.follow_ups.answered(current.id or 0, event.step.removeprefix(
                callback.NURTURE_STEP))
        # accepted names only (bounded words): what a prospect merely types is not kept
        logsafe.FILTER.remember(*(a.name for a in actions if isinstance(a, SetContact)))
        if query_id and not any(isinstance(a, AnswerTap) for a in actions):
            actions = [AnswerTap(), *actions]  # every tap is answered, or its button spins
        conversation = current
        if current is None or new_state.flow_id != current.flow_id or isinstance(
                event, Restart) or (isinstance(event, Start) and state is not None
                                    and (state.finished or state.flow_id != runnable.flow.id)):
            conversation = await uow.conversations.add_now(Conversation(
                user_id=prospect.user_id, chat_id=prospect.chat_id, flow_id=new_state.flow_id,
                flow_version=new_state.flow_version, step=new_state.step,
                source=new_state.source, state={}, started_at=now, updated_at=now,
                **_experiment(runnable), **_clicked(click)))
            if current is not None:  # started over: what the old one scheduled ends
                await uow.follow_ups.stop([current.id])
        elif isinstance(event, TextMessage | OtherMessage | ContactShared):
            await uow.follow_ups.stop([current.id], on_message=True)  # if the flow says so
        assert conversation is not None and conversation.id is not None
        uow.session.expunge(conversation)  # written below in one statement, not tracked
        conversation.state = new_state.to_dict()
        conversation.step, conversation.finished = new_state.step, new_state.finished
        conversation.progress = progressed(conversation.progress, actions)  # the funnel's
        await uow.conversations.save_state(
            conversation.id, state=conversation.state, step=new_state.step,
            finished=new_state.finished, progress=conversation.progress, updated_at=now)
        if new_state.finished and (state is None or not state.finished):
            await uow.follow_ups.stop([conversation.id], kind="reminder")  # not needed now
        if prospect.language != new_state.language:
            prospect.language, prospect.updated_at = new_state.language, now
        await Recorder(uow, conversation, now, intent.update_id, channel=CHANNEL,
                       message_id=intent.message_id if isinstance(intent, Say) else None
                       ).record(actions)
        await render(uow, conversation, actions, query_id, runnable.base_dir)
        qualification = self.handoffs.wanted(actions, new_state.consents)
        if qualification is not None:
            nurtured = await uow.follow_ups.started(conversation.id) if isinstance(
                event, Tap) and event.step.startswith(callback.NURTURE_STEP) else None
            await self.handoffs.announce(uow, conversation, new_state, runnable.flow,
                                         qualification, now, nurtured_since=nurtured)

    @staticmethod
    async def _follow_up_tap(uow: UnitOfWork, current: Conversation | None,
                             event: object) -> str | None:
        """A tap on a follow-up's button (`~MESSAGE`): "open" when that follow-up went out
        to this person in this conversation and its question is not answered yet,
        "refused" otherwise (forged data, a follow-up never sent to them, cancelled,
        answered already, or of a conversation since started over); its file stays
        available once sent. None for any other event."""
        if not isinstance(event, Tap) or not event.step.startswith(callback.NURTURE_STEP):
            return None
        key = event.step.removeprefix(callback.NURTURE_STEP)
        status = await uow.follow_ups.sent_status(current.id or 0, key) if (
            current is not None and key) else None
        if status == "sent" or (status == "answered" and event.option == callback.FILE):
            return "open"
        return "refused"

    async def _target(self, uow: UnitOfWork, intent: Begin | Say | PickFlow,
                      current: Conversation | None
                      ) -> tuple[RunnableFlow, State | None, Event, Click | None] | None:
        """Which flow, which state, which event, which tracking link's click (a deep link
        `FLOW__TOKEN`: the click's source replaces the token) — or None for the menu."""
        state = State.from_dict(current.state) if current is not None and current.state else None
        if isinstance(intent, Begin | PickFlow):
            payload = intent.payload if isinstance(intent, Begin) else intent.flow_id
            flow_id, source = parse_payload(payload)
            if isinstance(intent, PickFlow) and intent.source:  # a broadcast's button
                source = intent.source
            if not self.flows.knows(flow_id) and self.flows.knows(self.default_flow):
                flow_id, source = self.default_flow, source or (
                    payload if isinstance(intent, Begin) and payload
                    and PAYLOAD.match(payload) else None)
            if flow_id is None or not self.flows.knows(flow_id):
                return None
            click = await tracking.click_of(uow.session, source) if isinstance(
                intent, Begin) else None
            source = click.source if click is not None else source
            runnable = await self._entry(uow, flow_id, intent.user_id, current)
            flow_id = runnable.flow.id
            resumes = state is not None and state.flow_id == flow_id and not state.finished
            if resumes:
                runnable = await self.flows.pinned(uow, flow_id, state.flow_version) or runnable
            start = Start(user_id=intent.user_id, language_code=intent.language_code,
                          source=source, seed=secrets.token_hex(8), consents=None if resumes
                          else await _in_force(uow, intent.user_id, runnable.flow))
            return runnable, state, start, click
        if state is None:
            if self.default_flow is not None and self.flows.knows(self.default_flow) \
                    and not isinstance(intent.event, Tap):
                runnable = await self._entry(uow, self.default_flow, intent.user_id, current)
                start = Start(user_id=intent.user_id, language_code=intent.language_code,
                              seed=secrets.token_hex(8),
                              consents=await _in_force(uow, intent.user_id, runnable.flow))
                return runnable, None, start, None
            return None
        if isinstance(intent.event, Restart):
            latest = self.flows.latest.get(state.flow_id)
            return (latest, state, intent.event, None) if latest else None
        pinned = await self.flows.pinned(uow, state.flow_id, state.flow_version)
        if pinned is None:
            return None
        return pinned, state, intent.event, None

    async def _entry(self, uow: UnitOfWork, name: str, user_id: int,
                     current: Conversation | None) -> RunnableFlow:
        """The flow a deep link or the menu's `name` starts: in an experiment, the
        prospect's variant (the one they had before, else assigned by the stable hash)."""
        experiment = self.flows.experiment_of(name)
        if experiment is None:
            return self.flows.latest[name]
        if current is not None and current.experiment == experiment:
            previous = current.variant
        else:
            previous = await uow.conversations.variant_in(user_id, experiment)
        return self.flows.variant_for(experiment, user_id, previous)

    async def _menu(self, uow: UnitOfWork, prospect: Prospect, intent: Intent,
                    query_id: str | None) -> None:
        language = language_of(intent.language_code or prospect.language)
        messages.answer(uow, prospect.chat_id, query_id)
        buttons = tuple((Button(text=runnable.flow.title.get(language)
                                or runnable.flow.title[runnable.flow.language],
                                data=callbacks.menu(flow_id)),)
                        for flow_id, runnable in self.flows.entries())
        messages.send(uow, prospect.chat_id, MENU[language], buttons)


async def _in_force(uow: UnitOfWork, user_id: int, flow: Flow) -> dict[str, str]:
    """The consents the ledger holds in force with the flow's company: purpose -> policy
    version. A new conversation starts with these (consent is per company: another
    company's "yes" is not carried over)."""
    granted = await privacy_rights.granted(uow, user_id, flow.operator.key)
    return {purpose: row.policy_version for purpose, row in granted.items()}


def _experiment(runnable: RunnableFlow) -> dict[str, str | None]:
    """What a new conversation records of the experiment its flow is a variant of."""
    experiment = runnable.flow.experiment
    return {"experiment": experiment.name if experiment else None,
            "variant": experiment.variant if experiment else None}


def _clicked(click: Click | None) -> dict[str, object]:
    """What a new conversation records of the tracking link's click that started it."""
    return {"campaign": click.campaign if click else None,
            "click_id": click.id if click else None}


HANDLERS: dict[type[Intent], Handler] = {  # type: ignore[dict-item]
    ManagerTap: Service._manager_tap, Begin: Service._begin, Say: Service._say,
    PickFlow: Service._pick_flow, RightsCommand: Service._rights_command,
    RightsTap: Service._rights_tap, Membership: Service._membership,
    BroadcastTap: Service._broadcast_tap,
}
