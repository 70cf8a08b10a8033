"""Telegram's sending limits in one place below the handlers (like PTB's AIORateLimiter).

Bot API FAQ: about 1 message per second in one chat (short bursts tolerated), 30 per second
overall, 20 per minute in one group. Token buckets keep the averages and allow a short
burst, so a tap's "answer edited + next question" does not wait a second in between; a
group's sends are also counted over the last 60 s (never 21 in a minute).
A 429 pauses every send for its retry_after: Telegram does not say which scope it was.

Several processes (docs/scaling.md): a chat's rows are sent by one process at a time
(storage/work/owners.py), so its bucket is exact in that process's memory, seeded from the
chat's recent sends when the chat comes from another process (`seed`). The bot-wide 30/s
is split between the live processes (`share`), and a 429 pauses them all (bot/outbox/
fleet.py passes it on).

Broadcasts (docs/broadcasts.md) send in the bulk lane: a bulk message takes a token of its
own bucket (LEADBOT_BROADCAST_RATE, split between the processes as the bot-wide rate is)
as well as the bot-wide and its chat's, and only while the bot-wide bucket is all but full
(`BULK_SLACK` tokens short of its burst at most): a broadcast takes what the replies leave of
the rate, never the burst, so a crowd's replies (and cosmetic edits, which wait below half
of it) find the burst as if no broadcast ran. Holding the bucket at 28 tokens instead of 3
costs the broadcast nothing: the refill is the same 30/s at any level below the top. It
was 24 (80 %) at first: bench/broadcast.py then showed the crowd's slowest replies where a
wave of prospects started at once, its 30 first replies finding 25 tokens, not 30, and the
last of them waiting for the refill (docs/performance.md).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

MINUTE = 61.0  # a group's minute, with a second for requests that reach Telegram unevenly
TELEGRAM_BOT_RATE = 30.0  # messages per second: the Bot API FAQ's, what Limits() assumes
BULK_SLACK = 2.0  # tokens of the bot-wide burst a bulk message may leave it short (28 of 30)


@dataclass(frozen=True)
class Limits:
    chat_rate: float = 1.0  # messages per second, per private chat
    chat_burst: float = 3.0
    bot_rate: float = 30.0  # per second, all chats
    bot_burst: float = 30.0
    group_per_minute: float = 20.0  # per group chat (negative chat ids)
    group_burst: float = 5.0
    bulk_rate: float = 20.0  # per second, all chats: broadcasts' share of bot_rate
    bulk_burst: float = 5.0

    def scaled(self, factor: float) -> Limits:
        """Faster limits for tests (the fake Bot API enforces the same ones)."""
        return Limits(self.chat_rate * factor, self.chat_burst, self.bot_rate * factor,
                      self.bot_burst, self.group_per_minute * factor, self.group_burst,
                      self.bulk_rate * factor, self.bulk_burst)

    def with_bulk_rate(self, rate: float) -> Limits:
        """LEADBOT_BROADCAST_RATE (messages per second of Telegram's 30) as these limits
        count: scaled as they are (tests speed them up), never over the bot-wide rate."""
        if rate <= 0:
            raise ValueError(f"a broadcast rate must be more than 0, not {rate}")
        return replace(self, bulk_rate=min(rate * self.bot_rate / TELEGRAM_BOT_RATE,
                                           self.bot_rate))


@dataclass
class Bucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float = 0.0
    stamp: float = 0.0
    fresh: bool = True  # full at its first use (tokens may go below 0 after a seed)

    def refill(self, now: float) -> None:
        if self.fresh:
            self.tokens, self.stamp, self.fresh = self.capacity, now, False
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, now: float, keep: float = 0.0) -> float:
        """Seconds until one token is there, `keep` more left after it (0: now)."""
        self.refill(now)
        need = 1 + keep
        return 0.0 if self.tokens >= need else (need - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.refill(now)
        self.tokens -= 1


@dataclass
class RateLimiter:
    limits: Limits = field(default_factory=Limits)
    paused_until: float = 0.0
    processes: int = 1  # the live senders the bot-wide budget is split between
    _bot: Bucket | None = None
    _bulk: Bucket | None = None
    _chats: dict[int, Bucket] = field(default_factory=dict)
    # a group's sends of the last minute: never more than group_per_minute in any 60 s
    # (a bucket alone lets its burst through on top of the minute's rate)
    _minutes: dict[int, deque[float]] = field(default_factory=dict)

    def _minute(self, chat_id: int, now: float) -> float:
        """Seconds until a group's last 60 s hold fewer than its per-minute limit."""
        sends = self._minutes.get(chat_id)
        if not sends:
            return 0.0
        while sends and sends[0] <= now - MINUTE:
            sends.popleft()
        if len(sends) < self.limits.group_per_minute:
            return 0.0
        return sends[-int(self.limits.group_per_minute)] + MINUTE - now

    @property
    def bot_burst(self) -> float:
        return max(1.0, self.limits.bot_burst / self.processes)

    def _bot_bucket(self) -> Bucket:
        if self._bot is None:
            self._bot = Bucket(self.limits.bot_rate / self.processes, self.bot_burst)
        return self._bot

    @property
    def bulk_rate(self) -> float:
        """This process's part of the bulk lane's rate (messages per second)."""
        return self.limits.bulk_rate / self.processes

    @property
    def bulk_burst(self) -> float:
        return max(1.0, self.limits.bulk_burst / self.processes)

    def _bulk_bucket(self) -> Bucket:
        if self._bulk is None:
            self._bulk = Bucket(self.bulk_rate, self.bulk_burst)
        return self._bulk

    def _chat_bucket(self, chat_id: int) -> Bucket:
        return (Bucket(self.limits.group_per_minute / 60, self.limits.group_burst)
                if chat_id < 0 else Bucket(self.limits.chat_rate, self.limits.chat_burst))

    def _buckets(self, chat_id: int) -> list[Bucket]:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = self._chat_bucket(chat_id)
        return [self._bot_bucket(), chat]

    def share(self, processes: int, now: float) -> None:
        """The bot-wide budget (and the bulk lane's) split between `processes` live senders
        (at least 1): each gets its part of the rate and of the burst, what it has left
        scaled with it."""
        processes = max(1, processes)
        if processes == self.processes:
            return
        buckets = [(self._bot_bucket(), self.limits.bot_rate, self.limits.bot_burst),
                   (self._bulk_bucket(), self.limits.bulk_rate, self.limits.bulk_burst)]
        self.processes = processes
        for bucket, rate, burst in buckets:
            bucket.refill(now)
            fill = bucket.tokens / bucket.capacity
            bucket.rate, bucket.capacity = rate / processes, max(1.0, burst / processes)
            bucket.tokens = fill * bucket.capacity

    def known(self) -> set[int]:
        """The chats it has a bucket for (sent to lately, or seeded)."""
        return set(self._chats)

    def seed(self, chat_id: int, sends: list[float], now: float, spent: bool = False) -> None:
        """A chat another process sent to: its bucket as those sends (monotonic times, any
        order) left it, replacing what this process remembered of it, less one message:
        the other's last send may be accepted and not yet marked (marks.py), and the
        requests of two processes reach Telegram a little out of step. `spent`: from a
        process that died, whose last sends are not known: as if its burst was just used."""
        bucket = self._chats[chat_id] = self._chat_bucket(chat_id)
        times = sorted(min(at, now) for at in sends)
        if times:  # full before the first of them, as a bucket is after a quiet while
            bucket.tokens, bucket.stamp, bucket.fresh = bucket.capacity, times[0], False
        for at in times:
            bucket.take(at)
        bucket.refill(now)
        bucket.tokens = min(bucket.tokens, 0.0 if spent else bucket.capacity - 1)
        if chat_id < 0:
            self._minutes[chat_id] = deque(times)

    def wait(self, chat_id: int, now: float, counted: bool = True,
             bulk: bool = False) -> float:
        """Seconds before a message to `chat_id` may go; 0 means now. `bulk`: a broadcast's,
        which also needs a bulk token and leaves the bot-wide reserve alone."""
        pause = max(0.0, self.paused_until - now)
        if not counted:  # callback answers: not messages, only the 429 pause applies
            return pause
        minute = self._minute(chat_id, now) if chat_id < 0 else 0.0
        bot, chat = self._buckets(chat_id)
        return max(pause, minute, bot.wait(now), chat.wait(now),
                   self.bulk_wait(now) if bulk else 0.0)

    def bulk_wait(self, now: float, ahead: int = 0) -> float:
        """Seconds before the bulk lane's share and the bot-wide reserve let a broadcast
        message go (its chat's bucket aside), after `ahead` others that will take theirs
        first; 0 means now."""
        keep = max(0.0, self.bot_burst - BULK_SLACK)  # one process of many: its part
        return max(self.paused_until - now, self._bulk_bucket().wait(now, keep=ahead),
                   self._bot_bucket().wait(now, keep=keep + ahead), 0.0)

    def spare(self, now: float) -> float:
        """Messages the bot-wide budget allows at once now (0 during a 429's pause)."""
        if now < self.paused_until:
            return 0.0
        bucket = self._bot_bucket()
        bucket.refill(now)
        return bucket.tokens

    def take(self, chat_id: int, now: float, counted: bool = True,
             bulk: bool = False) -> None:
        if counted:
            for bucket in self._buckets(chat_id):
                bucket.take(now)
            if bulk:
                self._bulk_bucket().take(now)
            if chat_id < 0:
                self._minutes.setdefault(chat_id, deque()).append(now)

    def pause(self, now: float, seconds: float) -> None:
        self.paused_until = max(self.paused_until, now + seconds)

    def forget_idle(self, now: float) -> None:
        """Chats whose bucket is full again need no memory (10,000 chats would add up)."""
        for chat_id in [c for c, b in self._chats.items()
                        if b.wait(now) == 0 and b.tokens >= b.capacity
                        and self._minute(c, now) == 0 and not self._minutes.get(c)]:
            del self._chats[chat_id]
            self._minutes.pop(chat_id, None)
