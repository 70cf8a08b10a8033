"""What the sender does as one of several processes on one PostgreSQL (docs/scaling.md;
storage/work/owners.py decides who sends what, bot/outbox/fleet.py keeps this process's
number): chats taken over from another sender, halting without its number.

May import: storage, bot.outbox; no Telegram library.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import datetime

from bot.outbox.limits import RateLimiter
from bot.outbox.pending import MessageIds, Pending
from storage.work import owners


class Shared:
    """A base class of the Sender."""

    holder: owners.Holder | None
    limiter: RateLimiter
    ids: MessageIds
    pending: Pending
    clock: Callable[[], datetime]
    monotonic: Callable[[], float]
    _sends: dict[int, deque[float]]
    _kick: asyncio.Event
    _want_scan: Callable[[], None]

    @property
    def halted(self) -> bool:
        """Shared, and without its number: it may not send (another process may)."""
        return self.holder is not None and self.holder.number is None

    def take_over(self, chats: dict[int, list[datetime]], dead: set[int] = frozenset()
                  ) -> None:
        """Chats another process sent to: their rate as its sends and this one's left it
        (`dead`: taken from a process that died, whose last sends nobody knows: spent),
        and no message id remembered from before trusted for an edit (owners.py)."""
        if not chats:
            return
        now, wall = self.monotonic(), self.clock()
        for chat_id, sends in chats.items():
            self.ids.doubt(chat_id)
            mine = list(self._sends.get(chat_id, ()))
            self.limiter.seed(chat_id, [now - (wall - at).total_seconds() for at in sends]
                              + mine, now, spent=chat_id in dead)

    def halt(self) -> None:
        """Its number is gone (bot/outbox/fleet.py): what it held is another's to send now.
        The calls under way finish; nothing new starts until `resume`."""
        self.pending.evict()
        self.pending.held.clear()
        self._kick.set()

    def resume(self) -> None:
        self._want_scan()
        self._kick.set()


