"""Conversions sent to the ad platforms: per platform and goal, how many of the delivery rows
(storage/deliveries/rows.py: one per platform, lead and goal) wait, went, were confirmed,
failed or were skipped on purpose, for `leadbot report --conversions` and the dashboard's
Money page alike.

`conversions(session, ConversionsQuery(...))` returns plain JSON-serialisable data:

    {"since": "2026-11-01", "until": "2026-11-30", "timezone": "Europe/Moscow",
     "rows": [{"platform": "metrica", "moment": "hot", "goal": "leadbot_hot",
               "pending": 2,        # not sent yet (waiting for its batch, or retried)
               "sent": 10,          # the platform took it (GA4 never confirms more)
               "accepted": 30,      # the platform confirmed it (Meta, Metrica)
               "failed": 1,         # refused, or a try whose outcome is unknown
               "skipped": 4,        # not sent by design, for a reason of ours:
               "skipped_by": {"no_click": 3, "no_consent": 1},
               "failed_by": {"HTTP 400": 1}}, ...],
     "total": {... the same over every row, "platform"/"moment"/"goal" null ...}}

Which rows: those CREATED in the period (the moment a lead reached, days in
LEADBOT_TIMEZONE as every report), whatever became of them later. Rows are ordered by
platform (metrica, meta, ga4) and moment (lead .. lost); a goal renamed in the conversions
file is a row of its own. The CRM targets' rows are not counted here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.rules.conversions import MOMENTS, PLATFORMS
from storage.db.engine import READ_ONLY
from storage.reports.period import FunnelQuery, check
from storage.schema.tables import CrmDelivery

STATUSES = ("pending", "sent", "accepted", "failed", "skipped")
REASONED = ("skipped", "failed")  # the statuses whose `error` says why


@dataclass(frozen=True)
class ConversionsQuery:
    since: date
    until: date  # included
    timezone: str = "UTC"

    def check(self) -> None:
        """FunnelError for dates the wrong way round or an unknown time zone."""
        check(self._period())

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of `since`, start of the day after `until`) in UTC."""
        return self._period().bounds()

    def _period(self) -> FunnelQuery:
        return FunnelQuery(flow="", since=self.since, until=self.until,
                           timezone=self.timezone)


def _empty(platform: str | None, moment: str | None, goal: str | None) -> dict[str, Any]:
    return {"platform": platform, "moment": moment, "goal": goal,
            **dict.fromkeys(STATUSES, 0), "skipped_by": Counter(), "failed_by": Counter()}


def _order(row: dict[str, Any]) -> tuple:
    platform, moment = row["platform"], row["moment"]
    return (PLATFORMS.index(platform),
            MOMENTS.index(moment) if moment in MOMENTS else len(MOMENTS), moment,
            row["goal"] or "")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Reasons most frequent first (then by name): what the table shows first."""
    for key in ("skipped_by", "failed_by"):
        row[key] = dict(sorted(row[key].items(), key=lambda item: (-item[1], item[0])))
    return row


async def conversions(session: AsyncSession, query: ConversionsQuery) -> dict[str, Any]:
    """The conversions table (the module's docstring); FunnelError for a question it cannot
    answer. One grouped query: the JSON goal read in SQL (SQLite's json_extract,
    PostgreSQL's ->>), so the rows themselves never leave the database."""
    query.check()
    if not session.in_transaction():
        await session.connection(execution_options={READ_ONLY: True})
    start, end = query.bounds()
    goal = CrmDelivery.data["goal"].as_string()
    result = await session.execute(
        select(CrmDelivery.target, CrmDelivery.event, goal, CrmDelivery.status,
               CrmDelivery.error, func.count())
        .where(CrmDelivery.target.in_(PLATFORMS), CrmDelivery.created_at >= start,
               CrmDelivery.created_at < end)
        .group_by(CrmDelivery.target, CrmDelivery.event, goal, CrmDelivery.status,
                  CrmDelivery.error))
    rows: dict[tuple, dict[str, Any]] = {}
    total = _empty(None, None, None)
    for platform, moment, named, status, error, count in result.all():
        if status not in STATUSES:  # none but design.md's: a newer leadbot's, left out
            continue
        key = (platform, moment, named)
        row = rows.setdefault(key, _empty(*key))
        for into in (row, total):
            into[status] += count
            if status in REASONED:
                into[f"{status}_by"][error or "unknown"] += count
    return {"since": query.since.isoformat(), "until": query.until.isoformat(),
            "timezone": query.timezone,
            "rows": [_plain(r) for r in sorted(rows.values(), key=_order)],
            "total": _plain(total)}
