"""The PTB transport as the app sees it (bot/transport/base.py Transport): the Bot from the
settings, the service attached (bot/service/route.py), the checks at start, the webhook
switched on or off, and the outbox's delivery.

May import: telegram (PTB), bot.settings, bot.service, bot.handoff, bot.ptb, bot.transport.
"""

from __future__ import annotations

from telegram.error import RetryAfter, TelegramError

from bot.handoff.handoffs import Handoffs
from bot.ptb import checks, client
from bot.ptb.client import LeadbotBot
from bot.ptb.delivery import PtbDelivery
from bot.ptb.wire import PtbWire, seconds
from bot.service.core import Service
from bot.settings import Settings
from bot.transport.errors import CallLater, TelegramRefused
from bot.transport.webhook import refusal_of_webhook

__all__ = ["PtbTransport", "bot_username", "open_transport"]


class PtbTransport(PtbWire):
    name = "ptb"

    def __init__(self, bot: LeadbotBot) -> None:
        super().__init__(bot)
        self.delivery = PtbDelivery(bot)

    def attach(self, service: Service) -> None:
        self.service = service

    async def check(self, settings: Settings, handoffs: Handoffs) -> None:
        await checks.check_telegram(self.bot, settings, handoffs)

    async def delete_webhook(self) -> None:
        try:  # polling and a webhook exclude each other (Bot API, getUpdates)
            await self.bot.delete_webhook(drop_pending_updates=False)
        except (TelegramError, OSError) as error:
            raise TelegramRefused(f"cannot switch the bot to polling: {error}") from None

    async def set_webhook(self, url: str, secret: str, allowed_updates: list[str]) -> None:
        try:
            await self.bot.set_webhook(url, secret_token=secret,
                                       allowed_updates=allowed_updates)
        except RetryAfter as error:
            raise CallLater(seconds(error.retry_after)) from None
        except (TelegramError, OSError) as error:
            raise TelegramRefused(refusal_of_webhook(url, error)) from None

    async def close(self) -> None:
        await client.close(self.bot)


def open_transport(settings: Settings) -> PtbTransport:
    return PtbTransport(client.build_bot(settings))


bot_username = client.bot_username
