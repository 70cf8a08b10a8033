"""Long polling that acknowledges an update only after its transaction committed, for any
transport (its Wire: bot/transport/base.py).

A library's own polling confirms the offset whatever its handlers did; here the offset moves
past a batch only when every update of it was handled, or skipped on purpose: it could not
be read, or it kept failing for a bug (bot/transport/updates.py). Updates of one chat are
handled in order, one at a time; different chats concurrently. The database or the network
being away (updates.py is_outage) is not the update's fault: such updates are retried for as
long as it takes, never skipped.

May import: bot.transport.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from bot.transport.base import Wire
from bot.transport.errors import FetchFailed, FetchRetryAfter, TokenRevoked
from bot.transport.updates import Counters, Tries, is_outage, update_id_of

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


class Poller:
    def __init__(self, wire: Wire, timeout: int = 25, counters: Counters | None = None) -> None:
        self.wire, self.timeout = wire, timeout
        self.counters = counters or Counters()
        self.offset: int | None = None
        self.tries = Tries(self.counters)
        self.parsed: dict[int, Any] = {}  # the batch in hand, read once
        self.batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`; TokenRevoked when Telegram refuses the token."""
        backoff = 1.0
        while not stop.is_set():
            fetch = asyncio.create_task(self.wire.fetch(self.offset, self.timeout,
                                                        ALLOWED_UPDATES))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():  # stopping: nothing fetched is lost, it was not confirmed
                fetch.cancel()
                break
            try:
                raw = fetch.result()
            except TokenRevoked:
                raise
            except FetchRetryAfter as error:
                await asyncio.sleep(error.seconds)
                continue
            except FetchFailed as error:
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

    async def handle_raw(self, raw: list[Any]) -> bool:
        """A batch as getUpdates gave it: each update parsed on its own; one that cannot
        be read is skipped (bot/transport/updates.py), the others handled."""
        updates = []
        for item in raw:
            update_id = update_id_of(item)
            if update_id is None or update_id not in self.parsed:  # not again when retried
                update = self.wire.parse(item, self.counters)
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

    async def handle_batch(self, updates: list[Any]) -> bool:
        """Handles a batch; the offset moves past it only when all of it is done with."""
        chats: dict[int, list[Any]] = defaultdict(list)
        for update in updates:
            chats[self.wire.chat_of(update)].append(update)
        results = await asyncio.gather(*(self.handle_chat(batch) for batch in chats.values()))
        self.batches += 1
        if all(results):
            self.offset = max(self.offset or 0, updates[-1].update_id + 1)
            return True
        return False

    async def handle_chat(self, updates: list[Any]) -> bool:
        """True when every update of this chat is done with (handled, or given up on)."""
        for update in updates:
            try:
                await self.wire.feed(update)
            except Exception as error:
                if is_outage(error):
                    log.warning("update %s not handled: %s", update.update_id,
                                type(error).__name__)
                    return False
                # a bug, or a statement the database refused: one update must not stop
                # every other chat
                if not self.tries.failed(update):
                    return False  # not acknowledged: Telegram gives it to us again
                await self.wire.answer_skipped(update)
            self.tries.done(update)
        return True
