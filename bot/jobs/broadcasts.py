"""Broadcasts going out: recipients become outbox rows of the bulk lane, a batch per
transaction, no faster than the sender sends them (docs/broadcasts.md).

Each run, for each broadcast:
- `scheduled` and due (its send_at passed): its segment is chosen now and its recipients
  written (`start`), then it is `sending`;
- `sending`: while fewer than WINDOW seconds of its messages wait in the outbox, the next
  due recipients are taken (FOR UPDATE SKIP LOCKED on PostgreSQL: with several processes
  each recipient is taken by one), and each, in the same transaction as its message:
  skipped when the person no longer may get it (marketing consent withdrawn, blocked,
  erased: checked again now, not only when the segment was chosen); moved to the end of
  LEADBOT_QUIET_HOURS in their time zone (their latest flow's, as for their follow-ups,
  else LEADBOT_NURTURE_TIMEZONE, else their language's), or to when the weekly marketing cap
  has room (follow-ups and broadcasts count alike); otherwise queued: its message written,
  in their language, with how to stop and the one-tap Unsubscribe, its outbox id kept;
- `done` once nobody is pending and none of its messages waits or is on its way: a message
  marked `sending` that no live sender holds (its process was killed mid-call) is not on
  its way; its outcome stays unknown for good (`Alive`).
A `paused` or `cancelled` broadcast gets no new rows; what was queued before (at most
WINDOW seconds of messages) still goes. A kill -9 loses nothing: a recipient is queued in
the transaction that writes its message, and the bulk lane sends each message at most once.

May import: bot.jobs, bot.outbox, bot.service (the unsubscribe words), storage, dialogs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.broadcast_links import Links
from bot.jobs.context import Running
from bot.jobs.periodic import Sooner
from bot.service.rights import unsubscribe_footer, unsubscribe_markup
from bot.settings import Settings
from dialogs.broadcasts.message import keyboard, render, to_plain
from dialogs.broadcasts.schema import from_dict
from dialogs.rules.nurture import DEFAULT_QUIET, WEEK, cap_until, parse_quiet, quiet_until, zone_for
from storage.reports.segment import latest_flows, recheck, segment
from storage.schema.broadcasts import Broadcast, BroadcastRecipient
from storage.schema.tables import OutboxMessage, utcnow
from storage.work.broadcasts import BroadcastError, in_outbox
from storage.work.owners import LIVE
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)
WINDOW = 5.0  # seconds of messages (at the broadcast rate) kept waiting in the outbox
TRANSACTION = 25  # recipients a transaction: about a second of messages at the default rate
IDLE = 5.0  # seconds between runs when no broadcast is sending (one sent from the CLI, or
# falling due, starts within this)
UNNAMED = {"ru": "друг", "uk": "друже", "en": "friend"}  # {name} for someone who gave none


@dataclass(frozen=True)
class BroadcastConfig:
    rate: float = 20.0  # LEADBOT_BROADCAST_RATE
    quiet: str = DEFAULT_QUIET  # LEADBOT_QUIET_HOURS
    timezone: str | None = None  # LEADBOT_NURTURE_TIMEZONE; None: guessed from language
    weekly_cap: int = 3  # LEADBOT_NURTURE_WEEKLY_CAP
    report_timezone: str = "UTC"  # LEADBOT_TIMEZONE: a segment's days
    links: Links | None = None  # LEADBOT_PUBLIC_URL: link buttons counted (broadcast_links.py)

    @classmethod
    def from_settings(cls, settings: Settings) -> BroadcastConfig:
        return cls(rate=settings.broadcast_rate, quiet=settings.quiet_hours,
                   timezone=settings.nurture_timezone, weekly_cap=settings.nurture_weekly_cap,
                   report_timezone=settings.timezone, links=Links.from_settings(settings))

    @property
    def window(self) -> int:
        return max(1, int(self.rate * WINDOW))


@dataclass(frozen=True)
class Alive:
    """Who may still be sending a broadcast's message marked `sending`: this process's
    sender (the outbox ids it holds in memory: queued, in flight, or accepted and not yet
    marked) and, on PostgreSQL, the other live senders (a row's `owner`, alive while its
    process holds its lock: storage/work/owners.py). A `sending` row neither holds was cut
    off by a crash (kill -9 between its mark and its outcome): maybe delivered, never sent
    again, and nobody will ever mark it — the broadcast does not wait for it."""

    mine: Container[int] = frozenset()
    me: int | None = None  # this process's sender number (PostgreSQL), None: none

    @classmethod
    def of(cls, sender: Any) -> Alive:
        pending, holder = getattr(sender, "pending", None), getattr(sender, "holder", None)
        return cls(getattr(pending, "known", frozenset()),
                   None if holder is None else holder.number)


async def start(session: AsyncSession, broadcast: Broadcast, now: datetime,
                config: BroadcastConfig) -> int:
    """Chooses the broadcast's recipients now and writes them; it is `sending` from then.
    Returns how many."""
    # a file without `segment:` (everyone who agreed) is stored without the key
    found = await segment(session, broadcast.definition.get("segment"),
                          config.report_timezone, now)
    broadcasts = _repository(session)
    total = await broadcasts.write_recipients(broadcast, found.recipients, due_at=now)
    broadcast.left_out = dict(found.left_out)
    await broadcasts.set_status(broadcast, "sending", now=now)
    return total


async def deliver(sessions: async_sessionmaker[AsyncSession], now: datetime,
                  config: BroadcastConfig, alive: Alive | None = None) -> tuple[int, float]:
    """One run: (messages queued, seconds until the next run is worth it). `alive`: who
    may still send a row marked `sending` (None: anyone may, the broadcast waits for each)."""
    queued, busy = 0, False
    async with UnitOfWork(sessions, reading=True) as uow:  # no write lock to read
        due = [b.id for b in await uow.broadcasts.list(["scheduled"])
               if b.send_at is not None and _aware(b.send_at) <= now]
    for broadcast_id in due:  # each in its own transaction: one failing stops no other
        async with UnitOfWork(sessions) as uow:
            broadcast = await uow.broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.status != "scheduled":
                continue
            try:
                await start(uow.session, broadcast, now, config)
            except BroadcastError:  # another process started it meanwhile
                continue
            await uow.commit()
    async with UnitOfWork(sessions, reading=True) as uow:
        sending = [b.id for b in await uow.broadcasts.list(["sending"])]
    for broadcast_id in sending:
        busy = True
        queued += await _fill(sessions, broadcast_id, now, config, alive)
    return queued, (1.0 if busy else IDLE)


async def _fill(sessions: async_sessionmaker[AsyncSession], broadcast_id: int, now: datetime,
                config: BroadcastConfig, alive: Alive | None = None) -> int:
    """Fills the broadcast's window, TRANSACTION recipients a transaction: each holds
    SQLite's write lock only briefly, so a crowd's updates are not kept waiting behind a
    whole window being written (bench/broadcast.py)."""
    queued = 0
    while True:
        written, more = await _fill_once(sessions, broadcast_id, now, config, alive)
        queued += written
        if not more:
            return queued


@dataclass
class _Batch:
    """A batch of due recipients, decided: their messages made, the others skipped (with the
    reason) or moved on (when they may have it). Recipient ids, no ORM rows: on SQLite it is
    decided in one transaction and written in another."""

    broadcast_id: int
    full: bool  # as many as the window had room for: there may be more
    messages: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    skipped: list[tuple[int, int, str]] = field(default_factory=list)  # id, user, reason
    later: list[tuple[int, datetime]] = field(default_factory=list)
    # with the weekly cap: the marketing messages each recipient had in the week, as read
    sent: dict[int, int] | None = None


async def _fill_once(sessions: async_sessionmaker[AsyncSession], broadcast_id: int,
                     now: datetime, config: BroadcastConfig, alive: Alive | None
                     ) -> tuple[int, bool]:
    """One batch of `_fill`: (messages queued, whether there may be more room).

    On SQLite the batch is read and decided, its messages made, in a read transaction (a
    plain BEGIN: no write lock), and only written under the lock, which is then held for a
    few statements instead of a dozen (the crowd's updates wait behind it:
    bench/broadcast.py). What may have changed in between is asked again under the lock:
    the broadcast still sending, each recipient still pending (not erased, cancelled) and
    still allowed (consent, block, erasure: `recheck`), and still under the weekly cap (a
    follow-up may have gone out meanwhile). SQLite serves one process, whose
    one broadcasts job decides a batch at a time. On PostgreSQL (row locks, no write lock to
    spare) one transaction does both, its recipients taken FOR UPDATE SKIP LOCKED."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        async with UnitOfWork(sessions, reading=True) as uow:
            batch = await _batch(uow, broadcast_id, now, config)
        if batch is not None and (batch.messages or batch.skipped or batch.later):
            async with UnitOfWork(sessions) as uow:
                written = await _write(uow, batch, now, again=True)
                await uow.commit()
            return written, batch.full
    else:
        async with UnitOfWork(sessions) as uow:
            batch = await _batch(uow, broadcast_id, now, config)
            if batch is not None and (batch.messages or batch.skipped or batch.later):
                written = await _write(uow, batch, now, again=False)
                await uow.commit()
                return written, batch.full
    if batch is not None:  # nobody due now: done, if nothing is left to wait for
        async with UnitOfWork(sessions) as uow:
            await _finish(uow, broadcast_id, now, alive)
    return 0, False


async def _batch(uow: UnitOfWork, broadcast_id: int, now: datetime,
                 config: BroadcastConfig) -> _Batch | None:
    """The next due recipients, as many as the window has room for, decided (None: the
    broadcast is not sending)."""
    broadcast = await uow.broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.status != "sending":
        return None
    # pending rows only: one marked `sending` is on its way now, or was left so by a crash
    # and stays so for ever (never sent again)
    waiting = await uow.broadcasts.pending_in_outbox(broadcast_id, ("pending",))
    room = min(config.window - waiting, TRANSACTION)
    rows = await uow.broadcasts.due(broadcast_id, now, room) if room > 0 else []
    batch = _Batch(broadcast_id, full=bool(rows) and len(rows) == room)
    if not rows:
        return batch
    users = [r.user_id for r in rows]
    reasons = await recheck(uow.session, users)
    latest = await latest_flows(uow.session, users)
    definition = from_dict(broadcast.definition)
    # what every recipient of the batch needs, read for all of them at once
    sent = await _marketing_week(uow, users, now) if config.weekly_cap else {}
    if config.weekly_cap:
        batch.sent = {user_id: len(sent.get(user_id, [])) for user_id in users}
    named = "{name}" in "".join(definition.message.text.values())
    names = await uow.leads.latest_names(users) if named else {}
    nurtures: dict[tuple[str, int], dict[str, Any]] = {}
    for row in rows:
        assert row.id is not None
        reason = reasons.get(row.user_id)
        if reason is not None:
            batch.skipped.append((row.id, row.user_id, reason))
            continue
        conversation_id, flow = None, {}
        if row.user_id in latest:
            conversation_id, flow_id, version = latest[row.user_id]
            flow = await _nurture(uow, nurtures, flow_id, version)
        later = _later(row, now, config, flow, sent.get(row.user_id, []))
        if later is not None:
            batch.later.append((row.id, later))
            continue
        batch.messages.append((row.id, row.user_id, _message(
            broadcast.id, definition, row, conversation_id, names.get(row.user_id),
            config.links)))
    return batch


async def _marketing_week(uow: UnitOfWork, users: list[int], now: datetime
                          ) -> dict[int, list[datetime]]:
    """The marketing messages (follow-ups and broadcasts) each of `users` had in the week
    before `now`: what the weekly cap counts."""
    sent: dict[int, list[datetime]] = {}
    for found in (await uow.follow_ups.sent_since_of(users, now - WEEK),
                  await uow.broadcasts.sent_since_of(users, now - WEEK)):
        for user_id, times in found.items():
            sent.setdefault(user_id, []).extend(times)
    return sent


async def _write(uow: UnitOfWork, batch: _Batch, now: datetime, *, again: bool) -> int:
    """Writes a decided batch: its messages into the outbox's bulk lane, each recipient
    queued with its message's id, skipped or moved on. `again`: decided in an earlier
    transaction, so what may have changed since is asked again first (`_fill_once`).
    Returns the messages written."""
    messages, skipped = batch.messages, batch.skipped
    if again:
        broadcast = await uow.broadcasts.get(batch.broadcast_id)
        if broadcast is None or broadcast.status != "sending":
            return 0  # paused, cancelled (or finished) meanwhile: nothing of it is written
        still = await uow.broadcasts.still_pending(
            [i for i, *_ in messages] + [i for i, *_ in skipped] + [i for i, _ in batch.later])
        reasons = await recheck(uow.session, [u for i, u, _ in messages if i in still])
        skipped = [r for r in skipped if r[0] in still] + [
            (i, u, reason) for i, u, _ in messages
            if i in still and (reason := reasons.get(u)) is not None]
        messages = [m for m in messages if m[0] in still and reasons.get(m[1]) is None]
        batch.later = [r for r in batch.later if r[0] in still]
        if batch.sent is not None and messages:  # a follow-up went out meanwhile: the
            # recipient stays pending, and the next batch weighs the cap again
            sent = await _marketing_week(uow, [u for _, u, _ in messages], now)
            messages = [(i, u, values) for i, u, values in messages
                        if len(sent.get(u, [])) <= batch.sent.get(u, 0)]
    for _, _, values in messages:
        uow.stage(OutboxMessage, **values)
    ids = [r["id"] for r in await uow.flush_outbox()]
    await uow.broadcasts.settle(
        queued=[(i, outbox_id) for (i, _, _), outbox_id in zip(messages, ids, strict=True)],
        skipped=[(i, reason) for i, _, reason in skipped], later=batch.later, now=now)
    return len(messages)


async def _finish(uow: UnitOfWork, broadcast_id: int, now: datetime,
                  alive: Alive | None) -> None:
    """Marks the broadcast done when nobody is pending and none of its messages waits or
    is on its way."""
    broadcast = await uow.broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.status != "sending":
        return
    if (await uow.broadcasts.pending_in_outbox(broadcast_id, ("pending",))
            or await uow.broadcasts.pending(broadcast_id)
            or await _on_its_way(uow.session, broadcast_id, alive)):
        return
    try:
        await uow.broadcasts.set_status(broadcast, "done", now=now)
    except BroadcastError:  # another process finished, paused or cancelled it meanwhile:
        return  # nothing of ours to add
    await uow.commit()
    log.info("broadcast %s: done", broadcast.name)


async def _on_its_way(session: AsyncSession, broadcast_id: int, alive: Alive | None) -> int:
    """The broadcast's messages waiting in the outbox or on their way: pending rows, and
    `sending` rows a live sender holds (`Alive`; without it, none: a caller that drives the
    job by hand has no sender in flight)."""
    rows = (await session.execute(in_outbox(broadcast_id, ("pending", "sending")))).all()
    if alive is None:
        return sum(1 for _, status, _ in rows if status == "pending")
    live: set[int] = set()
    others = {owner for _, status, owner in rows
              if status == "sending" and owner is not None and owner != alive.me}
    if others and session.get_bind().dialect.name == "postgresql":
        live = {number for (number,) in await session.execute(text(LIVE))}
    return sum(1 for row_id, status, owner in rows
               if status == "pending" or row_id in alive.mine or owner in live)


async def _nurture(uow: UnitOfWork, known: dict[tuple[str, int], dict[str, Any]],
                   flow_id: str, version: int) -> dict[str, Any]:
    """The `nurture:` of a flow version as it ran (its time zone)."""
    if (flow_id, version) not in known:
        stored = await uow.flow_versions.get(flow_id, version)
        nurture = (stored.definition or {}).get("nurture") if stored is not None else None
        known[(flow_id, version)] = nurture if isinstance(nurture, dict) else {}
    return known[(flow_id, version)]


def _later(row: BroadcastRecipient, now: datetime, config: BroadcastConfig,
           flow: dict[str, Any], sent: list[datetime]) -> datetime | None:
    """When the recipient may get it, if not now: the end of their quiet hours, or when
    the weekly marketing cap has room. The quiet hours are the operator's
    (LEADBOT_QUIET_HOURS: a broadcast is no flow's follow-up); the time zone is where their
    follow-ups take them to be: their latest flow's (`nurture.timezone`), else
    LEADBOT_NURTURE_TIMEZONE, else a guess from their language. `sent`: the marketing
    messages (follow-ups and broadcasts) that reached them in the week before `now`."""
    try:
        quiet = parse_quiet(config.quiet)
    except ValueError:  # the setting is checked at start, a flow's by the linter
        quiet = parse_quiet(DEFAULT_QUIET)
    zone = zone_for(flow_zone=flow.get("timezone"), default=config.timezone,
                    language=row.language)
    moved = quiet_until(now, zone, quiet)
    if moved is not None:
        return moved
    if config.weekly_cap:
        room = cap_until(sent, now, config.weekly_cap)
        if room is not None:
            return quiet_until(room, zone, quiet) or room
    return None


def _message(broadcast_id: int, definition: Any, row: BroadcastRecipient,
             conversation_id: int | None, name: str | None,
             links: Links | None = None) -> dict[str, Any]:
    """The recipient's message, an outbox row of the bulk lane: their language (or the
    fallback), how to stop, the buttons (a link through the bot, counted, when it has a
    public address) and the one-tap Unsubscribe (38-FZ Art. 18)."""
    recipient_id = row.id
    assert recipient_id is not None
    link = None if links is None else (
        lambda index: links.url(broadcast_id, index, recipient_id))
    method, payload = call(broadcast_id, definition, row.language, row.chat_id, name, link)
    # the latest conversation named: erasing it (retention) drops the row, as /forget does
    return {"chat_id": row.chat_id, "lane": "bulk", "method": method, "payload": payload,
            "purpose": "bulk", "marketing": True, "conversation_id": conversation_id}


def call(broadcast_id: int, definition: Any, language: str | None, chat_id: int,
         name: str | None, link: Callable[[int], str] | None = None
         ) -> tuple[str, dict[str, Any]]:
    """The Bot API call of a broadcast's message to one chat: (method, payload). `link`:
    a link button's address by its index (None: the button's own URL)."""
    message = definition.message
    html, language = render(message, language or message.fallback or "en", name, UNNAMED)
    # plain words and entities, as the outbox sends every text (no parse_mode), how to stop
    # after them
    text, entities = to_plain(html, unsubscribe_footer(language))
    rows = [*keyboard(broadcast_id, message, language, link),
            *unsubscribe_markup(language)["inline_keyboard"]]
    payload: dict[str, Any] = {"chat_id": chat_id, "reply_markup": {"inline_keyboard": rows}}
    for kind, method in (("photo", "sendPhoto"), ("document", "sendDocument")):
        where = getattr(message, kind, None)
        if where:  # a file on disk (its path made absolute by the parse), or an https URL
            payload[kind] = where if str(where).startswith("https://") else {
                "path": str(Path(where))}
            payload["caption"] = text
            if entities:
                payload["caption_entities"] = entities
            return method, payload
    payload["text"] = text
    if entities:
        payload["entities"] = entities
    return "sendMessage", payload


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _repository(session: AsyncSession) -> Any:
    from storage.work.broadcasts import Broadcasts

    return Broadcasts(session)


async def send_broadcasts(app: Running) -> Sooner:
    """The broadcasts job: writes what may go now, wakes the sender, and comes back in a
    second while a broadcast is sending."""
    queued, again = await deliver(app.sessions, utcnow(),
                                  BroadcastConfig.from_settings(app.settings),
                                  Alive.of(app.sender))
    if queued:
        app.sender.wake()
    return Sooner(again)
