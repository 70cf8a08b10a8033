"""The flow page's panels: their figures, read from storage through the app's sessions
(the charts' geometry: bot/web/charts.py; the steps' names and answers: bot/web/steps.py).

- funnel: `storage.reports.funnel.funnel` with the page's filters (the very function `leadbot
  report --format json` prints, so both show the same numbers), a chart per flow version,
  each step named by its question;
- trend: the same counts by day (people who started, leads);
- answers: per question, the people who chose each option (storage/reports/answers.py);
- verdict: the A/B comparison `leadbot report --by variant` prints;
- sources / variants: the same counts grouped `by="source"` / `by="variant"`
  (`storage.reports.funnel.funnels`: all three groupings in one pass, equal to `funnel`'s);
- temperature: the funnel's hot / warm / cold leads;
- handoff_speed: `storage.reports.speed.handoff_speed` (per manager who claimed);
- faq: the FAQ entries answered, per entry (`storage.reports.typed.faq_hits`, the lines
  `leadbot report` ends with);
- leads: `storage.reports.leads.page`, the export's rows, a page at a time; contacts only when
  asked for on the page by someone who may see them, and then recorded with who looked, like
  `leadbot export leads --with-contacts`.

May import: bot.web, storage, dialogs.rules.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.charts import daily, funnel_chart, temperature_chart, trend_chart
from bot.web.filters import PAGE_SIZE, Filters, seconds_between
from bot.web.steps import distribution, named
from dialogs.rules.funnel import share
from storage.db.engine import READ_ONLY
from storage.reports.answers import chosen
from storage.reports.funnel import flow_definitions, funnels
from storage.reports.leads import LeadFilter, page
from storage.reports.period import FunnelQuery
from storage.reports.speed import handoff_speed
from storage.reports.typed import faq_hits
from storage.work.uow import UnitOfWork


def with_conversion(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Groups with the shares a marketer compares: leads, hot and hand-offs per started."""
    return [{**g, "lead_share": share(g["leads"], g["started"]),
             "hot_share": share(g["temperature"]["hot"], g["started"]),
             "handoff_share": share(g["handoffs"], g["started"])} for g in groups]


async def gather(sessions: async_sessionmaker[AsyncSession], filters: Filters,
                 timezone: str, lang: str, shown: Shown, who: str = "admin token"
                 ) -> dict[str, Any]:
    """panel key -> its data, for the flow page; `who` looks (recorded with the contacts
    shown: the page asks for them only for those who may see them)."""
    asked = FunnelQuery(flow=filters.flow, since=filters.since, until=filters.until,
                        timezone=timezone, source=filters.source)

    def mine(result: dict[str, Any]) -> list[dict[str, Any]]:
        return [g for g in result["groups"]
                if filters.version is None or g["version"] == filters.version]

    async def counted() -> tuple[list[dict[str, Any]], ...]:
        # all, by source, by variant, by day: one pass over the events
        # (storage.reports.funnel.funnels), then the versions' definitions (step texts)
        async with sessions() as session:
            results = await funnels(session, asked, [None, "source", "variant", "day"])
            definitions = await flow_definitions(
                session, {(g["flow"], g["version"]) for g in results[0]["groups"]})
            return (*[mine(r) for r in results], results[2].get("comparison"), definitions)

    async def answers() -> dict[tuple[str, int, str], dict[str, int]]:
        async with sessions() as session:
            await session.connection(execution_options={READ_ONLY: True})
            return await chosen(session, asked, shown.single, shown.multiple)

    async def speed() -> list[dict[str, Any]]:
        async with sessions() as session:
            return await handoff_speed(session, asked, version=filters.version)

    async def faq() -> list[dict[str, Any]]:
        async with sessions() as session:
            await session.connection(execution_options={READ_ONLY: True})
            return await faq_hits(session, asked)

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
    (main, sources, variants, days, comparison, definitions), picked, managers, asked_faq, (
        total, rows) = await asyncio.gather(counted(), answers(), speed(), faq(), leads())
    pages = max(1, -(-total // PAGE_SIZE))
    funnel = []
    for g in main:
        definition = definitions.get((g["flow"], g["version"]))
        steps = named(funnel_chart(g), definition, lang)
        chosen_here = {step: options for (flow, version, step), options in picked.items()
                       if (flow, version) == (g["flow"], g["version"])}
        funnel.append({**g, "title": shown.title(g), "steps": steps,
                       "questions": distribution(steps, definition, chosen_here, lang)})
    for row in rows:
        row["claim_seconds"] = seconds_between(row["handed_off_at"], row["claimed_at"])
    return {
        "funnel": funnel,
        "trend": trend_chart(daily(days, filters.since, filters.until)),
        "answers": funnel,
        "sources": [{**g, "title": shown.title(g)} for g in with_conversion(sources)],
        "variants": [{**g, "title": shown.title(g)} for g in with_conversion(variants)],
        "verdict": comparison,
        "temperature": [{**g, "title": shown.title(g), "chart": temperature_chart(g)}
                        for g in main],
        "handoff_speed": managers,
        "faq": asked_faq,
        "leads": {"total": total, "rows": rows, "page": filters.page, "pages": pages},
    }


@dataclass(frozen=True)
class Shown:
    """What the page knows of the flow picked from the app's flows: each flow id's A/B
    variant (as the linter names it), and the choice steps whose answers are counted."""
    variants: dict[str, str]
    single: frozenset[str]
    multiple: frozenset[str]

    def title(self, group: dict[str, Any]) -> dict[str, Any]:
        """A group's name parts: its variant (None outside an experiment), its version."""
        return {"variant": self.variants.get(group["flow"]), "flow": group["flow"],
                "version": group["version"]}
