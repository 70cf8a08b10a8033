"""The prospect's rights as commands (GDPR Art. 7(3), 13, 15, 17, 20; 152-FZ; Telegram's
Bot Platform Developer Terms): /privacy, /mydata, /stop, /forget, each but /privacy confirmed
with a button first, and the one-tap Unsubscribe under every marketing message (no second
question: the button was it). Runs inside the service's transaction for the update; what
is stored is changed by storage/privacy/."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from bot.handoff.handoffs import Handoffs
from bot.outbox import messages
from bot.service import callbacks
from bot.service.flows import FlowRegistry
from bot.texts import RIGHTS, language_of
from dialogs.engine.actions import Button
from dialogs.format.schema import ADVERTISING, ConsentStep, Flow
from storage.privacy import erasure
from storage.privacy import rights as privacy_rights
from storage.schema.tables import Conversation, Event, OutboxMessage, Prospect
from storage.work.uow import UnitOfWork

COMMANDS = ("privacy", "mydata", "stop", "forget")
ALIASES = {"unsubscribe": "stop", "revoke": "stop"}  # the words people try, in any language
CONFIRMED = ("mydata", "stop", "forget")
UNSUBSCRIBE = callbacks.UNSUBSCRIBE  # the button on every marketing message
CHANNEL = "telegram"  # where consents are given and withdrawn: the ledger's `channel`

@dataclass(frozen=True)
class Operator:
    """Who the prospect deals with, from settings (each may be None: the flows say)."""

    company: str | None = None
    contact: str | None = None
    privacy_url: str | None = None
    retention_days: int = 365
    # (category, name): the configured CRMs and ad platforms (bot/deliveries/targets.py)
    recipients: tuple[tuple[str, str], ...] = ()
    named: tuple[str, ...] = ()  # the ad platforms given the phone and email (hashed)


def unsubscribe_footer(language: str) -> str:
    """What every marketing message ends with: how to stop (and a button that does)."""
    return RIGHTS[language_of(language)]["unsubscribe_hint"]


def unsubscribe_markup(language: str) -> dict:
    return messages.inline_markup(((Button(text=RIGHTS[language_of(language)]["unsubscribe"],
                                           data=UNSUBSCRIBE),),))


class Rights:
    def __init__(self, flows: FlowRegistry, operator: Operator, handoffs: Handoffs) -> None:
        self.flows, self.operator, self.handoffs = flows, operator, handoffs

    async def command(self, uow: UnitOfWork, prospect: Prospect, current: Conversation | None,
                      command: str, language: str) -> None:
        language = language_of(language)
        command = ALIASES.get(command, command)
        words = self._words(current, language)
        if command == "privacy":
            self._send(uow, prospect, RIGHTS[language]["privacy"].format(**words))
            return
        texts = RIGHTS[language]
        buttons = ((Button(text=texts[f"yes_{command}"],
                           data=callbacks.rights(command, "yes")),),
                   (Button(text=texts["cancel"], data=callbacks.rights(command, "no")),))
        self._send(uow, prospect, texts[f"ask_{command}"].format(**words), buttons)

    async def tap(self, uow: UnitOfWork, prospect: Prospect, current: Conversation | None,
                  press: callbacks.RightsAnswer, language: str, *, query_id: str | None,
                  message_id: int | None, update_id: int, now: datetime) -> bool:
        """A tap on a confirmation. True when personal data was erased (/forget)."""
        language = language_of(language)
        texts = RIGHTS[language]
        command, answer = press.command, press.answer
        if command == "unsubscribe" and not answer:  # one tap: the button was the question
            self._answer(uow, prospect, query_id)
            shown = hashlib.sha256(unsubscribe_footer(language).encode()).hexdigest()
            withdrawn = await privacy_rights.withdraw(
                uow, prospect.user_id, ["marketing"], now=now, text_sha256=shown,
                language=language, update_id=update_id, channel=CHANNEL, message_id=message_id)
            # under a broadcast: its results count who it made leave
            await uow.broadcasts.unsubscribed_from(prospect.chat_id, message_id, now)
            self._send(uow, prospect, texts["stopped" if withdrawn else "not_subscribed"])
            return False
        if command not in CONFIRMED or answer not in ("yes", "no"):
            self._answer(uow, prospect, query_id, texts["use_buttons"])
            return False
        self._answer(uow, prospect, query_id)
        words = self._words(current, language)
        asked = texts[f"ask_{command}"].format(**words)
        if answer == "no":
            self._edit(uow, prospect, message_id, f"{asked}\n\n— {texts['cancel']}")
            self._send(uow, prospect, texts["cancelled"])
            return False
        self._edit(uow, prospect, message_id, f"{asked}\n\n— {texts[f'yes_{command}']}")
        shown = hashlib.sha256(asked.encode()).hexdigest()  # the ledger's proof of the text
        if command == "mydata":
            # Built when sent (bot/outbox/sender.py), so it is exactly what is stored then, and no
            # copy of the personal data waits in the outbox.
            uow.stage(OutboxMessage, chat_id=prospect.chat_id, method="sendDocument",
                      payload={"chat_id": prospect.chat_id, "export_of": prospect.user_id,
                               "caption": texts["mydata_caption"] + (
                                   texts["mydata_conversions"] if self._advertised() else "")})
            self._event(uow, prospect, "data_exported", now)
        elif command == "stop":
            withdrawn = await privacy_rights.withdraw(
                uow, prospect.user_id, ["marketing"], now=now, text_sha256=shown,
                language=language, update_id=update_id, channel=CHANNEL, message_id=message_id)
            self._send(uow, prospect, texts["stopped" if withdrawn else "not_subscribed"])
        else:
            await privacy_rights.withdraw(
                uow, prospect.user_id, privacy_rights.PURPOSES, now=now, text_sha256=shown,
                language=language, update_id=update_id, channel=CHANNEL, message_id=message_id)
            receipt = await erasure.erase(uow, prospect.user_id, now=now, reason="request")
            # the managers' cards say so; what else they were shown is edited
            await self.handoffs.erased(uow, prospect.user_id, shown=receipt.shown)
            prospect.relay_handoff_id = None
            self._send(uow, prospect, texts["forgotten"])
            return True
        return False

    # -- words ----------------------------------------------------------------------------
    def _words(self, current: Conversation | None, language: str) -> dict[str, object]:
        flow = self._flow(current)
        company = self.operator.company or (flow.operator.company if flow else None) or ""
        if isinstance(company, dict):
            company = company.get(language) or next(iter(company.values()))
        contact = self.operator.contact or (flow.operator.contact if flow else None)
        return {"company": company, "contact": contact or RIGHTS[language]["no_contact"],
                "days": self.operator.retention_days, "recipients": self._recipients(language),
                "policy_url": self.operator.privacy_url or self._policy_url(flow) or "—"}

    def _advertised(self) -> bool:
        return any(c == ADVERTISING for c, _ in self.operator.recipients)

    def _recipients(self, language: str) -> str:
        """The CRMs by name and category; the ad platforms in a sentence of their own:
        what they are told, which get the contacts hashed, what /forget can and cannot do."""
        texts = RIGHTS[language]
        crms = [(c, n) for c, n in self.operator.recipients if c != ADVERTISING]
        ads = [n for c, n in self.operator.recipients if c == ADVERTISING]
        said = texts["recipients"].format(names=", ".join(
            f"{name} ({category})" for category, name in crms)) if crms else ""
        if ads:
            named = [n for n in ads if n in self.operator.named]
            hashed = texts["hashed"].format(names=", ".join(named)) if named else ""
            said += texts["conversions"].format(names=", ".join(ads), hashed=hashed)
        return said

    def _flow(self, current: Conversation | None) -> Flow | None:
        if current is not None and current.flow_id in self.flows.latest:
            return self.flows.latest[current.flow_id].flow
        flows = sorted(self.flows.latest.items())
        return flows[0][1].flow if flows else None

    def _policy_url(self, flow: Flow | None) -> str | None:
        candidates = [flow] if flow else []
        candidates += [r.flow for _, r in sorted(self.flows.latest.items())]
        for candidate in candidates:
            for step in candidate.steps.values():
                if isinstance(step, ConsentStep):
                    return step.policy_url
        return None

    # -- messages -------------------------------------------------------------------------
    def _send(self, uow: UnitOfWork, prospect: Prospect, text: str,
              buttons: tuple = ()) -> None:
        messages.send(uow, prospect.chat_id, text, buttons, preview=False)

    def _edit(self, uow: UnitOfWork, prospect: Prospect, message_id: int | None,
              text: str) -> None:
        """The confirmation, with its buttons gone and the choice shown."""
        messages.edit(uow, prospect.chat_id, message_id, text)

    def _answer(self, uow: UnitOfWork, prospect: Prospect, query_id: str | None,
                text: str | None = None) -> None:
        messages.answer(uow, prospect.chat_id, query_id, text)

    def _event(self, uow: UnitOfWork, prospect: Prospect, kind: str, now: datetime) -> None:
        uow.stage(Event, user_id=prospect.user_id, kind=kind, created_at=now)
