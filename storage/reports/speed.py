"""How fast each sales manager takes and calls the hot leads of a flow: per manager who
claimed, the hand-offs claimed and the time to claim / to first contact (p50 / p90).

The same people as the funnel (funnel.py): hand-offs of the conversations with the
flow that STARTED in the period (`FunnelQuery.since` .. `until`, the operator's time zone),
from `source` when given. Times are measured from the hand-off (the card posted), per
hand-off, like the funnel's `time_to_claim` / `time_to_first_contact`, so the managers'
figures add up to the funnel's: every claimed hand-off belongs to exactly one manager.

    [{"manager": "Olga", "manager_id": 77, "claimed": 9,
      "time_to_claim": {"count": 9, "p50": 240.0, "p90": 1800.0},          # seconds
      "time_to_first_contact": {"count": 7, "p50": 600.0, "p90": 3600.0}}, ...]

Most claimed first. The manager's name is the one Telegram showed when they claimed (the
latest one seen); a manager with no name is shown by id.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.rules.funnel import timing
from storage.db.engine import READ_ONLY
from storage.reports.period import FunnelQuery
from storage.schema.tables import Conversation, Handoff


async def handoff_speed(session: AsyncSession, query: FunnelQuery,
                        version: int | None = None) -> list[dict[str, Any]]:
    """Per manager, the figures above; `version`: only conversations with that flow
    version."""
    if not session.in_transaction():
        await session.connection(execution_options={READ_ONLY: True})
    start, end = query.bounds()
    where = [Conversation.flow_id == query.flow, Conversation.started_at >= start,
             Conversation.started_at < end, Handoff.claimed_by.is_not(None)]
    if query.source is not None:
        where.append(Conversation.source == query.source)
    if version is not None:
        where.append(Conversation.flow_version == version)
    result = await session.execute(
        select(Handoff.claimed_by, Handoff.claimed_by_name, Handoff.created_at,
               Handoff.claimed_at, Handoff.first_contact_at)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(*where).order_by(Handoff.claimed_at))
    names: dict[int, str | None] = {}
    claims: dict[int, list[float]] = defaultdict(list)
    contacts: dict[int, list[float]] = defaultdict(list)
    for manager, name, handed, claimed, contacted in result:
        names[manager] = name or names.get(manager)
        claims[manager].append((claimed - handed).total_seconds())
        if contacted is not None:
            contacts[manager].append((contacted - handed).total_seconds())
    rows = [{"manager": names[m] or str(m), "manager_id": m, "claimed": len(claims[m]),
             "time_to_claim": timing(claims[m]),
             "time_to_first_contact": timing(contacts[m])} for m in claims]
    return sorted(rows, key=lambda r: (-r["claimed"], r["manager"]))
