"""What a broadcast did (`results`): its recipients by status, what became of each queued one
(its outbox row's status, read by a join: never a copy), who unsubscribed, which buttons were
tapped, and the flows started and leads made from it (source "broadcast:<name>").

A queued recipient's outbox row says what happened:
- `delivered`: sent;
- `blocked`: refused with a 403 (the sender drops the row with Telegram's "Forbidden: ..."
  and every other row queued to that chat with "blocked by the prospect", and marks the
  prospect blocked);
- `failed`: another refusal; `dropped`: dropped for another reason (consent withdrawn,
  erased, stale);
- `unknown`: marked "sending" and never confirmed (a crash mid-call): maybe delivered, never
  sent again;
- `waiting`: still pending in the outbox.
Leads count only where the person left a contact, as the funnel counts them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.broadcasts.schema import source_of
from dialogs.rules.funnel import CONTACT
from storage.schema.broadcasts import SKIP_REASONS, Broadcast, BroadcastRecipient
from storage.schema.tables import Conversation, Lead, OutboxMessage
from storage.work.broadcasts import OUTCOMES, outcome


async def results(session: AsyncSession, broadcast_id: int) -> dict[str, Any]:
    """The broadcast's figures, JSON-ready. Raises LookupError for an unknown id."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise LookupError(f"no broadcast {broadcast_id}")
    mine = BroadcastRecipient.broadcast_id == broadcast_id
    statuses = dict.fromkeys(("pending", "queued", "skipped"), 0)
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    for status, reason, count in await session.execute(
            select(BroadcastRecipient.status, BroadcastRecipient.reason, func.count())
            .where(mine).group_by(BroadcastRecipient.status, BroadcastRecipient.reason)):
        statuses[status] = statuses.get(status, 0) + count
        if status == "skipped":
            skipped[reason or "unknown"] = skipped.get(reason or "unknown", 0) + count
    outcomes = dict.fromkeys(OUTCOMES, 0)
    what = outcome()
    outcomes.update({name: count for name, count in await session.execute(
        select(what, func.count()).select_from(BroadcastRecipient)
        .join(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
        .where(mine).group_by(what))})
    unsubscribed = await session.scalar(select(func.count()).where(
        mine, BroadcastRecipient.unsubscribed_at.is_not(None)))
    tapped: dict[str, int] = {}
    for (indexes,) in await session.execute(select(BroadcastRecipient.tapped).where(
            mine, func.json_array_length(BroadcastRecipient.tapped) > 0)):
        for index in sorted(set(indexes or [])):  # people, not taps
            tapped[str(index)] = tapped.get(str(index), 0) + 1
    source = Conversation.source == source_of(broadcast.name)
    started = await session.scalar(select(func.count()).select_from(Conversation)
                                   .where(source))
    leads = await session.scalar(
        select(func.count()).select_from(Lead)
        .join(Conversation, Conversation.id == Lead.conversation_id)
        .where(source, Conversation.progress[CONTACT].as_boolean().is_(True)))
    return {
        "id": broadcast.id, "name": broadcast.name, "status": broadcast.status,
        "created_by": broadcast.created_by,
        **{key: value.isoformat() if value is not None else None for key, value in (
            ("created_at", broadcast.created_at), ("send_at", broadcast.send_at),
            ("started_at", broadcast.started_at), ("finished_at", broadcast.finished_at))},
        "left_out": dict(broadcast.left_out or {}),
        "recipients": sum(statuses.values()), **statuses, "skipped_by": skipped,
        **outcomes, "unsubscribed": unsubscribed or 0,
        "tapped": dict(sorted(tapped.items(), key=lambda item: int(item[0]))),
        "flows_started": started or 0, "leads": leads or 0,
    }
