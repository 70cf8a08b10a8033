"""What a CRM said, applied in one transaction (storage/deliveries/sales.py) with, when a
final stage (or a sale in another currency) is kept as the CRM's word rather than followed,
an alert to the lead's managers' group: the lead's number, the CRM, its word, nothing
personal. A stage still in process is kept without one (no alert at every pipeline move).

The manager's private copy of the lead is not edited when a CRM sets won or lost: its
status line stays as the manager last left it (the copy's buttons still work)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.outbox import messages
from dialogs.rules.sales import WORD, Said
from storage.deliveries import sales
from storage.schema.tables import Lead
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
NAMES = {"bitrix24": "Bitrix24", "amocrm": "amoCRM", "events": "CRM"}
ALERT = {
    "ru": "⚠️ Лид №{lead}: {crm} сообщает «{word}». {why} Статус в боте не изменён; "
          "слово CRM сохранено у лида.",
    "uk": "⚠️ Лід №{lead}: {crm} повідомляє «{word}». {why} Статус у боті не змінено; "
          "слово CRM збережено в ліда.",
    "en": "⚠️ Lead #{lead}: {crm} says “{word}”. {why} The bot's status is unchanged; "
          "the CRM's word is kept on the lead.",
}
WHY = {
    "ru": {"cannot_follow": "Это не может следовать за статусом «{status}».",
           "unknown_stage": "Для этой стадии нет статуса бота (LEADBOT_CRM_FILE).",
           "currency": "Сумма в {currency}, а не в {ours}: продажа не учтена."},
    "uk": {"cannot_follow": "Це не може йти після статусу «{status}».",
           "unknown_stage": "Для цієї стадії немає статусу бота (LEADBOT_CRM_FILE).",
           "currency": "Сума в {currency}, а не в {ours}: продаж не враховано."},
    "en": {"cannot_follow": "That cannot follow its status “{status}”.",
           "unknown_stage": "The bot has no status for that stage (LEADBOT_CRM_FILE).",
           "currency": "The amount is in {currency}, not {ours}: the sale is not counted."},
}


@dataclass(frozen=True)
class Context:
    currency: str  # LEADBOT_CURRENCY
    managers_chat_id: int | None
    language: str = "ru"


async def apply(uow: UnitOfWork, context: Context, target: str, key: str,
                lead_id: int | None, said: Said, now: datetime) -> sales.Outcome:
    """Applies it (the caller commits); a kept word alerts the managers once."""
    outcome = await sales.apply(uow, target, key, lead_id, said, now,
                                currency=context.currency,
                                managers_chat_id=context.managers_chat_id)
    log.info("crm inbound: %s %s -> lead %s: %s %s", target, key.split(":")[0],
             outcome.lead_id, outcome.result, outcome.why)
    if outcome.alert_chat is not None:
        lead = await uow.session.get(Lead, outcome.lead_id)  # kept: its status as it was
        status_before = lead.status if lead is not None else None
        language = context.language if context.language in ALERT else "en"
        why = WHY[language][outcome.why].format(
            status=status_before or "—", currency=said.currency or "?", ours=context.currency)
        word = said.word if WORD.match(said.word) else "?"
        messages.send(uow, outcome.alert_chat, ALERT[language].format(
            lead=outcome.lead_id, crm=NAMES.get(target, target), word=word, why=why),
            purpose="alert", lead_id=outcome.lead_id)
    return outcome
