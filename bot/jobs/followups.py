"""Follow-ups when due: nurture sequences and the abandoned-quiz reminder. Durable rows,
not in-memory timers: a restart loses none, and with several bot processes each due row is
taken by one of them (FOR UPDATE SKIP LOCKED on PostgreSQL) and sent once.

Each due row, in the order of dialogs.rules.nurture:
- stopped (cancelled, with its sequence, and an event) when the prospect blocked the bot,
  started over, no longer holds the consent it needs, or a manager has the lead;
- dropped (with an event) when it fell due so long ago that it would be a stale burst
  after downtime; its sequence goes on from now;
- moved to the end of the quiet hours in the prospect's time zone, or, for a marketing
  one, to when the weekly cap has room;
- otherwise queued in the outbox: a marketing one says how to stop and carries a one-tap
  Unsubscribe button; the next message of its sequence is scheduled from now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.context import Running
from bot.jobs.periodic import Sooner
from bot.outbox import messages
from bot.service.rights import unsubscribe_footer, unsubscribe_markup
from bot.settings import Settings
from dialogs.engine.state import State
from dialogs.rules.nurture import (
    DEFAULT_QUIET,
    WEEK,
    cap_until,
    is_stale,
    parse_quiet,
    quiet_until,
    stop_reason,
    zone_for,
)
from storage.schema.tables import Conversation, Event, FollowUp, Prospect, utcnow
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
BATCH = 100


@dataclass(frozen=True)
class NurtureConfig:
    quiet: str = DEFAULT_QUIET  # LEADBOT_QUIET_HOURS: the default of every flow
    timezone: str | None = None  # LEADBOT_NURTURE_TIMEZONE; None: guessed from language
    weekly_cap: int = 3  # LEADBOT_NURTURE_WEEKLY_CAP: marketing messages a week; 0: no cap
    stale: timedelta = timedelta(hours=12)  # LEADBOT_NURTURE_STALE_HOURS

    @classmethod
    def from_settings(cls, settings: Settings) -> NurtureConfig:
        return cls(quiet=settings.quiet_hours, timezone=settings.nurture_timezone,
                   weekly_cap=settings.nurture_weekly_cap,
                   stale=timedelta(hours=settings.nurture_stale_hours))


async def deliver_due(sessions: async_sessionmaker[AsyncSession], now: datetime,
                      config: NurtureConfig | None = None, batch: int = BATCH) -> int:
    """Handles every follow-up due at `now`, a batch per transaction; returns how many
    were queued in the outbox."""
    return (await deliver(sessions, now, config or NurtureConfig(), batch))[0]


async def deliver(sessions: async_sessionmaker[AsyncSession], now: datetime,
                  config: NurtureConfig, batch: int = BATCH) -> tuple[int, datetime | None]:
    """deliver_due, and when the next pending row falls due (None: none is pending)."""
    queued = 0
    while True:
        async with UnitOfWork(sessions) as uow:
            rows = await uow.follow_ups.due(now, batch)
            for row in rows:
                queued += await _one(uow, row, now, config)
            following = await uow.follow_ups.next_due() if len(rows) < batch else None
            await uow.commit()
        if len(rows) < batch:
            return queued, following


async def _one(uow: UnitOfWork, row: FollowUp, now: datetime, config: NurtureConfig) -> int:
    prospect = await uow.prospects.get(row.user_id)
    latest = await uow.conversations.latest(row.user_id)
    reason = "gone" if prospect is None or latest is None else await _stop(uow, row,
                                                                           prospect, latest)
    if reason is not None:
        row.status = "cancelled"
        if row.kind == "sequence":  # the rest of it too
            await uow.follow_ups.stop([row.conversation_id])
        _event(uow, row, "follow_up_stopped", now, reason=reason)
        return 0
    assert prospect is not None
    if is_stale(row.due_at, now, config.stale):
        late = int((now - row.due_at).total_seconds())
        row.status = "dropped"
        _event(uow, row, "follow_up_dropped", now, late_seconds=late)
        await _next(uow, row, now)
        return 0
    later, why = _later(row, prospect, now, config), "quiet_hours"
    if later is None and row.marketing:
        since = now - WEEK  # follow-ups and broadcasts count alike
        room = cap_until([*await uow.follow_ups.sent_since(row.user_id, since),
                          *await uow.broadcasts.sent_since(row.user_id, since)], now,
                         config.weekly_cap)
        if room is not None:
            later, why = _later(row, prospect, room, config) or room, "weekly_cap"
    if later is not None:
        row.due_at = later
        _event(uow, row, "follow_up_postponed", now, reason=why, until=later.isoformat())
        return 0
    _send(uow, row, prospect)
    row.status, row.sent_at = "sent", now
    _event(uow, row, "follow_up", now)
    await _next(uow, row, now)
    return 1


async def _stop(uow: UnitOfWork, row: FollowUp, prospect: Prospect,
                latest: Conversation) -> str | None:
    own = latest.id == row.conversation_id
    state = latest.state if own else {}
    consents = (State.from_dict(state).consents if state else {})
    status = await uow.follow_ups.handoff_status(row.conversation_id) if own else None
    return stop_reason(kind=row.kind, marketing=row.marketing, consents=consents,
                       blocked=prospect.blocked, handoff_status=status, latest=own,
                       finished=latest.finished)


def _later(row: FollowUp, prospect: Prospect, at: datetime,
           config: NurtureConfig) -> datetime | None:
    """The end of the quiet hours `at` falls in, in the prospect's time zone."""
    try:
        quiet = parse_quiet(row.quiet or config.quiet)
    except ValueError:  # the linter refuses such a flow; the operator's setting is checked
        quiet = parse_quiet(DEFAULT_QUIET)
    zone = zone_for(flow_zone=row.zone, default=config.timezone, language=prospect.language)
    if at is not None and (moved := quiet_until(at, zone, quiet)) is not None:
        return moved
    return None


def _send(uow: UnitOfWork, row: FollowUp, prospect: Prospect) -> None:
    text, keyboard = row.text, list((row.markup or {}).get("inline_keyboard") or [])
    if row.marketing:  # how to stop, and a one-tap way to (38-FZ Art. 18)
        language = prospect.language or "en"
        text = f"{row.text}\n\n{unsubscribe_footer(language)}"
        keyboard += unsubscribe_markup(language)["inline_keyboard"]
    messages.send(uow, row.chat_id, text,
                  markup={"inline_keyboard": keyboard} if keyboard else None,
                  conversation_id=row.conversation_id, marketing=row.marketing)


async def _next(uow: UnitOfWork, row: FollowUp, now: datetime) -> None:
    following = await uow.follow_ups.following(row)
    if following is not None:
        following.status = "pending"
        following.due_at = now + timedelta(seconds=following.delay_seconds)


def _event(uow: UnitOfWork, row: FollowUp, kind: str, now: datetime, **data: object) -> None:
    uow.stage(Event, user_id=row.user_id, kind=kind, conversation_id=row.conversation_id,
              data={"key": row.key, **data}, created_at=now)


async def send_follow_ups(app: Running) -> Sooner:
    """The follow-ups job: handles what is due, wakes the sender, and says when the next
    row falls due (the runner comes back then, if that is before its next run)."""
    now = utcnow()
    queued, following = await deliver(app.sessions, now,
                                      NurtureConfig.from_settings(app.settings))
    if queued:
        app.sender.wake()
    return Sooner(float("inf") if following is None else
                  max((following - utcnow()).total_seconds(), 0.0))
