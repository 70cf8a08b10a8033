"""Which inbound routes the settings turn on, checked before the bot starts: a Bitrix24
application token without LEADBOT_BITRIX24_WEBHOOK_URL (nothing to read the deal back
with), an amoCRM hook secret without amoCRM's URL and token, a secret too short to be one:
each stops the start with one line naming the setting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries.crm.amocrm import AmoCrmTarget
from bot.deliveries.crm.bitrix24 import Bitrix24Target
from bot.deliveries.crm.inbound.apply import Context
from bot.deliveries.crm.inbound.reader import Reader
from bot.deliveries.crm.inbound.routes import Inbound
from bot.deliveries.targets import CrmConfigError
from bot.settings import Settings

MIN_SECRET = 24  # characters of a secret that is the only thing guarding a route


def _secret(settings: Settings, name: str) -> str | None:
    value = getattr(settings, name)
    text = value.get_secret_value() if value is not None else ""
    if text and len(text) < MIN_SECRET:
        raise CrmConfigError(f"LEADBOT_{name.upper()}: at least {MIN_SECRET} characters "
                             f"(a long random string: python -c 'import secrets; "
                             f"print(secrets.token_urlsafe(32))')")
    return text or None


@dataclass(frozen=True)
class Plan:
    """The inbound settings, checked; `build` makes the routes and their reader once the
    database is open."""

    settings: Settings
    token: str | None
    amo_secret: str | None
    events_secret: str | None
    bitrix: Bitrix24Target | None
    amo: AmoCrmTarget | None

    def build(self, sessions: async_sessionmaker[AsyncSession], *, language: str,
              on_commit: Callable[[], None], on_outbox: Callable[[], None],
              lease: timedelta) -> Inbound:
        context = Context(self.settings.currency, self.settings.managers_chat_id, language)
        reader = Reader(sessions, context, bitrix24=self.bitrix, amocrm=self.amo,
                        on_outbox=on_outbox, on_commit=on_commit,
                        lease=lease) if (self.bitrix or self.amo) else None
        return Inbound(sessions, context, reader=reader, bitrix24_token=self.token,
                       amocrm_secret=self.amo_secret, events_secret=self.events_secret,
                       on_commit=on_commit, on_outbox=on_outbox)


def inbound_from(settings: Settings, targets: list[Any]) -> Plan | None:
    """None: no inbound setting is set. Raises CrmConfigError."""
    token = settings.bitrix24_app_token.get_secret_value() \
        if settings.bitrix24_app_token is not None else None
    amo_secret = _secret(settings, "amocrm_hook_secret")
    events_secret = _secret(settings, "inbound_secret")
    if not (token or amo_secret or events_secret):
        return None
    by_name = {target.name: target for target in targets}
    bitrix = by_name.get("bitrix24") if token else None
    amo = by_name.get("amocrm") if amo_secret else None
    if token and not isinstance(bitrix, Bitrix24Target):
        raise CrmConfigError("LEADBOT_BITRIX24_APP_TOKEN needs LEADBOT_BITRIX24_WEBHOOK_URL "
                             "(deals and leads are read back through it)")
    if amo_secret and not isinstance(amo, AmoCrmTarget):
        raise CrmConfigError("LEADBOT_AMOCRM_HOOK_SECRET needs LEADBOT_AMOCRM_URL and "
                             "LEADBOT_AMOCRM_TOKEN (leads are read back through them)")
    return Plan(settings, token or None, amo_secret, events_secret, bitrix, amo)
