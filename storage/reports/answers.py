"""Which options people chose: per flow, version, choice step and option, the distinct
people of a period's cohort (storage/reports/period.py, the funnel's) who chose it.

Only the choice steps' answers are read (an option's id, or a list of them for a
multiple choice); a single choice's are counted in SQL by the value as stored, so a
period of 100,000 people is a few dozen rows. Free text and numbers are never read here:
they may be personal, and the funnel's "answered" already counts who gave them. A person
who went back and chose again counts under each option they chose (at least once).

    {("kitchen-quiz", 1, "location"): {"city": 40, "suburbs": 12, "far": 3}, ...}

May import: sqlalchemy, storage.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.reports.period import FunnelQuery, cohort
from storage.schema.tables import Answer, Conversation


async def chosen(session: AsyncSession, query: FunnelQuery, single: Iterable[str],
                 multiple: Iterable[str] = ()) -> dict[tuple[str, int, str], dict[str, int]]:
    """(flow, version, step) -> {option id: people who chose it}, for the single and the
    multiple choice steps named (their ids) of the cohort of `query`."""
    where = await cohort(session, query)
    value = cast(Answer.value, String)
    found: dict[tuple[str, int, str], dict[str, int]] = defaultdict(dict)
    if single := sorted(set(single)):  # an option per answer: counted in SQL
        statement = (
            select(Conversation.flow_id, Conversation.flow_version, Answer.step, value,
                   func.count(distinct(Conversation.user_id)))
            .select_from(Answer).join(Conversation, Conversation.id == Answer.conversation_id)
            .where(*where, Answer.step.in_(single))
            .group_by(Conversation.flow_id, Conversation.flow_version, Answer.step, value))
        for flow, version, step, text, people in await session.execute(statement):
            for option in _options(text):
                found[(flow, version, step)][option] = people
    if multiple := sorted(set(multiple)):  # lists: a person's options united in memory
        statement = (
            select(Conversation.flow_id, Conversation.flow_version, Answer.step, value,
                   Conversation.user_id)
            .select_from(Answer).join(Conversation, Conversation.id == Answer.conversation_id)
            .where(*where, Answer.step.in_(multiple)))
        people: dict[tuple[str, int, str], dict[str, set[int]]] = defaultdict(
            lambda: defaultdict(set))
        parsed: dict[str | None, tuple[str, ...]] = {}
        for flow, version, step, text, user in await session.execute(statement):
            if text not in parsed:
                parsed[text] = _options(text)
            for option in parsed[text]:
                people[(flow, version, step)][option].add(user)
        for key, options in people.items():
            found[key].update({option: len(users) for option, users in options.items()})
    return dict(found)


def _options(text: str | None) -> tuple[str, ...]:
    """The option ids an answer's stored value names (a JSON string or list of them)."""
    try:
        value: Any = json.loads(text) if text else None
    except ValueError:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(dict.fromkeys(str(v) for v in value))
    return ()
