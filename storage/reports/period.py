"""What a report asks for, and which conversations that means: a flow's (or an A/B
experiment's) conversations that STARTED in a period of days in the operator's time zone
(`FunnelQuery`, `until` included), from a source when given, grouped by one of DIMENSIONS;
checked (`check`) and turned into SQL conditions (`cohort`). The funnel (funnel.py), the
hand-off speed (speed.py) and the leads (leads.py) all ask with a FunnelQuery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, case, literal, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.schema.tables import Conversation, Prospect

NONE = "—"  # the group of conversations with no value for the dimension (no source)
MAX_DAYS = 400  # `by day` over more days than this: ask for a shorter range


@dataclass(frozen=True)
class FunnelQuery:
    flow: str
    since: date
    until: date  # included
    timezone: str = "UTC"
    source: str | None = None  # only conversations from this deep-link source
    by: str | None = None  # a key of DIMENSIONS

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of `since`, start of the day after `until`) in UTC."""
        zone = ZoneInfo(self.timezone)
        return (_midnight(self.since, zone), _midnight(self.until + timedelta(days=1), zone))


class FunnelError(ValueError):
    """A query that cannot be answered (bad dimension, dates the wrong way round)."""


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _day(query: FunnelQuery) -> ColumnElement:
    """The local date a conversation started on, as a CASE over the days' UTC bounds:
    the same SQL on SQLite and PostgreSQL, and right across daylight-saving changes."""
    zone = ZoneInfo(query.timezone)
    days = (query.until - query.since).days + 1
    if days > MAX_DAYS:
        raise FunnelError(f"--by day over {days} days: give a range of at most {MAX_DAYS}")
    whens = [(Conversation.started_at < _midnight(query.since + timedelta(days=i + 1), zone),
              literal((query.since + timedelta(days=i)).isoformat(), String)) for i in range(days)]
    return case(*whens, else_=literal(NONE, String))


@dataclass(frozen=True)
class Dimension:
    value: Callable[[FunnelQuery], ColumnElement]  # a conversation's group, in SQL
    prospect: bool = False  # the value is the prospect's: join prospects


# How conversations are grouped. Adding a dimension is one line.
DIMENSIONS: dict[str, Dimension] = {
    "source": Dimension(lambda q: Conversation.source),
    "version": Dimension(lambda q: null()),  # every group is per version already
    "variant": Dimension(lambda q: Conversation.variant),  # A/B: "—" outside experiments
    "language": Dimension(lambda q: Prospect.language, prospect=True),
    "day": Dimension(_day),
}


def check(query: FunnelQuery) -> None:
    if query.by is not None and query.by not in DIMENSIONS:
        raise FunnelError(f"cannot group by {query.by!r}: use one of "
                          f"{', '.join(DIMENSIONS)}")
    if query.until < query.since:
        raise FunnelError(f"--until {query.until} is before --since {query.since}")
    try:
        ZoneInfo(query.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FunnelError(f"unknown time zone {query.timezone!r}") from None


async def cohort(session: AsyncSession, query: FunnelQuery) -> list[ColumnElement]:
    """The conditions on conversations that make the period's cohort: the flow's (or the
    experiment's, `_of_flow`), started in the period, from the source when given."""
    start, end = query.bounds()
    where = [await _of_flow(session, query.flow), Conversation.started_at >= start,
             Conversation.started_at < end]
    if query.source is not None:
        where.append(Conversation.source == query.source)
    return where


async def _of_flow(session: AsyncSession, name: str) -> ColumnElement:
    """The conversations `--flow NAME` means: the flow's, and when NAME is an A/B
    experiment (recorded on conversations) every variant's too, whatever its flow id."""
    experiment = await session.scalar(
        select(Conversation.id).where(Conversation.experiment == name).limit(1))
    if experiment is None:
        return Conversation.flow_id == name
    return or_(Conversation.flow_id == name, Conversation.experiment == name)
