"""Long polling that acknowledges an update only after its transaction committed.

aiogram's own polling confirms the offset whatever its handlers did; here the offset moves
past a batch only when every update of it was handled (or kept failing, see below). Updates
of one chat are handled in order, one at a time; different chats concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import Update

from bot.jobs.periodic import OUTAGES

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_FAILURES = 3  # an update whose handling hits a bug is skipped after this many tries
# The database or the network being away (bot/jobs/periodic.py OUTAGES) is not the update's
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
    def __init__(self, bot: Bot, dispatcher: Dispatcher, timeout: int = 25) -> None:
        self.bot, self.dispatcher, self.timeout = bot, dispatcher, timeout
        self.offset: int | None = None
        self.failures: dict[int, int] = {}
        self.batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            fetch = asyncio.create_task(self.bot.get_updates(
                offset=self.offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():  # stopping: nothing fetched is lost, it was not confirmed
                fetch.cancel()
                break
            try:
                updates = fetch.result()
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
            if updates and not await self.handle_batch(updates):
                log.warning("batch not done (the database away?); again in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0

    async def handle_batch(self, updates: list[Update]) -> bool:
        """Handles a batch; the offset moves past it only when all of it is done with."""
        chats: dict[int, list[Update]] = defaultdict(list)
        for update in updates:
            chats[chat_of(update)].append(update)
        results = await asyncio.gather(*(self.handle_chat(batch) for batch in chats.values()))
        self.batches += 1
        if all(results):
            self.offset = updates[-1].update_id + 1
            return True
        return False

    async def handle_chat(self, updates: list[Update]) -> bool:
        """True when every update of this chat is done with (handled, or given up on)."""
        for update in updates:
            try:
                await self.dispatcher.feed_update(self.bot, update)
            except OUTAGES as error:
                log.warning("update %s not handled: %s", update.update_id, type(error).__name__)
                return False
            except Exception:  # a bug in one update must not stop every other chat
                count = self.failures[update.update_id] = self.failures.get(
                    update.update_id, 0) + 1
                log.exception("update %s failed (try %s of %s)", update.update_id, count,
                              MAX_FAILURES)
                if count < MAX_FAILURES:
                    return False  # not acknowledged: Telegram gives it to us again
                log.error("update %s skipped after %s failures", update.update_id, count)
            self.failures.pop(update.update_id, None)
        return True
