"""Who sends an outbox row when several processes share one PostgreSQL (issue: several
processes; docs/scaling.md).

Each process's sender holds a session-level advisory lock (SENDERS, number) on a connection
of its own (bot/outbox/fleet.py) for as long as it lives: that number is its name here. A
row's `owner` is the number of the sender that sends it, and a sender sends only its own
rows. PostgreSQL releases the lock when the connection ends, so a process killed with -9 is
seen gone at once, with no lease to run out and no heartbeat to miss; its rows are then
taken over (adopted) by a live sender.

One chat, one sender: a chat's pending rows all have one owner, so a chat's order and its
rate (1/s a private chat, 20/min a group) are kept by one process's memory, exactly. Who
that is is decided under a per-chat transaction lock (CHATS): a row goes to the live sender
that holds the chat's pending rows, else to the process that committed it (the short path:
its reply goes at once). A chat that comes to a sender from another gets the chat's recent
sends with it (`taken_over`: the others' sends; the sender adds its own from memory, the
only place its unmarked ones are): its rate bucket starts where they left it, and no
Telegram message id it remembers from before is trusted for an edit.

The numbers of the live senders are read from pg_locks (LIVE), never from a table a dead
process would leave behind. SQLite: one process, no owners (the column stays NULL).

May import: storage.db, storage.schema, SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db.locks import CHATS, SENDERS

OWNER = "outbox_owner"  # the key of the Holder in a session's `info` (PostgreSQL only)
CHANNEL = "leadbot_outbox"  # NOTIFY: a number (rows for it), "reread <from>", "pause <epoch>"
HISTORY = timedelta(seconds=60)  # the sends a chat taken over brings with it (20/min)

# the numbers of the senders alive now: their session locks, in this database only (one
# PostgreSQL server may hold several databases, each with its own bot)
LIVE = (f"SELECT objid::bigint AS number FROM pg_locks WHERE locktype = 'advisory' "
        f"AND classid = {SENDERS} AND objsubid = 2 AND granted AND database = "
        f"(SELECT oid FROM pg_database WHERE datname = current_database())")


@dataclass
class Holder:
    """This process's sender number while it holds its lock; None while it does not
    (starting, or its connection lost: then its rows are written with no owner and a live
    sender takes them)."""

    number: int | None = None


@dataclass
class Routed:
    """What deciding the owners of some chats' rows found."""

    owners: dict[int, int] = field(default_factory=dict)  # chat -> the sender of its rows
    adopted: set[int] = field(default_factory=set)  # chats whose waiting rows came to me
    wake: set[int] = field(default_factory=set)  # other senders given rows: NOTIFYed
    # chats another sender sent to last -> that sender's (and any other's) recent sends
    taken_over: dict[int, list[datetime]] = field(default_factory=dict)
    dead: set[int] = field(default_factory=set)  # chats taken from a sender that died

    def merged(self, other: Routed) -> Routed:
        """Both decisions of one transaction (its outbox rows written in two goes)."""
        return Routed({**self.owners, **other.owners}, self.adopted | other.adopted,
                      self.wake | other.wake, {**self.taken_over, **other.taken_over},
                      self.dead | other.dead)


def holder_of(session: AsyncSession) -> Holder | None:
    return session.info.get(OWNER)


def chat_key(chat_id: int) -> int:
    return chat_id % 2_147_483_647  # the lock's second half is an int4; a clash only waits


# a chat's sends, for its rate: who sent last, and the others' sends of the last minute
SENT = """
  (SELECT o.owner FROM outbox o WHERE o.chat_id = c.chat_id AND o.status = 'sent'
     ORDER BY o.id DESC LIMIT 1) AS last_owner,
  ARRAY(SELECT o.sent_at FROM outbox o WHERE o.chat_id = c.chat_id AND o.status = 'sent'
     AND o.lane <> 'tap' AND o.sent_at > :since AND o.owner IS DISTINCT FROM :me
     ORDER BY o.id DESC LIMIT 20) AS recent
FROM unnest(CAST(:chats AS bigint[])) AS c(chat_id)
"""
ROUTE = text(f"""
WITH live AS ({LIVE})
SELECT c.chat_id,
  (SELECT o.owner FROM outbox o WHERE o.chat_id = c.chat_id AND o.status = 'pending'
     AND o.owner <> :me AND o.owner IN (SELECT number FROM live) LIMIT 1) AS holder,
  EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = c.chat_id AND o.status = 'pending'
     AND (o.owner IS NULL OR o.owner NOT IN (SELECT number FROM live))) AS orphans,
  EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = c.chat_id AND o.status = 'pending'
     AND o.owner NOT IN (SELECT number FROM live)) AS dead,{SENT}""")
SENDS = text(f"SELECT c.chat_id,{SENT}")
ADOPT = text(f"""
UPDATE outbox SET owner = :owner WHERE chat_id = :chat_id AND status = 'pending'
  AND (owner IS NULL OR owner NOT IN (SELECT number FROM ({LIVE}) AS live))
""")
WAITING = text(f"""
SELECT DISTINCT chat_id FROM outbox WHERE status = 'pending' AND lane <> 'bulk'
  AND (owner IS NULL OR owner NOT IN (SELECT number FROM ({LIVE}) AS live)) LIMIT :limit
""")
# a broadcast's chats (the bulk lane), oldest first, only as many as a sender will send soon:
# the others are left to the other senders, so every process sends its share of it
WAITING_BULK = text(f"""
SELECT chat_id FROM outbox WHERE status = 'pending' AND lane = 'bulk'
  AND (owner IS NULL OR owner NOT IN (SELECT number FROM ({LIVE}) AS live))
GROUP BY chat_id ORDER BY min(id) LIMIT :limit
""")



async def history(session: AsyncSession, chats: list[int], me: int,
                  now: datetime) -> dict[int, list[datetime]]:
    """The recent sends of those chats another sender sent to last (a sender's scan finds
    rows of a chat it has no memory of: an update's rows it reads before their commit's
    short path hands them over)."""
    if not chats:
        return {}
    result = await session.execute(SENDS, {"chats": chats, "me": me,
                                           "since": now - HISTORY})
    return {chat_id: list(recent or []) for chat_id, last_owner, recent in result.all()
            if last_owner is not None and last_owner != me}


async def _route(session: AsyncSession, chats: list[int], me: int, now: datetime) -> Routed:
    """Decides each chat's sender (its chat lock held by the caller) and gives it the chat's
    rows no live sender has."""
    routed = Routed()
    result = await session.execute(ROUTE, {"me": me, "chats": chats, "since": now - HISTORY})
    for chat_id, holder, orphans, dead, last_owner, recent in result.all():
        owner = holder if holder is not None else me
        routed.owners[chat_id] = owner
        if orphans:
            await session.execute(ADOPT, {"owner": owner, "chat_id": chat_id})
            if owner == me:
                routed.adopted.add(chat_id)
                if dead:  # what it sent last may not be marked: none of it is in `recent`
                    routed.dead.add(chat_id)
        if owner != me:
            routed.wake.add(owner)
        elif (last_owner is not None and last_owner != me) or chat_id in routed.dead:
            routed.taken_over[chat_id] = list(recent or [])
    return routed


async def notify(session: AsyncSession, payloads: set[str] | list[str]) -> None:
    """Delivered at commit, never ahead of the rows it is about."""
    for payload in sorted(payloads):
        await session.execute(text("SELECT pg_notify(:channel, :payload)"),
                              {"channel": CHANNEL, "payload": payload})


async def assign(session: AsyncSession, rows: list[dict], me: int, now: datetime) -> Routed:
    """Sets `owner` on an update's outbox rows before they are written (its transaction
    then holds the chats' locks until it commits): each to its chat's sender."""
    chats = sorted({row["chat_id"] for row in rows})
    await session.execute(
        text(f"SELECT pg_advisory_xact_lock({CHATS}, k) "
             "FROM unnest(CAST(:keys AS int[])) AS k ORDER BY k"),
        {"keys": sorted({chat_key(chat) for chat in chats})})
    routed = await _route(session, chats, me, now)
    for row in rows:
        row["owner"] = routed.owners[row["chat_id"]]
    await notify(session, {str(owner) for owner in routed.wake})
    return routed


async def claim(session: AsyncSession, me: int, now: datetime, limit: int = 50,
                bulk: int = 50) -> Routed:
    """Rows no live sender has (written by a job, by a process without its lock, or left by
    a process that died): each chat's go to its live sender, else to me. Chats another
    transaction is deciding now are left to the next scan (try-locks: a scan never waits).
    Chats with only a broadcast's rows waiting: at most `bulk` of them (what this sender
    sends in the next seconds), so that the others take their part."""
    result = await session.execute(WAITING, {"limit": limit})
    waiting = [chat_id for (chat_id,) in result.all()]
    if bulk > 0:
        result = await session.execute(WAITING_BULK, {"limit": bulk})
        waiting += [chat_id for (chat_id,) in result.all() if chat_id not in waiting]
    if not waiting:
        return Routed()
    keys = {chat_key(chat): chat for chat in waiting}
    result = await session.execute(
        text(f"SELECT k FROM unnest(CAST(:keys AS int[])) AS k "
             f"WHERE pg_try_advisory_xact_lock({CHATS}, k)"), {"keys": sorted(keys)})
    chats = sorted(keys[key] for (key,) in result.all())
    if not chats:
        return Routed()
    routed = await _route(session, chats, me, now)
    await notify(session, {str(owner) for owner in routed.wake})
    return routed


async def live_count(session: AsyncSession) -> int:
    result = await session.execute(text(f"SELECT count(*) FROM ({LIVE}) AS live"))
    return int(result.scalar_one())
