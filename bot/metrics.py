"""The app's Prometheus metrics (docs/dashboard.md), in a registry of the app's
own: several apps in one process (the tests) never share or clash.

Three kinds of figure:
- counters the app already keeps (updates handled, sends by result, 429s) are read when
  scraped (`AppCounters`), so the code that counts needs no second counter;
- gauges of what waits in the database (outbox depth per lane, follow-ups due) are queried
  when scraped (`refresh`);
- latencies are observed where they end: the sender calls `accepted` when Telegram accepts a
  row (reply latency from `received`, hand-off latency from the card's writing); time to
  claim is read from the hand-offs claimed since the last scrape.

May import: prometheus_client, sqlalchemy, storage. Never a Telegram library.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.schema.tables import FollowUp, Handoff, OutboxMessage, utcnow

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
CLAIM_BUCKETS = (30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
REPLY_WINDOW = timedelta(seconds=60)  # a reply is written while its update is handled
WAITING = 10_000  # chats whose update awaits its reply, at most (oldest forgotten)
# what the sender's counters mean, by result (bot/outbox/sender.py, Counters)
SEND_RESULTS = ("sent", "retried", "failed", "blocked", "dropped", "rate_limited")


class AppCounters:
    """A collector over counters the app keeps anyway, read at scrape time."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[CounterMetricFamily]:
        service, sender = self.app.service, self.app.sender
        counters = getattr(self.app, "counters", None)
        yield CounterMetricFamily("leadbot_updates_handled", "Updates handled (committed)",
                                  value=service.handled)
        yield CounterMetricFamily("leadbot_updates_duplicate",
                                  "Updates Telegram delivered again, dropped as handled",
                                  value=service.duplicates)
        skipped = CounterMetricFamily("leadbot_updates_skipped",
                                      "Updates not handled on purpose, by reason",
                                      labels=["reason"])
        skipped.add_metric(["nothing_to_do"], service.ignored)
        skipped.add_metric(["unreadable"], getattr(counters, "unreadable", 0))
        skipped.add_metric(["failing"], getattr(counters, "skipped", 0))
        yield skipped
        sends = CounterMetricFamily("leadbot_sends", "Outbox sends by result",
                                    labels=["result"])
        for result in SEND_RESULTS:
            sends.add_metric([result], getattr(sender.counters, result, 0))
        yield sends
        bulk = CounterMetricFamily("leadbot_bulk_sends",
                                   "Broadcasts' messages (the bulk lane) by result; unknown: "
                                   "no answer came, maybe delivered, never sent again",
                                   labels=["result"])
        for result, name in (("sent", "bulk_sent"), ("unknown", "unknown")):
            bulk.add_metric([result], getattr(sender.counters, name, 0))
        yield bulk
        yield CounterMetricFamily("leadbot_telegram_429",
                                  "Telegram's 429 answers (every send paused)",
                                  value=getattr(sender.counters, "rate_limited", 0))


class Metrics:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.reply_latency = Histogram(
            "leadbot_reply_latency_seconds",
            "From an update's arrival to Telegram accepting the first reply to it",
            buckets=LATENCY_BUCKETS, registry=r)
        self.handoff_latency = Histogram(
            "leadbot_handoff_latency_seconds",
            "From a lead's decision (its card written) to Telegram accepting the card",
            buckets=LATENCY_BUCKETS, registry=r)
        self.time_to_claim = Histogram(
            "leadbot_time_to_claim_seconds",
            "From a lead's last answer to a manager claiming it (claims seen since start)",
            buckets=CLAIM_BUCKETS, registry=r)
        self.outbox_depth = Gauge("leadbot_outbox_depth",
                                  "Outbox rows waiting to be sent, by lane and purpose",
                                  ["lane", "purpose"], registry=r)
        self.follow_ups_due = Gauge("leadbot_follow_ups_due",
                                    "Follow-ups whose time has come, not yet sent",
                                    registry=r)
        self.database_errors = Counter(
            "leadbot_database_errors",
            "Errors the database raised (unreachable, timeouts, bugs), constraints aside",
            registry=r)
        self._received: OrderedDict[int, datetime] = OrderedDict()
        self._claims_since: datetime = clock()

    def watch(self, app: Any) -> None:
        """Reads the app's own counters and counts its database's errors."""
        self.registry.register(AppCounters(app))
        self.watch_engine(app.engine)

    def watch_engine(self, engine: AsyncEngine) -> None:
        """Every error the driver raises, but a constraint refusing a row: that is how a
        redelivered update or a race for a new prospect is told apart (expected)."""
        def counted(context: Any) -> None:
            if not isinstance(context.sqlalchemy_exception, IntegrityError):
                self.database_errors.inc()

        event.listen(engine.sync_engine, "handle_error", counted)

    # -- latencies -----------------------------------------------------------------------

    def received(self, chat_id: int, at: datetime | None) -> None:
        """An update from `chat_id` arrived (the service, before handling it); None: it was
        a duplicate, no reply is coming. The first unanswered one counts."""
        if at is None:
            self._received.pop(chat_id, None)
        elif chat_id not in self._received:
            self._received[chat_id] = at
            while len(self._received) > WAITING:
                self._received.popitem(last=False)

    def accepted(self, row: OutboxMessage, at: datetime) -> None:
        """Telegram accepted `row` (the sender)."""
        if row.purpose == "card" and row.lead_id is not None:
            self.handoff_latency.observe(max(0.0, (at - row.created_at).total_seconds()))
        elif row.purpose is None:
            arrived = self._received.pop(row.chat_id, None)
            # a row written later than its handling (a follow-up) answers no update
            if arrived is not None and timedelta(0) <= row.created_at - arrived <= REPLY_WINDOW:
                self.reply_latency.observe(max(0.0, (at - arrived).total_seconds()))

    # -- scrape ---------------------------------------------------------------------------

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """The gauges from the database, and the claims made since the last scrape. A
        database that does not answer leaves them as they were (and counts an error)."""
        now = self.clock()
        try:
            async with sessions() as session:
                depth = (await session.execute(
                    select(OutboxMessage.lane, OutboxMessage.purpose, func.count())
                    .where(OutboxMessage.status == "pending")
                    .group_by(OutboxMessage.lane, OutboxMessage.purpose))).all()
                due = await session.scalar(select(func.count()).select_from(FollowUp).where(
                    FollowUp.status == "pending", FollowUp.due_at <= now))
                claims = (await session.execute(
                    select(Handoff.submitted_at, Handoff.claimed_at).where(
                        Handoff.claimed_at > self._claims_since,
                        Handoff.assigned.is_(False)))).all()
        except Exception as error:  # a scrape must answer anyway
            log.warning("metrics: the database did not answer (%s)", type(error).__name__)
            return
        self.outbox_depth.clear()
        for lane in ("chat", "tap"):  # both lanes always shown, 0 when empty
            self.outbox_depth.labels(lane, "flow").set(0)
        self.outbox_depth.labels("bulk", "bulk").set(0)  # broadcasts' (docs/broadcasts.md)
        for lane, purpose, count in depth:
            self.outbox_depth.labels(lane, purpose or "flow").set(count)
        self.follow_ups_due.set(due or 0)
        for submitted, claimed in claims:
            self.time_to_claim.observe(max(0.0, (claimed - submitted).total_seconds()))
            self._claims_since = max(self._claims_since, claimed)

    async def render(self, sessions: async_sessionmaker[AsyncSession]) -> bytes:
        await self.refresh(sessions)
        return generate_latest(self.registry)
