"""Typed answers in the reports (docs/typed.md "The report"): the typed texts nothing matched
(`unmatched`, for `leadbot report --unmatched`), grouped by their normalised text, most
frequent first; and the FAQ entries answered per flow (`faq_hits`, in `leadbot report`).

The texts were masked before they were stored (dialogs.typed.mask); nothing here reads a
person's id or contacts.

May import: sqlalchemy, storage.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.reports.period import FunnelQuery, cohort
from storage.schema.tables import Conversation, Event, UnmatchedText

_PUNCTUATION = re.compile(r"[^\w\s\[\]]+")


def normalised(text: str) -> str:
    """What counts as the same text: case, ё/е, punctuation and spaces aside."""
    lowered = text.casefold().replace("ё", "е")
    return " ".join(_PUNCTUATION.sub(" ", lowered).split())


@dataclass(frozen=True)
class UnmatchedGroup:
    flow: str
    step: str
    text: str  # the most frequent way it was written
    count: int
    people: int
    languages: tuple[str, ...]
    last: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "step": self.step, "text": self.text, "count": self.count,
                "people": self.people, "languages": list(self.languages),
                "last": self.last.isoformat()}


async def unmatched(session: AsyncSession, since: datetime, flow: str | None = None,
                    limit: int = 100_000) -> list[UnmatchedGroup]:
    """The unmatched texts kept since `since` (of `flow` when given), one group per flow,
    step and normalised text, most frequent first (then the latest first)."""
    statement = (select(UnmatchedText.flow_id, UnmatchedText.step, UnmatchedText.text,
                        UnmatchedText.language, UnmatchedText.user_id,
                        UnmatchedText.created_at)
                 .where(UnmatchedText.created_at >= since)
                 .order_by(UnmatchedText.id).limit(limit))
    if flow:
        statement = statement.where(UnmatchedText.flow_id == flow)
    texts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    people: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    languages: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    last: dict[tuple[str, str, str], datetime] = {}
    for flow_id, step, text, language, user_id, created_at in await session.execute(statement):
        key = (flow_id, step, normalised(text))
        texts[key][text.strip()] += 1
        people[key].add(user_id)
        languages[key].add(language)
        last[key] = max(last.get(key, created_at), created_at)
    groups = [UnmatchedGroup(flow=k[0], step=k[1], text=texts[k].most_common(1)[0][0],
                             count=sum(texts[k].values()), people=len(people[k]),
                             languages=tuple(sorted(languages[k])), last=last[k])
              for k in texts]
    return sorted(groups, key=lambda g: (-g.count, -g.last.timestamp(), g.flow, g.step))


async def faq_hits(session: AsyncSession, query: FunnelQuery) -> list[dict[str, Any]]:
    """FAQ entries answered to the period's cohort (the funnel's): per entry, how many
    times and to how many people, most asked first."""
    where = await cohort(session, query)
    statement = (select(Event.data, Event.step, Event.user_id)
                 .join(Conversation, Conversation.id == Event.conversation_id)
                 .where(Event.kind == "faq", *where))
    hits: Counter[str] = Counter()
    people: dict[str, set[int]] = defaultdict(set)
    steps: dict[str, Counter[str]] = defaultdict(Counter)
    for data, step, user_id in await session.execute(statement):
        entry = str((data or {}).get("entry") or "?")
        hits[entry] += 1
        people[entry].add(user_id)
        steps[entry][step or ""] += 1
    return [{"entry": entry, "hits": count, "people": len(people[entry]),
             "steps": dict(steps[entry].most_common())}
            for entry, count in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))]

