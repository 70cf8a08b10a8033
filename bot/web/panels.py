"""The flow page's panels: their figures, read from storage through the app's sessions,
and the charts' geometry (the templates only write what is computed here).

- funnel: `storage.reports.funnel.funnel` with the page's filters (the very function `leadbot
  report --format json` prints, so both show the same numbers), a chart per flow version;
- sources / variants: the same counts grouped `by="source"` / `by="variant"`
  (`storage.reports.funnel.funnels`: all three groupings in one pass, equal to `funnel`'s);
- temperature: the funnel's hot / warm / cold leads;
- handoff_speed: `storage.reports.speed.handoff_speed` (per manager who claimed);
- leads: `storage.reports.leads.page`, the export's rows, a page at a time; contacts only when
  asked for on the page by someone who may see them, and then recorded with who looked, like
  `leadbot export leads --with-contacts`.

May import: bot.web, storage, dialogs.rules.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.filters import PAGE_SIZE, Filters
from dialogs.rules.funnel import share
from storage.db.engine import READ_ONLY
from storage.reports.funnel import funnels
from storage.reports.leads import LeadFilter, page
from storage.reports.period import FunnelQuery
from storage.reports.speed import handoff_speed
from storage.work.uow import UnitOfWork

BAR = 360  # the funnel's widest bar, px
LABEL = 150  # the step names' column, px
ROW = 40  # one step's height, px
STACK = 480  # the temperature bar's width, px


def funnel_chart(group: dict[str, Any]) -> dict[str, Any]:
    """A group's funnel as bars: per step the reached and answered bars' widths (of the
    widest: the people who started, or the most who reached a step)."""
    widest = max([group["started"], *(s["reached"] for s in group["steps"])]) or 1
    bars = []
    for index, step in enumerate(group["steps"]):
        bars.append({**step, "y": 8 + index * ROW,
                     "reached_width": round(BAR * step["reached"] / widest, 1),
                     "answered_width": round(BAR * step["answered"] / widest, 1)})
    return {"bars": bars, "width": LABEL + BAR + 200, "height": 16 + len(bars) * ROW,
            "label": LABEL}


def temperature_chart(group: dict[str, Any]) -> dict[str, Any]:
    """The leads' hot / warm / cold as one stacked bar: each part's x, width and share."""
    total = sum(group["temperature"].values())
    parts, x = [], 0.0
    for name in ("hot", "warm", "cold"):
        count = group["temperature"][name]
        width = round(STACK * count / total, 1) if total else 0.0
        parts.append({"name": name, "count": count, "share": share(count, total),
                      "x": round(x, 1), "width": width})
        x += width
    return {"parts": parts, "total": total, "width": STACK}


def with_conversion(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups with the shares a marketer compares: leads, hot and hand-offs per started."""
    return [{**g, "lead_share": share(g["leads"], g["started"]),
             "hot_share": share(g["temperature"]["hot"], g["started"]),
             "handoff_share": share(g["handoffs"], g["started"])} for g in groups]


async def gather(sessions: async_sessionmaker[AsyncSession], filters: Filters,
                 timezone: str, who: str = "admin token") -> dict[str, Any]:
    """panel key -> its data, for the flow page; `who` looks (recorded with the contacts
    shown: the page asks for them only for those who may see them)."""
    asked = FunnelQuery(flow=filters.flow, since=filters.since, until=filters.until,
                        timezone=timezone, source=filters.source)

    def mine(result: dict[str, Any]) -> list[dict[str, Any]]:
        return [g for g in result["groups"]
                if filters.version is None or g["version"] == filters.version]

    async def counted() -> list[list[dict[str, Any]]]:
        # all, by source, by variant: one pass over the events (storage.reports.funnel.funnels)
        async with sessions() as session:
            return [mine(result) for result in
                    await funnels(session, asked, [None, "source", "variant"])]

    async def speed() -> list[dict[str, Any]]:
        async with sessions() as session:
            return await handoff_speed(session, asked, version=filters.version)

    async def leads() -> tuple[int, list[dict[str, Any]]]:
        async with UnitOfWork(sessions) as uow:
            if not filters.contacts:  # nothing to record: on SQLite, no write lock
                await uow.session.connection(execution_options={READ_ONLY: True})
            found = await page(
                uow, asked, LeadFilter(filters.version, filters.temperature, filters.outcome),
                size=PAGE_SIZE, number=filters.page, with_contacts=filters.contacts,
                now=datetime.now(UTC), who=who)
            await uow.commit()  # the contacts' event, before they are shown
            return found

    # each on a connection of its own, at once: the database counts them side by side
    (main, sources, variants), managers, (total, rows) = await asyncio.gather(
        counted(), speed(), leads())
    pages = max(1, -(-total // PAGE_SIZE))
    return {
        "funnel": [{**g, "chart": funnel_chart(g)} for g in main],
        "sources": with_conversion(sources),
        "variants": with_conversion(variants),
        "temperature": [{**g, "chart": temperature_chart(g)} for g in main],
        "handoff_speed": managers,
        "leads": {"total": total, "rows": rows, "page": filters.page, "pages": pages},
    }
