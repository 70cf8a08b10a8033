"""Webhook mode, Telegram's side, for any transport (its Wire: bot/transport/base.py): the
route that answers 200 only after the update's commit, and the secret Telegram must present.

A wrong or missing X-Telegram-Bot-Api-Secret-Token gets 401 and nothing is stored
(Bot API, setWebhook: secret_token). A body that is not an update gets 400; an update that
cannot be read, or failed MAX_FAILURES times for a bug, gets 200 and is skipped (logged,
counted: bot/transport/updates.py), so Telegram does not send it again and again; an outage
gets 500 (Telegram sends it again later). The aiohttp application around the route is
bot/web/server.py.

May import: aiohttp, bot.settings, bot.transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from bot.settings import Settings
from bot.transport.base import Wire
from bot.transport.updates import Counters, Tries, is_outage, update_id_of

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"
Route = Callable[[web.Request], Awaitable[web.Response]]


class ChatQueue:
    """One update per chat at a time in this process, in the order they arrived.

    Telegram may post one prospect's updates at the same time (four ticks in a second);
    the prospect's row lock keeps them apart in the database, and this keeps them in order
    here, without each waiting update holding a database connection."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())  # FIFO: arrival order
        self._waiting[chat_id] = self._waiting.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:  # nobody else in line: forget the chat
                del self._waiting[chat_id], self._locks[chat_id]


def webhook_route(wire: Wire, secret: str, counters: Counters | None = None) -> Route:
    """The handler of POST WEBHOOK_PATH: Telegram's updates fed to the transport."""
    queue = ChatQueue()
    counters = counters or Counters()
    tries = Tries(counters)

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401, text="wrong secret token")
        try:
            raw = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
            log.warning("webhook: a body that is not JSON (or nested too deep); answered 400")
            return web.Response(status=400, text="not an update")
        if update_id_of(raw) is None:
            log.warning("webhook: JSON without an update_id; answered 400")
            return web.Response(status=400, text="not an update")
        update = wire.parse(raw, counters)
        if update is None:  # logged and counted; sent again, it would fail again
            return web.Response(text="skipped")
        try:
            async with queue.turn(wire.chat_of(update)):
                await wire.feed(update)
        except Exception as error:
            if is_outage(error):
                log.warning("update %s not handled: %s; Telegram will send it again",
                            update.update_id, type(error).__name__)
                return web.Response(status=500, text="failed, send again")
            if not tries.failed(update):
                return web.Response(status=500, text="failed, send again")
            await wire.answer_skipped(update)
            return web.Response(text="skipped")
        tries.done(update)
        return web.Response(text="ok")

    return webhook


def webhook_secret(settings: Settings) -> str:
    """LEADBOT_TELEGRAM_WEBHOOK_SECRET, or one derived from the token: the same in every
    process."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret.get_secret_value()
    assert settings.bot_token is not None
    return hashlib.sha256(b"leadbot-webhook:" + settings.bot_token.get_secret_value()
                          .encode()).hexdigest()[:48]


def webhook_url(settings: Settings) -> str:
    assert settings.telegram_webhook_url
    return settings.telegram_webhook_url.rstrip("/") + WEBHOOK_PATH


def refusal_of_webhook(url: str, error: BaseException) -> str:
    return (f"Telegram refused the webhook {url} (LEADBOT_TELEGRAM_WEBHOOK_URL must be public "
            f"https; LEADBOT_TELEGRAM_WEBHOOK_SECRET A-Z a-z 0-9 _ -): {error}")
