"""CSV downloads of what the flow page's tables show: GET /admin/csv/<table>?flow=...&since=...
with the page's filters, the same sign-in as the page. UTF-8 with a BOM (Excel reads it as
such), a header row in the page's language, the file named by flow, table and period.

Tables: steps (the funnel), days (the trend), answers (the options chosen), sources,
variants, leads. The leads carry contacts only for someone who sees contacts
(bot/web/viewer.py) and asked for them (`contacts=1`), recorded like the page's showing.

May import: aiohttp, bot.web, storage (through the panels).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.cli.report import cell
from bot.web import filters as formats
from bot.web import i18n
from bot.web.panels import gather
from bot.web.viewer import viewer
from storage.reports.leads import LeadFilter, page
from storage.reports.period import FunnelQuery
from storage.work.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.web.admin import Admin

LEADS_MOST = 10_000  # rows of one leads download


def name(title: dict[str, Any]) -> str:
    """A group as the page names it: "variant b, version 1" or "version 1"."""
    return (f"{title['variant']} · v{title['version']}" if title["variant"]
            else f"v{title['version']}")


def steps(data: dict[str, Any], t: dict[str, str]) -> Iterable[list[Any]]:
    yield [t.version, t.step, t.step_id, t.kind, t.reached, t.answered, t.drop_off,
           t.went_from]
    for g in data["funnel"]:
        for s in g["steps"]:
            yield [name(g["title"]), s["name"] or "", s["step"], s["kind"], s["reached"],
                   s["answered"] if s["asks"] else "", s["lost"] or "",
                   s["branch_share"] if s["branch_of"] else ""]


def days(data: dict[str, Any], t: dict[str, str]) -> Iterable[list[Any]]:
    yield [t.day, t.started, t.leads_word]
    for d in data["trend"]["bars"]:
        yield [d["day"], d["started"], d["leads"]]


def answers(data: dict[str, Any], t: dict[str, str]) -> Iterable[list[Any]]:
    yield [t.version, t.question, t.step_id, t.option, t.people, t.share_answered]
    for g in data["answers"]:
        for q in g["questions"]:
            if not q["options"]:
                yield [name(g["title"]), q["name"] or "", q["step"], "", q["answered"], ""]
            for o in q["options"]:
                yield [name(g["title"]), q["name"] or "", q["step"], o["label"], o["people"],
                       "" if o["share"] is None else o["share"]]


def groups(key: str) -> Callable[[dict[str, Any], dict[str, str]], Iterable[list[Any]]]:
    def rows(data: dict[str, Any], t: dict[str, str]) -> Iterable[list[Any]]:
        yield [t.version, t[key + "_group"], t.started, t.leads_word, t.hot, t.handoffs,
               t.lead_share, t.hot_share]
        for g in data[key]:
            yield [name(g["title"]), g["group"], g["started"], g["leads"],
                   g["temperature"]["hot"], g["handoffs"], g["lead_share"], g["hot_share"]]
    return rows


TABLES = {"steps": steps, "days": days, "answers": answers, "sources": groups("sources"),
          "variants": groups("variants")}


class Words(dict):
    """A language's words, read as attributes (t.started) like the templates do."""

    def __getattr__(self, key: str) -> str:
        return self[key]


class Tables:
    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/admin/csv/{table}", self.admin.signed_in(self.download))

    async def download(self, request: web.Request) -> web.StreamResponse:
        from bot.web.admin import find_flow, flow_items, render, shown

        admin, table = self.admin, request.match_info["table"]
        lang = i18n.language(request)
        items = flow_items(admin.flows, lang)
        flow = find_flow(admin.flows, items, request.query.get("flow", ""), lang)
        if flow is None or (table not in TABLES and table != "leads"):
            return render(request, "not_found.html", status=404, flows=items,
                          picked=request.query.get("flow", ""))
        asked = formats.read(request.query, flow.id, admin.timezone)
        if asked.problems:
            return render(request, "dashboard.html", status=400, flows=items, flow=flow,
                          panels=(), panel_data={}, filters=asked)
        t = Words(i18n.words(lang))
        if table == "leads":
            looking = viewer(request)
            contacts = asked.contacts and looking.sees_contacts
            rows = await self.leads(asked, contacts, t, looking.name)
        else:
            asked.contacts, asked.page = False, 1
            data = await gather(admin.sessions, asked, admin.timezone, lang,
                                shown(admin.flows, flow))
            rows = list(TABLES[table](data, t))
        # each cell as `leadbot export` writes it: a phone stays text, a name or source that
        # starts like a formula (=, +, -, @) gets a ' so Excel shows it, never runs it
        phone_at = rows[0].index(t.phone) if rows and t.phone in rows[0] else None
        out = io.StringIO()
        csv.writer(out).writerows([[cell(value, phone=i == phone_at) for i, value in
                                    enumerate(row)] for row in rows])
        filename = f"{flow.id}-{table}-{asked.since.isoformat()}-{asked.until.isoformat()}.csv"
        return web.Response(
            body=("\ufeff" + out.getvalue()).encode("utf-8"),
            content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    async def leads(self, asked: formats.Filters, contacts: bool, t: Words,
                    who: str) -> list[list[Any]]:
        period = FunnelQuery(flow=asked.flow, since=asked.since, until=asked.until,
                             timezone=self.admin.timezone, source=asked.source)
        async with UnitOfWork(self.admin.sessions) as uow:
            _, found = await page(
                uow, period, LeadFilter(asked.version, asked.temperature, asked.outcome),
                size=LEADS_MOST, number=1, with_contacts=contacts, now=datetime.now(UTC),
                via="dashboard csv", who=who)
            await uow.commit()  # the contacts' event, before they leave
        head = [t.created, t.version, "variant", t.source, t.score, t.temperature_word,
                t.outcome, t.status, t.to_claim + ", s"]
        rows: list[list[Any]] = [head + ([t.name, t.phone, t.email] if contacts else [])]
        for r in found:
            claim = formats.seconds_between(r["handed_off_at"], r["claimed_at"])
            row = [formats.local_time(r["created_at"], self.admin.timezone), r["version"],
                   r["variant"], r["source"] or "", r["score"], r["temperature"] or "",
                   r["outcome"] or "", r["handoff_status"] or r["status"] or "",
                   "" if claim is None else round(claim)]
            if contacts:
                row += [r.get("name") or "", r.get("phone") or "", r.get("email") or ""]
            rows.append(row)
        return rows
