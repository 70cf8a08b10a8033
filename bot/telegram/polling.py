"""Long polling that acknowledges an update only after its transaction committed.

aiogram's own polling confirms the offset whatever its handlers did; here the offset moves
past a batch only when every update of it was handled, or skipped on purpose: it could not
be read, or it kept failing for a bug (bot/telegram/updates.py). Updates of one chat are handled in
order, one at a time; different chats concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import Update

from bot.telegram.errors import TelegramRefused, TokenRevoked
from bot.telegram.updates import (
    MAX_FAILURES,
    Counters,
    GetRawUpdates,
    Tries,
    answer_skipped,
    is_outage,
    parse,
    update_id_of,
)

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
__all__ = ["ALLOWED_UPDATES", "MAX_FAILURES", "Poller", "chat_of", "poll"]
# The database or the network being away (bot/telegram/updates.py is_outage) is not the update's
# fault: such updates are retried for as long as it takes, never skipped.


def chat_of(update: Update) -> int:
    if update.message:
        return update.message.chat.id
    if update.callback_query:
        return update.callback_query.from_user.id
    if update.my_chat_member:
        return update.my_chat_member.chat.id
    return 0


class Poller:
    def __init__(self, bot: Bot, dispatcher: Dispatcher, timeout: int = 25,
                 counters: Counters | None = None) -> None:
        self.bot, self.dispatcher, self.timeout = bot, dispatcher, timeout
        self.counters = counters or Counters()
        self.offset: int | None = None
        self.tries = Tries(self.counters)
        self.parsed: dict[int, Update | None] = {}  # the batch in hand, read once
        self.batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            fetch = asyncio.create_task(self.bot(GetRawUpdates(
                offset=self.offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES)))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():  # stopping: nothing fetched is lost, it was not confirmed
                fetch.cancel()
                break
            try:
                raw = fetch.result()
            except TelegramUnauthorizedError:
                raise
            except TelegramRetryAfter as error:
                await asyncio.sleep(error.retry_after)
                continue
            except (TelegramNetworkError, TelegramServerError, TelegramConflictError) as error:
                log.warning("getUpdates failed (%s); retrying in %.0f s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            except Exception:  # an answer we cannot read must not stop polling for good
                log.exception("getUpdates failed; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if raw and not await self.handle_raw(raw):
                log.warning("batch not done (the database away?); again in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0

    async def handle_raw(self, raw: list[dict]) -> bool:
        """A batch as getUpdates gave it: each update parsed on its own; one that cannot
        be read is skipped (bot/telegram/updates.py parse), the others handled."""
        updates = []
        for item in raw:
            update_id = update_id_of(item)
            if update_id is None or update_id not in self.parsed:  # not again when retried
                update = parse(item, self.bot, self.counters)
                if update_id is not None:
                    self.parsed[update_id] = update
            else:
                update = self.parsed[update_id]
            if update is not None:
                updates.append(update)
        if updates and not await self.handle_batch(updates):
            return False
        ids = [i for i in map(update_id_of, raw) if i is not None]
        if ids:
            self.offset = max(self.offset or 0, max(ids) + 1)
        self.parsed.clear()
        return True

    async def handle_batch(self, updates: list[Update]) -> bool:
        """Handles a batch; the offset moves past it only when all of it is done with."""
        chats: dict[int, list[Update]] = defaultdict(list)
        for update in updates:
            chats[chat_of(update)].append(update)
        results = await asyncio.gather(*(self.handle_chat(batch) for batch in chats.values()))
        self.batches += 1
        if all(results):
            self.offset = max(self.offset or 0, updates[-1].update_id + 1)
            return True
        return False

    async def handle_chat(self, updates: list[Update]) -> bool:
        """True when every update of this chat is done with (handled, or given up on)."""
        for update in updates:
            try:
                await self.dispatcher.feed_update(self.bot, update)
            except Exception as error:
                if is_outage(error):
                    log.warning("update %s not handled: %s", update.update_id,
                                type(error).__name__)
                    return False
                # a bug, or a statement the database refused: one update must not stop
                # every other chat
                if not self.tries.failed(update):
                    return False  # not acknowledged: Telegram gives it to us again
                await answer_skipped(self.bot, update)
            self.tries.done(update)
        return True


async def poll(bot: Bot, dispatcher: Dispatcher, counters: Counters,
               stop: asyncio.Event) -> None:
    """Long polling until `stop`. TelegramRefused when the webhook cannot be switched off
    first; TokenRevoked when Telegram refuses the token while polling."""
    try:  # polling and a webhook exclude each other (Bot API, getUpdates)
        await bot.delete_webhook(drop_pending_updates=False)
    except (TelegramAPIError, OSError) as error:
        raise TelegramRefused(f"cannot switch the bot to polling: {error}") from None
    try:
        await Poller(bot, dispatcher, counters=counters).run(stop)
    except TelegramUnauthorizedError as error:
        raise TokenRevoked(str(error)) from None
