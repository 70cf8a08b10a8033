"""The dashboard's home page (GET /admin without `?flow=`): every flow and A/B experiment
in a period against the period of the same length before it, a daily chart of people and
leads, and the sources whose leads moved most. Each flow links to its page with the same
period.

The figures are storage.reports.home.home's (the funnel's people, equal to `leadbot report`
for the same days); here they become what the template writes: formatted numbers, changes
(an arrow, a sign and a percentage, or "new"), the chart's geometry. The period is read by
bot/web/filters.py (default: the last 7 days); a bad date is echoed beside its field.

May import: babel, bot.web, storage (through the app's sessions), dialogs.rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web import filters as formats
from bot.web.i18n import words
from dialogs.rules.funnel import share
from storage.reports.home import HomeQuery, home
from storage.reports.period import NONE

DAYS = 7  # the default period: a week, what a marketer looks at each morning
MOVERS = 5  # sources shown each way
PLOT, TOP, FOOT = 150, 16, 24  # the chart's plot height, space above and below it, px
LABELS = 6  # at most this many day labels under the chart (readable at 400 px)
# (metric, word, kind): "count" and "time" change by a percentage, "rate" by points
KPIS = (("started", "home_started", "count"), ("leads", "home_leads", "count"),
        ("hot", "home_hot", "count"), ("handoffs", "home_handoffs", "count"),
        ("won", "home_won", "count"), ("lead_rate", "home_lead_rate", "rate"),
        ("hot_rate", "home_hot_rate", "rate"), ("claim", "home_claim", "time"))


@dataclass(frozen=True)
class Entry:
    """A line of the home page: a flow, or an A/B experiment with its variants' flows."""
    name: str
    title: str
    page: str  # the flow page it links to
    experiment: bool
    variants: dict[str, str]  # variant -> its flow id


def entries(flows: Any, lang: str) -> list[Entry]:
    """The flows the app loaded (FlowRegistry.latest), an experiment's variants as one."""
    found: dict[str, Entry] = {}
    for flow_id, runnable in sorted(flows.latest.items()):
        flow = runnable.flow
        title = flow.title.get(lang) or flow.title.get(flow.language) or flow_id
        if flow.experiment is None:
            found[flow_id] = Entry(flow_id, title, flow_id, False, {})
            continue
        name = flow.experiment.name
        known = found.get(name)
        variants = {**(known.variants if known else {}), flow.experiment.variant: flow_id}
        page = name if name in flows.latest else min(variants.values())
        found[name] = Entry(name, title, page, True, dict(sorted(variants.items())))
    return sorted(found.values(), key=lambda e: e.title.casefold())


def read_period(query: Any, timezone: str) -> tuple[formats.Filters, dict[str, list[str]]]:
    """The period asked for (filters.read, a week by default) and the problems per field:
    "since" / "until" (a date not read) or "period" (the two together)."""
    asked = formats.read(query, "", timezone, days=DAYS)
    by_field: dict[str, list[str]] = {}
    for name in ("since", "until"):
        alone = formats.read({name: query.get(name, "")}, "", timezone, days=DAYS).problems
        if alone:
            by_field[name] = alone
    told = {p for found in by_field.values() for p in found}
    rest = [p for p in asked.problems if p not in told]
    if rest:
        by_field["period"] = rest
    return asked, by_field


async def gather(sessions: async_sessionmaker[AsyncSession], flows: Any, lang: str,
                 period: formats.Filters, timezone: str) -> dict[str, Any]:
    """The template's context: cards, chart, movers, the period's words."""
    listed = entries(flows, lang)
    async with sessions() as session:
        found = await home(session, HomeQuery(period.since, period.until, timezone,
                                              [e.name for e in listed]))
    span = {"since": period.since.isoformat(), "until": period.until.isoformat()}
    cards = []
    for entry in listed:
        figures = found["flows"][entry.name]
        variants = [{"variant": variant, "flow": flow_id,
                     "href": "/admin?" + urlencode({"flow": flow_id, **span}),
                     "kpis": kpis(figures["variants"].get(variant), lang)}
                    for variant, flow_id in entry.variants.items()]
        cards.append({"entry": entry, "kpis": kpis(figures, lang), "variants": variants,
                      "href": "/admin?" + urlencode({"flow": entry.page, **span})})
    return {"cards": cards, "chart": chart(found["days"], lang),
            "movers": movers(found["sources"], lang), "previous": found["previous"]}


def kpis(figures: dict[str, Any] | None, lang: str) -> list[dict[str, Any]]:
    """Each KPI of one flow (or variant): now, before, formatted, and the change."""
    empty = {"started": 0, "leads": 0, "hot": 0, "handoffs": 0, "won": 0,
             "time_to_claim": {"p50": None}}
    figures = figures or {"now": empty, "before": empty}
    out = []
    for metric, word, kind in KPIS:
        now, before = (_value(figures[p], metric) for p in ("now", "before"))
        written = {"count": lambda v: formats.number(v, lang),
                   "rate": lambda v: formats.percent(v, lang),
                   "time": lambda v: formats.duration(v, lang)}[kind]
        out.append({"metric": metric, "word": word, "now": now, "before": before,
                    "text": written(now), "was": written(before),
                    "change": change(now, before, kind, lang)})
    return out


def _value(f: dict[str, Any], metric: str) -> float | int | None:
    if metric == "lead_rate":
        return share(f["leads"], f["started"])
    if metric == "hot_rate":
        return share(f["hot"], f["leads"])
    if metric == "claim":
        return f["time_to_claim"]["p50"]
    return f[metric]


def change(now: float | None, before: float | None, kind: str, lang: str) -> dict[str, Any]:
    """{"way": up | down | same | new | none, "text", "good": True | False | None}: the
    arrow and the words say it; the colour only repeats it."""
    if now is None or (before is None and kind != "count"):
        return {"way": "none", "text": "", "good": None}
    if kind == "rate":
        delta = round(now - before, 1)
        text = f"{_signed(delta, lang)} {words(lang)['home_points']}"
    elif not before:
        if not now:
            return {"way": "same", "text": "0 %", "good": None}
        return {"way": "new", "text": "", "good": True}
    else:
        delta = round(100.0 * (now - before) / before, 1)
        text = f"{_signed(delta, lang)} %"
    way = "up" if delta > 0 else "down" if delta < 0 else "same"
    good = None if way == "same" else (way == "down") == (kind == "time")
    return {"way": way, "text": text, "good": good}


def _signed(value: float, lang: str) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return sign + formats.number(abs(value), lang)


def chart(days: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """People and leads per day as pairs of bars. x in percent of the width (the chart
    stretches to its card, its text keeps its size: readable on a phone), y in px."""
    top = _nice(max([d["started"] for d in days] + [d["leads"] for d in days] + [1]))
    slot = 100.0 / max(1, len(days))
    every = max(1, -(-len(days) // LABELS))
    bars = []
    for i, d in enumerate(days):
        day = date.fromisoformat(d["day"])
        label = format_date(day, "d MMM", locale=lang)
        people, leads = (round(PLOT * d[k] / top, 1) for k in ("started", "leads"))
        # the end labels lean inwards: none is cut off at the chart's edge
        middle = (i + .5) * slot
        anchor = "start" if middle < 12 else "end" if middle > 88 else "middle"
        at = {"start": i * slot, "end": (i + 1) * slot, "middle": middle}[anchor]
        bars.append({**d, "label": label if (len(days) - 1 - i) % every == 0 else "",
                     "anchor": anchor, "label_x": round(at, 3),
                     "title": (label, d["started"], d["leads"]),
                     "x": round(i * slot + slot * 0.12, 3), "width": round(slot * 0.38, 3),
                     "x2": round(i * slot + slot * 0.5, 3),
                     "people_y": TOP + PLOT - people, "people_h": people,
                     "leads_y": TOP + PLOT - leads, "leads_h": leads})
    return {"bars": bars, "top": top, "half": top / 2, "height": TOP + PLOT + FOOT,
            "plot_top": TOP, "plot_half": TOP + PLOT / 2, "base": TOP + PLOT,
            "empty": not any(d["started"] for d in days)}


def _nice(n: int) -> int:
    """The least of 2, 4, 10, 20, 40, 100, ... at least `n`: a top the axis halves evenly."""
    scale = 1
    while True:
        for step in (2, 4, 10):
            if step * scale >= n:
                return step * scale
        scale *= 10


def movers(sources: list[dict[str, Any]], lang: str) -> dict[str, list[dict[str, Any]]]:
    """The sources whose leads rose most and fell most, MOVERS each way."""
    rows = [{**s, "delta": s["now"] - s["before"], "named": s["source"] != NONE,
             "change": change(s["now"], s["before"], "count", lang)} for s in sources]
    up = sorted((r for r in rows if r["delta"] > 0), key=lambda r: (-r["delta"], r["source"]))
    down = sorted((r for r in rows if r["delta"] < 0), key=lambda r: (r["delta"], r["source"]))
    return {"up": up[:MOVERS], "down": down[:MOVERS]}


def shortcuts(timezone: str) -> list[dict[str, Any]]:
    """The period links: the last 7 and the last 30 days up to today."""
    today = datetime.now(ZoneInfo(timezone)).date()
    return [{"word": word, "since": (today - timedelta(days=days - 1)).isoformat(),
             "until": today.isoformat()} for word, days in (("home_week", 7),
                                                          ("home_month", 30))]
