"""What every part of the hand-off shares: its settings (HandoffConfig, from the LEADBOT_
settings), the managers' words, and how it writes: messages to the prospect, answers and
edits for a manager's tap, events for the funnel. Cards, claims, relay and timers each take
a Desk; none of them writes a Bot API payload by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.outbox import messages
from bot.settings import Settings
from bot.texts import AFTER, MANAGERS, PROSPECT_HANDOFF, WEEKDAYS, language_of
from dialogs.engine.actions import Keyboard
from dialogs.rules.handoff import sla_due
from dialogs.rules.hours import WorkingHours
from dialogs.rules.routing import Routing, RoutingError
from storage.schema.tables import Event, Handoff
from storage.work.uow import UnitOfWork


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
    currency: str = "RUB"  # LEADBOT_CURRENCY: a won sale's amount is recorded in it

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
            except UnicodeDecodeError:
                raise RoutingError(f"{settings.routing_file}: not UTF-8 text (save it as "
                                   f"UTF-8)") from None
            routing = Routing.from_yaml(text, str(settings.routing_file))
        return cls(settings.managers_chat_id, frozenset(settings.manager_ids),
                   settings.escalation_chat_id, frozenset(settings.handoff_also),
                   dict(settings.sla_minutes), language_of(settings.managers_language),
                   WorkingHours.parse(settings.working_hours, settings.timezone), routing,
                   settings.currency)

    @property
    def hands_off(self) -> bool:
        """Is there anyone to hand leads to at all (a managers' chat, or routes)?"""
        return self.chat_id is not None or bool(self.routing.routes)


class Tapper(Protocol):
    """Who tapped a manager's button, as the desk needs it (the service's ManagerTap)."""

    user_id: int
    chat_id: int
    query_id: str
    message_id: int | None
    language_code: str | None


def utf16(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class Desk:
    def __init__(self, config: HandoffConfig) -> None:
        self.config = config
        self.words = MANAGERS[config.language]
        self.bot_username = ""  # from getMe at start: the link a manager opens

    def due(self, now: datetime, temperature: str) -> datetime:
        return sla_due(now, temperature, self.config.sla_minutes, self.config.hours)

    def when(self, moment: datetime, language: str) -> str:
        local = moment.astimezone(self.config.hours.zone) if self.config.hours else moment
        language = language_of(language)
        return f"{WEEKDAYS[language][local.weekday()]} {AFTER[language]} {local:%H:%M}"

    def words_for(self, tap: Tapper) -> Mapping[str, str]:
        """A refusal goes to whoever tapped, maybe not a manager: in their language."""
        return MANAGERS[language_of(tap.language_code)] if tap.language_code else self.words

    def to_prospect(self, uow: UnitOfWork, handoff: Handoff, key: str, **values: str) -> None:
        language = language_of(handoff.language)
        messages.send(uow, handoff.user_id, PROSPECT_HANDOFF[language][key].format(**values),
                      conversation_id=handoff.conversation_id, lead_id=handoff.lead_id)

    def answer(self, uow: UnitOfWork, tap: Tapper, text: str | None = None,
               alert: bool = False) -> None:
        messages.answer(uow, tap.chat_id, tap.query_id, text, alert)

    def edit(self, uow: UnitOfWork, tap: Tapper, text: str, buttons: Keyboard,
             lead_id: int | None = None) -> None:
        messages.edit(uow, tap.chat_id, tap.message_id, text, buttons, lead_id=lead_id)

    def event(self, uow: UnitOfWork, handoff: Handoff, kind: str, now: datetime,
              **data: Any) -> None:
        uow.stage(Event, user_id=handoff.user_id, conversation_id=handoff.conversation_id,
                  kind=kind, data={"handoff": handoff.id, **data}, created_at=now)
