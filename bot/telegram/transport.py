"""The aiogram transport as the app sees it (bot/transport/base.py Transport): the Bot from
the settings, the service attached (bot/service/route.py), the checks at start, the webhook switched
on or off, and the outbox's delivery.

May import: aiogram, bot.settings, bot.service, bot.handoff, bot.outbox, bot.telegram,
bot.transport.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter

from bot.handoff.handoffs import Handoffs
from bot.service.core import Service
from bot.settings import Settings
from bot.telegram import checks, client
from bot.telegram.delivery import AiogramDelivery
from bot.telegram.wire import AiogramWire
from bot.transport.errors import CallLater, TelegramRefused
from bot.transport.webhook import refusal_of_webhook

__all__ = ["AiogramTransport", "bot_username", "open_transport"]


class AiogramTransport(AiogramWire):
    name = "aiogram"

    def __init__(self, bot: Bot) -> None:
        super().__init__(bot)
        self.delivery = AiogramDelivery(bot)

    def attach(self, service: Service) -> None:
        self.service = service

    async def check(self, settings: Settings, handoffs: Handoffs) -> None:
        await checks.check_telegram(self.bot, settings, handoffs)
        self.username = handoffs.bot_username  # a /command@name is ours or not

    async def delete_webhook(self) -> None:
        try:  # polling and a webhook exclude each other (Bot API, getUpdates)
            await self.bot.delete_webhook(drop_pending_updates=False)
        except (TelegramAPIError, OSError) as error:
            raise TelegramRefused(f"cannot switch the bot to polling: {error}") from None

    async def set_webhook(self, url: str, secret: str, allowed_updates: list[str]) -> None:
        try:
            await self.bot.set_webhook(url, secret_token=secret,
                                       allowed_updates=allowed_updates)
        except TelegramRetryAfter as error:
            raise CallLater(float(error.retry_after)) from None
        except (TelegramAPIError, OSError) as error:
            raise TelegramRefused(refusal_of_webhook(url, error)) from None

    async def close(self) -> None:
        await client.close(self.bot)


def open_transport(settings: Settings) -> AiogramTransport:
    return AiogramTransport(client.build_bot(settings))


bot_username = client.bot_username
