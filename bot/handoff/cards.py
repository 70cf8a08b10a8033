"""The lead's card in the managers' group: whether a lead is handed off, the card's text
(who, answers with points, price, reward, source, how long it took), a card or a digest
with a Claim button per lead, and the group's budget kept by folding waiting cards into
digests. Runs in the transaction of the update that qualified the lead.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.handoff.desk import Desk, utf16
from bot.handoff.erasing import PURPOSE as ERASURE
from bot.handoff.erasing import edit_shown
from bot.outbox import messages, textlimits
from bot.service import callbacks
from dialogs.engine.actions import Action, Button, RecordQualification
from dialogs.engine.state import State
from dialogs.engine.texts import pick
from dialogs.format.schema import Flow
from dialogs.rules.handoff import hands_off
from dialogs.rules.validators import format_number
from storage.privacy.shown import ERASED
from storage.schema.tables import Conversation, Handoff, Lead, OutboxMessage
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
DIGEST_SIZE = 8  # leads per digest message (text and buttons stay readable on a phone)
CARD_TEXT = 3000  # a lead's own text at most: with its links, claim and status lines,
#                   and the reply hint in the private chat, a card fits one message


class Cards:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def wanted(self, actions: list[Action], consents: Collection[str]
               ) -> RecordQualification | None:
        """The qualification that hands this lead off, if any: the flow says hand-off or
        the temperature is one LEADBOT_HANDOFF_ALSO names; never without consent."""
        config = self.desk.config
        if not config.hands_off:
            return None
        for action in actions:
            if isinstance(action, RecordQualification) and hands_off(
                    outcome=action.outcome, temperature=action.temperature,
                    also=config.also, consented="processing" in consents):
                return action
        return None

    def text(self, lead: Lead, conversation: Conversation, state: State, flow: Flow,
             q: RecordQualification, now: datetime,
             nurtured_since: datetime | None = None) -> str:
        w, config = self.desk.words, self.desk.config
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
            low, high = (format_number(results[k], config.language)
                         for k in ("price_low", "price_high"))
            lines.append(f"{w['price']}: {low}–{high}")
        if q.discount or lead.reward_code:
            reward = f"{w['discount']} {format_number(q.discount, config.language)} %"
            if lead.reward_code:
                reward += f" · {w['code']} {lead.reward_code}"
            lines.append(reward)
        # "filled in within": the quiz's own duration, from the start of the pass that
        # produced the lead to its end. A lead requalified by a follow-up's answer days
        # later ended its quiz when its nurture began, not now.
        took = max(int(((nurtured_since or now) - conversation.started_at).total_seconds()), 0)
        lines.append(" · ".join(part for part in (
            f"{w['source']}: {conversation.source}" if conversation.source else "",
            f"{flow.id} v{flow.version}", state.language,
            f"{w['took']} {took // 60} min {took % 60} s") if part))
        if nurtured_since is not None:  # a follow-up's answer made it hot
            lines.append(f"🌱 {w['nurtured']} {nurtured(now - nurtured_since, w)}: "
                         + "; ".join(self.nurture_answers(flow, state)))
        if config.hours is not None and not config.hours.is_open(now):
            lines.append(f"🌙 {w['after_hours_note']}")
        text = "\n".join(lines)
        if answers and textlimits.units(text) > CARD_TEXT:  # many long answers: cut them
            line = f"{w['answers']}: {answers}"
            room = CARD_TEXT - (textlimits.units(text) - textlimits.units(line))
            text = text.replace(line, textlimits.shorten(line, max(room, 1))[0], 1)
        return text

    def nurture_answers(self, flow: Flow, state: State) -> list[str]:
        """The answers to follow-ups' questions, in the managers' language."""
        language, found = self.desk.config.language, []
        for key, value in state.answers.items():
            message = flow.nurture_message(key[1:]) if key.startswith("~") else None
            option = next((o for o in message.question if o.id == value), None
                          ) if message else None
            if option is not None:
                found.append(pick(option.text, language, flow.language))
        return found

    def answer(self, flow: Flow, step_id: str, value: object) -> str:
        """An answer in short, in the managers' language."""
        language = self.desk.config.language
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
        each prospect's Telegram, and a Claim button for each lead not yet claimed. An
        erased lead is the words that say so, nothing else: no link, nothing to claim."""
        w = self.desk.words
        text, entities, buttons = prefix, [], []
        if len(handoffs) > 1:
            text += w["digest"].format(count=len(handoffs)) + "\n\n"
        for index, handoff in enumerate(handoffs, 1):
            number = f"#{index} " if len(handoffs) > 1 else ""
            text += number + (handoff.card_text or "") + "\n"
            if self.is_erased(handoff):
                text += "\n"
                continue
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
                buttons.append((Button(text=label, data=callbacks.claim(handoff.id or 0)),))
            text += "\n"
        return {"text": text.strip(), "entities": entities,
                "reply_markup": messages.inline_markup(tuple(buttons)),
                "link_preview_options": messages.NO_PREVIEW}

    async def post(self, uow: UnitOfWork, handoff: Handoff) -> None:
        """A new card; past the group's budget (a queue of cards waiting), the lead joins
        the newest waiting digest instead, so the group gets fewer, fuller messages and
        nothing is dropped. Never a card whose call a sender has started (it is marked
        called first, storage/work/outbox.py call), nor one another process's sender holds
        in memory (uow.mine); the row is locked while it is rewritten."""
        chat_id = handoff.chat_id
        waiting = await uow.handoffs.waiting_card(chat_id)
        if waiting is not None and uow.mine(waiting):
            members = [*await uow.handoffs.on_card(waiting.id), handoff]
            payload = self.render(members)
            if len(members) <= DIGEST_SIZE and self.fits(members, payload["text"]):
                handoff.card_id = waiting.id
                waiting.payload = {"chat_id": chat_id, **payload}
                waiting.lead_id = None  # about several leads: found by handoffs.card_id
                uow.outbox.changed = True  # a sender's memory of it is stale: read again
                return
        row = await uow.outbox.add_now(OutboxMessage(
            chat_id=chat_id, method="sendMessage", purpose="card", lead_id=handoff.lead_id,
            payload={"chat_id": chat_id, **self.render([handoff])}))
        handoff.card_id = row.id

    def fits(self, handoffs: list[Handoff], text: str) -> bool:
        """A digest stays one message (its Claim buttons with it) also once every lead in
        it is claimed by a manager with a long name: the edits must fit too."""
        room = textlimits.units(self.desk.words["claimed"].format(name="W" * 128,
                                                                  seconds=10**7)) + 1
        return textlimits.units(text) + room * len(handoffs) <= textlimits.TEXT

    def is_erased(self, handoff: Handoff) -> bool:
        return handoff.card_text in (ERASED, self.desk.words["erased"],
                                     self.desk.words["expired"])

    async def refresh(self, uow: UnitOfWork, card_id: int | None,
                      erasure_of: int | None = None) -> None:
        """Show the card's leads as they are now (claimed, erased). A card not sent yet is
        rewritten; a sent one gets an edit, and a waiting edit of it is rewritten instead
        of queueing another (edits count against the group's budget too). `erasure_of`:
        the erased conversation the edit is for (a refused edit goes in its receipt)."""
        if card_id is None:
            return
        card = await uow.outbox.locked(card_id)  # one rewrite at a time, after the last
        if card is None or card.status == "dropped":  # never shown: nothing to change
            return
        members = await uow.handoffs.on_card(card_id)
        payload = {"chat_id": card.chat_id, **self.render(members)}
        lead_id = members[0].lead_id if len(members) == 1 else None
        if card.status == "pending" and card.called_at is None and uow.mine(card):
            card.payload = payload
            uow.outbox.changed = True  # a sender's memory of it is stale: read again
            return
        waiting = await uow.handoffs.waiting_edit(card_id)
        erasure = {} if erasure_of is None else {"purpose": ERASURE,
                                                   "conversation_id": erasure_of}
        if waiting is not None and uow.mine(waiting):
            waiting.payload, waiting.lead_id = payload, lead_id
            for column, value in erasure.items():
                setattr(waiting, column, value)
            uow.outbox.changed = True  # a sender's memory of it is stale: read again
            return
        uow.stage(OutboxMessage, chat_id=card.chat_id, method="editMessageText",
                  edit_of=card_id, lead_id=lead_id, payload=payload, **erasure)

    def repost(self, uow: UnitOfWork, handoff: Handoff, chat_id: int, line: str) -> None:
        """A reminder or an escalation: the card again, the managers mentioned."""
        mentions, text = [], line
        for manager in sorted(self.desk.config.manager_ids):
            text += " "
            mentions.append({"type": "text_link", "offset": utf16(text), "length": utf16("👤"),
                             "url": f"tg://user?id={manager}"})
            text += "👤"
        payload = {"chat_id": chat_id, **self.render([handoff], prefix=text + "\n\n")}
        payload["entities"] = mentions + payload["entities"]
        uow.stage(OutboxMessage, chat_id=chat_id, method="sendMessage", lead_id=handoff.lead_id,
                  payload=payload)

    async def erased(self, uow: UnitOfWork, user_id: int,
                     conversation_ids: list[int] | None = None,
                     shown: Iterable[OutboxMessage] = ()) -> None:
        """After /forget or retention: the cards say the data was erased, and every other
        message about the person in a managers' or a manager's chat (`shown`: the
        erasure's receipt) is edited to its erased form (erasing.py)."""
        handoffs = await uow.handoffs.of_user(user_id, conversation_ids)
        cards: dict[int, int] = {}  # card -> the erased conversation its edit is for
        # /forget erases every conversation; retention names those whose time ran out
        said = self.desk.words["erased" if conversation_ids is None else "expired"]
        for handoff in sorted(handoffs, key=lambda h: h.id or 0):
            handoff.card_text = said
            handoff.due_at = None  # no reminder repeats an erased lead
            if handoff.card_id is not None:
                cards.setdefault(handoff.card_id, handoff.conversation_id)
        for card_id, conversation_id in cards.items():
            await self.refresh(uow, card_id, conversation_id)
        edit_shown(uow, shown, handoffs)


def nurtured(took: timedelta, w: dict[str, str]) -> str:
    """How long nurture took: "3 d 4 h", "5 h", "12 min"."""
    minutes = max(int(took.total_seconds()) // 60, 0)
    days, hours = minutes // 1440, minutes % 1440 // 60
    if days:
        return f"{days} {w['days']} {hours} {w['hours']}"
    return f"{hours} {w['hours']}" if hours else f"{minutes} min"
