"""Hot leads to the sales managers (DESIGN.md; issue "Hot leads on a manager's screen in a
second"): the lead card in the managers' group, the first claim wins, status buttons in the
claiming manager's private chat, SLA reminders and escalation on durable timers, working
hours, and the group's budget kept by folding cards into digests.

Everything here runs inside the transaction of the update (or timer tick) that caused it;
messages are outbox rows, so the card goes out the moment the transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.outbox import textlimits
from bot.outbox.messages import inline_markup
from bot.settings import Settings
from bot.texts import AFTER, MANAGERS, PROSPECT_HANDOFF, WEEKDAYS, language_of
from dialogs.engine.actions import Action, Button, RecordQualification
from dialogs.engine.state import State
from dialogs.engine.texts import pick
from dialogs.format.schema import Flow
from dialogs.rules.hours import WorkingHours
from dialogs.rules.routing import Manager, Route, Routing, RoutingError, facts
from dialogs.rules.validators import format_number
from storage.models import Conversation, Event, Handoff, Lead, OutboxMessage
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
CLAIM = "claim:"  # claim:<handoff id>
RELAY = "relay:"  # relay:end:<handoff id>
STATUS = "lead:"  # lead:<handoff id>:<status>[:<reason>]
STATUSES = ("contacted", "meeting", "won", "lost", "nurture")
REASONS = {"price": "price_reason", "competitor": "competitor", "no_answer": "no_answer",
           "not_target": "not_target_reason", "other": "other"}
CONTACTED = ("contacted", "meeting", "won")  # statuses that mean the prospect was reached
DIGEST_SIZE = 8  # leads per digest message (text and buttons stay readable on a phone)
CARD = "card"  # outbox.step of cards and digests in a managers' chat
MAX_ROW_ID = 2**31 - 1  # handoffs.id is an INTEGER (PostgreSQL's int4)


def row_id(text: str) -> int | None:
    """A hand-off id from button data: ASCII digits in the column's range, else None (a
    forged or garbled button; a number past the range would make PostgreSQL refuse the
    whole statement)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None

CARD_TEXT = 3000  # a lead's own text at most: with its links, claim and status lines,
#                   and the reply hint in the private chat, a card fits one message


@dataclass(frozen=True)
class HandoffConfig:
    chat_id: int | None = None
    manager_ids: frozenset[int] = frozenset()
    escalation_chat_id: int | None = None
    also: frozenset[str] = frozenset()  # temperatures handed off whatever the flow says
    sla_minutes: Mapping[str, int] = field(
        default_factory=lambda: {"hot": 5, "warm": 30, "cold": 120})
    language: str = "ru"
    hours: WorkingHours | None = None
    routing: Routing = field(default_factory=Routing)

    @classmethod
    def from_settings(cls, settings: Settings) -> HandoffConfig:
        """Raises HoursError for unreadable working hours or time zone, RoutingError for a
        routing file that cannot be used."""
        routing = Routing()
        if settings.routing_file is not None:
            try:
                text = settings.routing_file.read_text(encoding="utf-8")
            except OSError as error:
                raise RoutingError(f"{settings.routing_file}: {error.strerror}") from None
            routing = Routing.from_yaml(text, str(settings.routing_file))
        return cls(settings.managers_chat_id, frozenset(settings.manager_ids),
                   settings.escalation_chat_id, frozenset(settings.handoff_also),
                   dict(settings.sla_minutes), language_of(settings.managers_language),
                   WorkingHours.parse(settings.working_hours, settings.timezone), routing)


@dataclass(frozen=True)
class ManagerTap:
    """A manager's button: claim in a group, or a status in the private chat."""

    update_id: int
    user_id: int
    chat_id: int
    name: str
    data: str
    query_id: str
    message_id: int | None = None
    language_code: str | None = None  # the tapper's: a refusal is said in their language


def utf16(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class Handoffs:
    def __init__(self, config: HandoffConfig) -> None:
        self.config = config
        self.words = MANAGERS[config.language]
        self.bot_username = ""  # from getMe at start: the link a manager opens

    # -- the card ------------------------------------------------------------------------
    def wanted(self, actions: list[Action]) -> RecordQualification | None:
        """The qualification that hands this lead off, if any (and managers to hand to)."""
        if self.config.chat_id is None and not self.config.routing.routes:
            return None
        for action in actions:
            if isinstance(action, RecordQualification) and (
                    action.outcome == "handoff" or action.temperature in self.config.also):
                return action
        return None

    async def announce(self, uow: UnitOfWork, conversation: Conversation, state: State,
                       flow: Flow, qualification: RecordQualification, now: datetime) -> None:
        session = uow.session
        assert session is not None
        lead = await uow.leads.for_conversation(conversation.id)
        if lead is None or lead.id is None:
            await session.flush()
            lead = await uow.leads.for_conversation(conversation.id)
        assert lead is not None and lead.id is not None
        if "processing" not in state.consents:
            # No card, no manager, no link to their account without consent to processing
            # (LEADBOT_HANDOFF_ALSO may name the temperature of a prospect who declined).
            log.info("lead %s: not handed off, no consent to processing", lead.id)
            return
        if (await session.execute(select(Handoff.id).where(Handoff.lead_id == lead.id))
                ).first() is not None:
            return  # one hand-off per lead
        q = qualification
        route = self.config.routing.route(facts(
            flow=flow.id, tags=q.tags, answers=state.answers, language=state.language,
            temperature=q.temperature, score=q.score, source=conversation.source, sql=q.sql,
            mql=q.mql, target=q.target))
        chat_id = route.chat_id if route and route.chat_id else self.config.chat_id
        manager = await self.pick_manager(uow, route) if route and route.assign else None
        if chat_id is None and manager is None:
            log.warning("lead %s: no route and no LEADBOT_MANAGERS_CHAT_ID to hand it to",
                        lead.id)
            return
        handoff = Handoff(lead_id=lead.id, conversation_id=conversation.id,
                          user_id=conversation.user_id, chat_id=chat_id or 0,
                          route=route.name if route else None,
                          temperature=q.temperature, language=state.language,
                          submitted_at=now, due_at=self.due(now, q.temperature),
                          created_at=now)
        handoff.card_text = self.card_text(lead, conversation, state, flow, q, now)
        session.add(handoff)
        await session.flush()
        lead.status = "handoff"
        if manager is not None:  # straight to one manager: claimed on their behalf
            handoff.assigned = True
            handoff.claimed_by, handoff.claimed_by_name = manager.id, manager.name or str(
                manager.id)
            handoff.claimed_at = handoff.status_at = now
            handoff.status, handoff.due_at = "claimed", None
        if chat_id is not None:
            await self._post(uow, handoff)
        uow.stage(Event, user_id=conversation.user_id, conversation_id=conversation.id,
                  kind="announced", flow_id=conversation.flow_id,
                  flow_version=conversation.flow_version, source=conversation.source,
                  data={"handoff": handoff.id, "chat": chat_id, "route": handoff.route},
                  created_at=now)
        if manager is not None:
            await self._claimed(uow, handoff, lead, now, "assigned")
        hours = self.config.hours
        if hours is not None and not hours.is_open(now):
            self._to_prospect(uow, handoff, "after_hours", when=self.when(
                hours.next_opening(now), handoff.language), zone=hours.zone.key)

    async def pick_manager(self, uow: UnitOfWork, route: Route) -> Manager | None:
        """round_robin: the one after the last assigned on this route; least_loaded: the one
        with the fewest leads in hand (claimed, contacted, meeting set)."""
        session = uow.session
        assert session is not None
        managers = list(route.managers)
        if route.assign == "round_robin":
            last = (await session.execute(
                select(Handoff.claimed_by).where(Handoff.route == route.name,
                                                 Handoff.assigned.is_(True))
                .order_by(Handoff.id.desc()).limit(1))).scalar_one_or_none()
            ids = [m.id for m in managers]
            return managers[(ids.index(last) + 1) % len(managers) if last in ids else 0]
        loads = dict((await session.execute(
            select(Handoff.claimed_by, func.count()).where(
                Handoff.claimed_by.in_([m.id for m in managers]),
                Handoff.status.in_(("claimed", "contacted", "meeting")))
            .group_by(Handoff.claimed_by))).all())
        return min(managers, key=lambda m: loads.get(m.id, 0))

    def card_text(self, lead: Lead, conversation: Conversation, state: State, flow: Flow,
                  q: RecordQualification, now: datetime) -> str:
        w = self.words
        grade = "SQL" if q.sql else "MQL" if q.mql else ""
        head = " · ".join(part for part in (
            f"{w[q.temperature]} {w['lead']}", f"{w['score']} {q.score}", grade,
            w["target"] if q.target else w["not_target"]) if part)
        lines = [head]
        who = " · ".join(v for v in (lead.name, lead.phone) if v)
        if who:
            lines.append(who)
        if lead.email:
            lines.append(lead.email)
        points: dict[str, int] = {}
        for item in q.breakdown:
            points[item.step] = points.get(item.step, 0) + item.points
        answers = "; ".join(
            self.answer(flow, step_id, state.answers[step_id])
            + (f" ({points[step_id]:+d})" if points.get(step_id) else "")
            for step_id in flow.steps if step_id in state.answers)
        if answers:
            lines.append(f"{w['answers']}: {answers}")
        results = state.results
        if "price_low" in results and "price_high" in results:
            low, high = (format_number(results[k], self.config.language)
                         for k in ("price_low", "price_high"))
            lines.append(f"{w['price']}: {low}–{high}")
        if q.discount or lead.reward_code:
            reward = f"{w['discount']} {format_number(q.discount, self.config.language)} %"
            if lead.reward_code:
                reward += f" · {w['code']} {lead.reward_code}"
            lines.append(reward)
        took = int((now - conversation.started_at).total_seconds())
        lines.append(" · ".join(part for part in (
            f"{w['source']}: {conversation.source}" if conversation.source else "",
            f"{flow.id} v{flow.version}", state.language,
            f"{w['took']} {took // 60} min {took % 60} s") if part))
        if self.config.hours is not None and not self.config.hours.is_open(now):
            lines.append(f"🌙 {w['after_hours_note']}")
        text = "\n".join(lines)
        if answers and textlimits.units(text) > CARD_TEXT:  # many long answers: cut them
            line = f"{w['answers']}: {answers}"
            room = CARD_TEXT - (textlimits.units(text) - textlimits.units(line))
            text = text.replace(line, textlimits.shorten(line, max(room, 1))[0], 1)
        return text

    def answer(self, flow: Flow, step_id: str, value: object) -> str:
        """An answer in short, in the managers' language."""
        language = self.config.language
        options = {o.id: o for o in getattr(flow.steps[step_id], "options", ())}
        values = value if isinstance(value, tuple) else (value,)
        words = []
        for item in values:
            if item is None:
                words.append("—")
            elif isinstance(item, str) and item in options:
                words.append(pick(options[item].text, language, flow.language))
            elif isinstance(item, float):
                words.append(format_number(item, language))
            else:
                text = str(item)
                words.append(text if len(text) <= 60 else text[:59] + "…")
        return ", ".join(words)

    def render(self, handoffs: list[Handoff], prefix: str = "") -> dict[str, Any]:
        """The payload of a card (one lead) or a digest (several): text with a link to
        each prospect's Telegram, and a Claim button for each lead not yet claimed."""
        w = self.words
        text, entities, buttons = prefix, [], []
        if len(handoffs) > 1:
            text += w["digest"].format(count=len(handoffs)) + "\n\n"
        for index, handoff in enumerate(handoffs, 1):
            number = f"#{index} " if len(handoffs) > 1 else ""
            text += number + (handoff.card_text or "") + "\n"
            entities.append({"type": "text_link", "offset": utf16(text),
                             "length": utf16(w["chat"]),
                             "url": f"tg://user?id={handoff.user_id}"})
            text += w["chat"] + "\n"
            if handoff.assigned:
                text += w["assigned"].format(name=handoff.claimed_by_name) + "\n"
            elif handoff.claimed_at is not None:
                seconds = int((handoff.claimed_at - handoff.submitted_at).total_seconds())
                text += w["claimed"].format(name=handoff.claimed_by_name, seconds=seconds)
                text += "\n"
            else:
                label = f"{w['claim']} {number}".strip()
                buttons.append((Button(text=label, data=f"{CLAIM}{handoff.id}"),))
            text += "\n"
        return {"text": text.strip(), "entities": entities,
                "reply_markup": inline_markup(tuple(buttons)),
                "link_preview_options": {"is_disabled": True}}

    async def _post(self, uow: UnitOfWork, handoff: Handoff) -> None:
        """A new card; past the group's budget (a queue of cards waiting), the lead joins
        the newest waiting digest instead, so the group gets fewer, fuller messages and
        nothing is dropped. Only a row that is not the chat's next to go is changed: the
        sender may be sending that one right now."""
        session = uow.session
        assert session is not None
        chat_id = handoff.chat_id
        waiting = (await session.execute(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id,
                                        OutboxMessage.status == "pending",
                                        OutboxMessage.step == CARD,
                                        OutboxMessage.method == "sendMessage")
            .order_by(OutboxMessage.id.desc()).limit(1))).scalar_one_or_none()
        if waiting is not None and waiting.id != await self._head(uow, chat_id):
            members = [*await self._members(uow, waiting.id), handoff]
            payload = self.render(members)
            if len(members) <= DIGEST_SIZE and self.fits(members, payload["text"]):
                handoff.card_id = waiting.id
                waiting.payload = {"chat_id": chat_id, **payload}
                waiting.lead_id = None  # about several leads: found by handoffs.card_id
                return
        row = await uow.outbox.add_now(OutboxMessage(
            chat_id=chat_id, method="sendMessage", step=CARD, lead_id=handoff.lead_id,
            payload={"chat_id": chat_id, **self.render([handoff])}))
        handoff.card_id = row.id

    def fits(self, handoffs: list[Handoff], text: str) -> bool:
        """A digest stays one message (its Claim buttons with it) also once every lead in
        it is claimed by a manager with a long name: the edits must fit too."""
        room = textlimits.units(self.words["claimed"].format(name="W" * 128,
                                                             seconds=10**7)) + 1
        return textlimits.units(text) + room * len(handoffs) <= textlimits.TEXT

    async def _head(self, uow: UnitOfWork, chat_id: int) -> int | None:
        session = uow.session
        assert session is not None
        return (await session.execute(select(func.min(OutboxMessage.id)).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending",
            OutboxMessage.lane == "chat"))).scalar_one_or_none()

    async def _members(self, uow: UnitOfWork, card_id: int) -> list[Handoff]:
        session = uow.session
        assert session is not None
        return list((await session.execute(select(Handoff).where(Handoff.card_id == card_id)
                                           .order_by(Handoff.id))).scalars())

    async def refresh_card(self, uow: UnitOfWork, card_id: int | None) -> None:
        """Show the card's leads as they are now (claimed, erased). A card not sent yet is
        rewritten; a sent one gets an edit, and a waiting edit of it is rewritten instead
        of queueing another (edits count against the group's budget too)."""
        if card_id is None:
            return
        card = await uow.outbox.get(card_id)
        if card is None or card.status == "dropped":  # never shown: nothing to change
            return
        members = await self._members(uow, card_id)
        payload = {"chat_id": card.chat_id, **self.render(members)}
        lead_id = members[0].lead_id if len(members) == 1 else None
        head = await self._head(uow, card.chat_id)
        if card.status == "pending" and card.id != head:
            card.payload = payload
            return
        session = uow.session
        assert session is not None
        waiting = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.edit_of == card_id, OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id.desc()).limit(1))).scalar_one_or_none()
        if waiting is not None and waiting.id != head:
            waiting.payload, waiting.lead_id = payload, lead_id
            return
        uow.stage(OutboxMessage, chat_id=card.chat_id, method="editMessageText",
                  edit_of=card_id, lead_id=lead_id, payload=payload)

    # -- manager's taps ------------------------------------------------------------------
    def is_manager(self, tap: ManagerTap, route_name: str | None = None) -> bool:
        """Managers tap in the managers' chats (only members see those), and are on the
        list of their route, or of LEADBOT_MANAGER_IDS, when one is given."""
        chats = {self.config.chat_id, self.config.escalation_chat_id} - {None}
        chats |= self.config.routing.chats()
        in_chat = tap.chat_id in chats or (tap.chat_id == tap.user_id)
        route = next((r for r in self.config.routing.routes if r.name == route_name), None)
        if route is not None and route.managers:
            return in_chat and route.may_claim(tap.user_id)
        allowed = not self.config.manager_ids or tap.user_id in self.config.manager_ids
        return in_chat and allowed

    async def tap(self, uow: UnitOfWork, tap: ManagerTap, now: datetime) -> None:
        if tap.data.startswith(CLAIM):
            await self.claim(uow, tap, now)
        elif tap.data.startswith(RELAY):
            await self.end_relay(uow, tap, now)
        else:
            await self.status(uow, tap, now)

    async def claim(self, uow: UnitOfWork, tap: ManagerTap, now: datetime) -> None:
        w = self.words
        session = uow.session
        assert session is not None
        handoff_id = row_id(tap.data.removeprefix(CLAIM))
        if handoff_id is None:
            self._answer(uow, tap)
            return
        route = await session.scalar(select(Handoff.route).where(Handoff.id == handoff_id))
        if not self.is_manager(tap, route) or tap.chat_id == tap.user_id:
            log.warning("claim refused: user %s is not a manager (chat %s)", tap.user_id,
                        tap.chat_id)
            self._answer(uow, tap, self._words_for(tap)["not_manager"], alert=True)
            return
        # The first claim wins, atomically: the row is claimed only while nobody has it
        # (another process's claim waits for the row lock, then finds it taken).
        won = await session.execute(
            update(Handoff.__table__).where(Handoff.__table__.c.id == handoff_id,
                                            Handoff.__table__.c.claimed_by.is_(None))
            .values(claimed_by=tap.user_id, claimed_by_name=tap.name[:128], claimed_at=now,
                    status="claimed", status_at=now, due_at=None))
        handoff = (await session.execute(select(Handoff).where(Handoff.id == handoff_id)
                                         .execution_options(populate_existing=True))
                   ).scalar_one_or_none()
        if handoff is None:
            self._answer(uow, tap)
            return
        if not won.rowcount:
            self._answer(uow, tap, w["taken"].format(name=handoff.claimed_by_name),
                         alert=True)
            return
        self._answer(uow, tap, w["yours"])
        await self.refresh_card(uow, handoff.card_id)
        await self._claimed(uow, handoff, await session.get(Lead, handoff.lead_id), now,
                            "claimed")

    async def _claimed(self, uow: UnitOfWork, handoff: Handoff, lead: Lead | None,
                       now: datetime, kind: str) -> None:
        """A manager has the lead (claimed, or assigned by a route): the prospect is told
        who, the manager gets it privately with the status buttons."""
        w = self.words
        manager, name = handoff.claimed_by, handoff.claimed_by_name or ""
        assert manager is not None
        if lead is not None:
            lead.status, lead.updated_at = "claimed", now
        seconds = int((now - handoff.submitted_at).total_seconds())
        self._event(uow, handoff, kind, now, manager=manager, seconds=seconds,
                    route=handoff.route)
        self._to_prospect(uow, handoff, "claimed", name=name.split()[0] if name else "")
        # the lead in the manager's private chat; replying to it writes to the client
        uow.stage(OutboxMessage, chat_id=manager, method="sendMessage",
                  step=f"lead:{handoff.id}", conversation_id=handoff.conversation_id,
                  lead_id=handoff.lead_id, payload={"chat_id": manager,
                           "text": f"{handoff.card_text}\n\n{w['reply_hint']}",
                           "reply_markup": inline_markup(self.status_buttons(handoff))})

    def status_buttons(self, handoff: Handoff) -> tuple:
        w = self.words
        return tuple((Button(text=w[s], data=f"{STATUS}{handoff.id}:{s}"),) for s in STATUSES)

    async def status(self, uow: UnitOfWork, tap: ManagerTap, now: datetime) -> None:
        w = self.words
        session = uow.session
        assert session is not None
        parts = tap.data.removeprefix(STATUS).split(":")
        handoff_id = row_id(parts[0])
        handoff = await session.get(Handoff, handoff_id) if handoff_id else None
        status = parts[1] if len(parts) > 1 else ""
        reason = parts[2] if len(parts) > 2 else None
        if handoff is None or status not in STATUSES or (reason and reason not in REASONS):
            self._answer(uow, tap)
            return
        if handoff.claimed_by != tap.user_id:
            self._answer(uow, tap, self._words_for(tap)["not_yours"], alert=True)
            return
        if status == "lost" and reason is None:  # first the reason
            self._answer(uow, tap)
            buttons = tuple((Button(text=w[label], data=f"{STATUS}{handoff.id}:lost:{key}"),)
                            for key, label in REASONS.items())
            self._edit(uow, tap, f"{handoff.card_text}\n\n{w['lost_why']}", buttons,
                       handoff.lead_id)
            return
        handoff.status, handoff.status_at, handoff.lost_reason = status, now, reason
        if status in CONTACTED and handoff.first_contact_at is None:
            handoff.first_contact_at = now
        lead = await session.get(Lead, handoff.lead_id)
        if lead is not None:
            lead.status, lead.updated_at = status, now
        label = w[status] + (f" ({w[REASONS[reason]]})" if reason else "")
        self._answer(uow, tap, w["status_set"].format(status=label))
        self._edit(uow, tap, f"{handoff.card_text}\n\n{w['status']}: {label}",
                   self.status_buttons(handoff), handoff.lead_id)
        claimed = handoff.claimed_at or now
        self._event(uow, handoff, "lead_status", now, status=status, reason=reason,
                    since_claim=int((now - claimed).total_seconds()),
                    since_submission=int((now - handoff.submitted_at).total_seconds()))

    async def unreachable(self, uow: UnitOfWork, row: OutboxMessage) -> None:
        """A manager's private chat refused the lead: the group is told, with the link
        that opens the chat; the lead's messages wait for it."""
        session = uow.session
        assert session is not None and row.step is not None
        handoff = await session.get(Handoff, int(row.step.split(":")[1]))
        if handoff is None:
            return
        name = handoff.claimed_by_name or str(row.chat_id)
        link = f"https://t.me/{self.bot_username}?start=manager" if self.bot_username else ""
        text = self.words["start_me"].format(name=name, link=link).strip()
        uow.stage(OutboxMessage, chat_id=handoff.chat_id, method="sendMessage", payload={
            "chat_id": handoff.chat_id, "text": text,
            "entities": [{"type": "text_link", "offset": 0, "length": utf16(name),
                          "url": f"tg://user?id={row.chat_id}"}],
            "link_preview_options": {"is_disabled": True}})
        self._event(uow, handoff, "manager_unreachable", row.created_at,
                    manager=row.chat_id)

    # -- relay: manager and prospect talking through the bot ----------------------------
    async def lead_replied_to(self, uow: UnitOfWork, chat_id: int,
                              message_id: int) -> Handoff | None:
        """The hand-off whose card (or relayed message) a manager replied to, if any."""
        session = uow.session
        assert session is not None
        row = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.telegram_message_id == message_id,
            OutboxMessage.step.like("lead:%")))).scalars().first()
        if row is None or row.step is None:
            return None
        return await session.get(Handoff, int(row.step.split(":")[1]))

    async def from_manager(self, uow: UnitOfWork, handoff: Handoff, manager: int,
                           name: str, text: str, now: datetime) -> None:
        w = self.words
        session = uow.session
        assert session is not None
        if handoff.claimed_by != manager:
            uow.stage(OutboxMessage, chat_id=manager, method="sendMessage",
                      payload={"chat_id": manager, "text": w["not_your_chat"]})
            return
        lead = await session.get(Lead, handoff.lead_id)
        if lead is None or lead.erased_at is not None:  # /forget or retention ended it
            uow.stage(OutboxMessage, chat_id=manager, method="sendMessage",
                      payload={"chat_id": manager, "text": w["relay_erased"]})
            return
        prospect = await uow.prospects.lock(handoff.user_id)
        if prospect is None:
            return
        if prospect.relay_handoff_id != handoff.id:
            prospect.relay_handoff_id = handoff.id
            self._event(uow, handoff, "relay_started", now, manager=manager)
        words = PROSPECT_HANDOFF[language_of(handoff.language)]
        end = ((Button(text=words["end_chat"], data=f"{RELAY}end:{handoff.id}"),),)
        uow.stage(OutboxMessage, chat_id=prospect.chat_id, method="sendMessage",
                  conversation_id=handoff.conversation_id, step=f"lead:{handoff.id}:r",
                  lead_id=handoff.lead_id, payload={"chat_id": prospect.chat_id,
                           "text": words["relay"].format(name=name.split()[0] if name
                                                         else "", text=text),
                           "reply_markup": inline_markup(end)})
        self._event(uow, handoff, "relay_message", now, side="manager")

    async def from_prospect(self, uow: UnitOfWork, handoff_id: int, text: str | None,
                            kind: str, now: datetime) -> bool:
        """A prospect's message during a relay goes to their manager. False: no relay."""
        session = uow.session
        assert session is not None
        handoff = await session.get(Handoff, handoff_id)
        if handoff is None or handoff.claimed_by is None:
            return False
        w = self.words
        lead = await session.get(Lead, handoff.lead_id)
        if lead is None or lead.erased_at is not None:  # erased: the relay is over
            return False
        who = lead.name or f"#{handoff.id}"
        body = text if text is not None else w["relay_media"].format(kind=kind)
        end = ((Button(text=w["end_chat"], data=f"{RELAY}end:{handoff.id}"),),)
        uow.stage(OutboxMessage, chat_id=handoff.claimed_by, method="sendMessage",
                  conversation_id=handoff.conversation_id, step=f"lead:{handoff.id}:r",
                  lead_id=handoff.lead_id, payload={"chat_id": handoff.claimed_by,
                           "text": w["relay_from"].format(name=who, text=body),
                           "reply_markup": inline_markup(end)})
        self._event(uow, handoff, "relay_message", now, side="prospect")
        return True

    async def end_relay(self, uow: UnitOfWork, tap: ManagerTap, now: datetime) -> None:
        session = uow.session
        assert session is not None
        handoff_id = row_id(tap.data.rsplit(":", 1)[-1])
        handoff = await session.get(Handoff, handoff_id) if handoff_id else None
        if handoff is None or tap.user_id not in (handoff.claimed_by, handoff.user_id):
            self._answer(uow, tap)
            return
        self._answer(uow, tap)
        prospect = await uow.prospects.lock(handoff.user_id)
        if prospect is None or prospect.relay_handoff_id != handoff.id:
            return
        prospect.relay_handoff_id = None
        language = language_of(handoff.language)
        self._to_prospect(uow, handoff, "relay_ended")
        if handoff.claimed_by is not None:
            uow.stage(OutboxMessage, chat_id=handoff.claimed_by, method="sendMessage",
                      payload={"chat_id": handoff.claimed_by,
                               "text": self.words["relay_ended"]})
        self._event(uow, handoff, "relay_ended", now, by="prospect" if tap.user_id ==
                    handoff.user_id else "manager", language=language)

    # -- timers --------------------------------------------------------------------------
    def due(self, now: datetime, temperature: str) -> datetime:
        start = self.config.hours.clock_starts(now) if self.config.hours else now
        return start + timedelta(minutes=self.config.sla_minutes.get(temperature, 30))

    async def tick(self, uow: UnitOfWork, now: datetime) -> int:
        """Leads nobody claimed in time: re-announced in the group, then escalated. The
        timers are rows (handoffs.due_at), so a restart fires them. Returns how many."""
        session = uow.session
        assert session is not None
        due = list((await session.execute(
            select(Handoff).where(Handoff.claimed_at.is_(None), Handoff.due_at <= now)
            .order_by(Handoff.due_at).limit(50).with_for_update(skip_locked=True))).scalars())
        w = self.words
        for handoff in due:
            minutes = int((now - handoff.submitted_at).total_seconds() // 60)
            if handoff.reminded_at is None:
                handoff.reminded_at = now
                handoff.due_at = self.due(now, handoff.temperature)
                self._repost(uow, handoff, handoff.chat_id,
                             w["reminder"].format(minutes=minutes))
                self._event(uow, handoff, "sla_reminder", now, minutes=minutes)
            elif handoff.escalated_at is None and self.config.escalation_chat_id:
                handoff.escalated_at, handoff.due_at = now, None
                self._repost(uow, handoff, self.config.escalation_chat_id,
                             w["escalated"].format(minutes=minutes))
                self._event(uow, handoff, "sla_escalated", now, minutes=minutes)
            else:
                handoff.due_at = None
        return len(due)

    def _repost(self, uow: UnitOfWork, handoff: Handoff, chat_id: int, line: str) -> None:
        """A reminder or an escalation: the card again, the managers mentioned."""
        mentions, text = [], line
        for manager in sorted(self.config.manager_ids):
            text += " "
            mentions.append({"type": "text_link", "offset": utf16(text), "length": utf16("👤"),
                             "url": f"tg://user?id={manager}"})
            text += "👤"
        payload = {"chat_id": chat_id, **self.render([handoff], prefix=text + "\n\n")}
        payload["entities"] = mentions + payload["entities"]
        uow.stage(OutboxMessage, chat_id=chat_id, method="sendMessage", lead_id=handoff.lead_id,
                  payload=payload)

    # -- erasure -------------------------------------------------------------------------
    async def erased(self, uow: UnitOfWork, user_id: int,
                     conversation_ids: list[int] | None = None) -> None:
        """After /forget or retention: the cards say the data was erased."""
        session = uow.session
        assert session is not None
        query = select(Handoff).where(Handoff.user_id == user_id)
        if conversation_ids is not None:
            query = query.where(Handoff.conversation_id.in_(conversation_ids))
        handoffs = list((await session.execute(query)).scalars())
        for handoff in handoffs:
            handoff.card_text = self.words["erased"]
        for card_id in {h.card_id for h in handoffs}:
            await self.refresh_card(uow, card_id)

    # -- words ---------------------------------------------------------------------------
    def when(self, moment: datetime, language: str) -> str:
        local = moment.astimezone(self.config.hours.zone) if self.config.hours else moment
        language = language_of(language)
        return f"{WEEKDAYS[language][local.weekday()]} {AFTER[language]} {local:%H:%M}"

    def _to_prospect(self, uow: UnitOfWork, handoff: Handoff, key: str, **values: str) -> None:
        language = language_of(handoff.language)
        uow.stage(OutboxMessage, chat_id=handoff.user_id, method="sendMessage",
                  conversation_id=handoff.conversation_id, lead_id=handoff.lead_id,
                  payload={"chat_id": handoff.user_id,
                           "text": PROSPECT_HANDOFF[language][key].format(**values)})

    def _words_for(self, tap: ManagerTap) -> Mapping[str, str]:
        """A refusal goes to whoever tapped, maybe not a manager: in their language."""
        return MANAGERS[language_of(tap.language_code)] if tap.language_code else self.words

    def _answer(self, uow: UnitOfWork, tap: ManagerTap, text: str | None = None,
                alert: bool = False) -> None:
        payload: dict[str, Any] = {"callback_query_id": tap.query_id}
        if text:
            payload |= {"text": text, "show_alert": alert}
        uow.stage(OutboxMessage, chat_id=tap.chat_id, lane="tap",
                  method="answerCallbackQuery", payload=payload)

    def _edit(self, uow: UnitOfWork, tap: ManagerTap, text: str, buttons: tuple,
              lead_id: int | None = None) -> None:
        if tap.message_id is None:
            return
        uow.stage(OutboxMessage, chat_id=tap.chat_id, method="editMessageText",
                  lead_id=lead_id, payload={
            "chat_id": tap.chat_id, "message_id": tap.message_id, "text": text,
            "reply_markup": inline_markup(buttons)})

    def _event(self, uow: UnitOfWork, handoff: Handoff, kind: str, now: datetime,
               **data: object) -> None:
        uow.stage(Event, user_id=handoff.user_id, conversation_id=handoff.conversation_id,
                  kind=kind, data={"handoff": handoff.id, **data}, created_at=now)
