"""The sender's memory: rows on their way, in per-chat order, with their priority, and the
Telegram message ids of recent sends (what the edits that follow need). The database stays
the truth: everything here is a copy of committed rows, and a restart starts with none of it
(the sender's scan finds the rows again; an edit's message id is read from the row it edits).

May import: the standard library only.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# What the prospect waits for goes first (docs/updates.md):
TAP, REPLY, CARD, COSMETIC, BULK = 0, 1, 2, 3, 4  # a tap's answer; a question or reply;
# cards and follow-ups; a cosmetic edit (the chosen answer shown on an old question); a
# broadcast's message (the bulk lane: it waits for everything else, docs/broadcasts.md)
Key = tuple[int, str]  # (chat_id, lane): "chat", "tap" or "bulk"
RECENT = 60.0  # seconds a finished row's id is remembered: a commit's rows reach `submit`
# milliseconds after the commit, and a scan may have found and sent them in between


@dataclass(slots=True, eq=False)
class Row:
    """An outbox row as the sender needs it: from a commit (the short path) or a scan."""

    id: int
    chat_id: int
    lane: str
    method: str
    payload: dict[str, Any]
    conversation_id: int | None
    step: str | None
    purpose: str | None
    edit_of: int | None
    marketing: bool
    created_at: datetime
    lead_id: int | None = None  # the lead a card or a manager's message is about (metrics)
    from_scan: bool = False
    queued_at: float = 0.0  # monotonic: when it came into memory
    rank: int = REPLY

    @classmethod
    def of(cls, row: Any, from_scan: bool = False) -> Row:
        """From an OutboxMessage (a scan) or a dict of its columns (a commit)."""
        get = row.get if isinstance(row, dict) else row.__getattribute__
        made = cls(get("id"), get("chat_id"), get("lane"), get("method"), get("payload"),
                   get("conversation_id"), get("step"), get("purpose"), get("edit_of"),
                   bool(get("marketing")), get("created_at"), get("lead_id"),
                   from_scan)
        made.rank = rank(made)
        return made

    @property
    def key(self) -> Key:
        return (self.chat_id, self.lane)


def cosmetic(row: Row) -> bool:
    """An edit that only shows the chosen answer on an answered question: the flow's own
    edit (a conversation's step, not a card, never a consent text: those are sends) that
    takes the buttons away. A multiple-choice toggle keeps its buttons: the prospect waits
    for it, it is a reply."""
    if row.method != "editMessageText" or row.purpose is not None or row.step is None \
            or row.conversation_id is None or "message_id" in row.payload:
        return False
    markup = row.payload.get("reply_markup") or {}
    return not any(markup.get("inline_keyboard") or ())


def rank(row: Row) -> int:
    if row.lane == "tap":
        return TAP
    if row.lane == "bulk":
        return BULK
    if cosmetic(row):
        return COSMETIC
    if row.purpose is not None or row.marketing or row.chat_id < 0:
        return CARD
    return REPLY


class Pending:
    """Rows known to the sender and not yet finished in the database, by (chat, lane), each
    queue in id order. `known` holds every id queued, in flight, or accepted and waiting to
    be marked; `gone` the ids that left memory since the current scan began (a scan's rows
    read before they were marked must not be sent again); `recent` the ids that left memory
    in the last RECENT seconds (a commit's rows that a scan found first)."""

    def __init__(self) -> None:
        self.queues: dict[Key, deque[Row]] = {}
        self.known: set[int] = set()
        self.gone: set[int] = set()
        self.recent: OrderedDict[int, float] = OrderedDict()
        self.held: set[Key] = set()  # queues whose rows come only from scans (a retry waits)

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def add(self, row: Row, now: float) -> bool:
        """Queues a row unless memory has or had it: a commit's row (`submit`) that left
        in the last RECENT seconds, a scan's row that left since the scan began."""
        if row.id in self.known or row.id in self.gone or (
                not row.from_scan and row.id in self.recent):
            return False
        row.queued_at = now
        queue = self.queues.setdefault(row.key, deque())
        if queue and queue[-1].id > row.id:  # a scan's older row behind a commit's: in order
            queue.append(row)
            self.queues[row.key] = deque(sorted(queue, key=lambda r: r.id))
        else:
            queue.append(row)
        self.known.add(row.id)
        return True

    def leave(self, row_id: int) -> None:
        """A row is finished (marked in the database) or handed back to the database."""
        self.known.discard(row_id)
        self.gone.add(row_id)
        self.recent[row_id] = time.monotonic()

    def forget(self) -> None:
        """The ids that left memory more than RECENT seconds ago."""
        horizon = time.monotonic() - RECENT
        while self.recent and next(iter(self.recent.values())) < horizon:
            self.recent.popitem(last=False)

    def take(self, row: Row) -> None:
        queue = self.queues.get(row.key)
        if queue is not None:
            queue.remove(row)
            if not queue:
                del self.queues[row.key]

    def put_back(self, row: Row) -> None:
        """A row Telegram did not take (429): first again in its queue."""
        self.queues.setdefault(row.key, deque()).appendleft(row)

    def evict(self, key: Key | None = None, hold: bool = False) -> None:
        """Queued rows (not those in flight) handed back to the database: its scan finds them
        again, in order. `hold`: the queue takes no row from commits until a scan finds the
        chat with nothing pending (a retry's backoff keeps its place in line)."""
        keys = list(self.queues) if key is None else [key]
        for k in keys:
            for row in self.queues.pop(k, ()):
                self.leave(row.id)
        if hold and key is not None:
            self.held.add(key)


@dataclass(frozen=True, slots=True)
class Known:
    row_id: int
    message_id: int
    method: str


class MessageIds:
    """Telegram's message ids of recent sends, for the edits that follow: by the row sent,
    and by (conversation, step) the latest sent. Bounded; a miss is read from the database."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.rows: OrderedDict[int, Known] = OrderedDict()
        self.steps: OrderedDict[tuple[int, str], tuple[int, Known]] = OrderedDict()
        # several processes: a chat another process sent to since; what this one
        # remembers of its steps (up to the row id here) may be out of date
        self.doubted: OrderedDict[int, int] = OrderedDict()
        self.highest = 0  # the highest row id remembered

    def sent(self, row: Row, message_id: int | None) -> None:
        if message_id is None or row.method not in ("sendMessage", "sendDocument", "sendPhoto"):
            return
        known = Known(row.id, message_id, row.method)
        self.highest = max(self.highest, row.id)
        self._put(self.rows, row.id, known)
        if row.conversation_id is not None and row.step is not None:
            self._put(self.steps, (row.conversation_id, row.step), (row.chat_id, known))

    def doubt(self, chat_id: int) -> None:
        """Another process sent to this chat: a later message may have asked a step again
        there, so what is remembered of its steps is read from the database instead (the
        ids by row stay true: a row is sent once)."""
        self._put(self.doubted, chat_id, self.highest)

    def _put(self, table: OrderedDict, key: Any, known: Known) -> None:
        table[key] = known
        table.move_to_end(key)
        if len(table) > self.size:
            table.popitem(last=False)

    def for_edit(self, row: Row) -> Known | None:
        """What `row` edits, if remembered: the row it names, or the latest message sent
        for its step before it."""
        if row.edit_of is not None:
            return self.rows.get(row.edit_of)
        if row.conversation_id is None or row.step is None:
            return None
        found = self.steps.get((row.conversation_id, row.step))
        if found is None:
            return None
        chat_id, known = found
        if known.row_id <= self.doubted.get(chat_id, 0):
            return None
        return known if known.row_id < row.id else None
