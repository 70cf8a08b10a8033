"""The flow page's charts as geometry the templates only draw (server-side SVG, no script):
the funnel's bars, the leads' temperature as one stacked bar, the daily trend.

Every bar is also written as text beside it (not colour alone). The SVGs carry no text of
their own where a phone would shrink it: names and figures are HTML around them.

May import: dialogs.rules, the standard library.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from dialogs.rules.funnel import share

STACK = 480  # the temperature bar's width, in its viewBox
TREND_WIDTH, TREND_HEIGHT = 600, 140  # the trend's viewBox


def funnel_chart(group: dict[str, Any]) -> list[dict[str, Any]]:
    """A group's steps with their bars' widths in percent of the widest (the people who
    started, or the most who reached a step)."""
    widest = max([group["started"], *(s["reached"] for s in group["steps"])]) or 1
    return [{**step, "reached_width": round(100 * step["reached"] / widest, 1),
             "answered_width": round(100 * step["answered"] / widest, 1)}
            for step in group["steps"]]


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


def daily(groups: list[dict[str, Any]], since: date, until: date) -> list[dict[str, Any]]:
    """People who started and leads per day of the period (the funnel grouped by day,
    each version's groups added up), every day of the period, none left out."""
    found: dict[str, dict[str, int]] = {}
    for g in groups:
        day = found.setdefault(g["group"], {"started": 0, "leads": 0})
        day["started"] += g["started"]
        day["leads"] += g["leads"]
    days = []
    for offset in range((until - since).days + 1):
        key = (since + timedelta(days=offset)).isoformat()
        days.append({"day": key, **found.get(key, {"started": 0, "leads": 0})})
    return days


def trend_chart(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars per day (people, with the leads inside), scaled to the busiest day."""
    most = max([d["started"] for d in days] or [0]) or 1
    step = TREND_WIDTH / max(1, len(days))
    bars = []
    for index, d in enumerate(days):
        high = round(TREND_HEIGHT * d["started"] / most, 1)
        leads = round(TREND_HEIGHT * d["leads"] / most, 1)
        bars.append({**d, "x": round(index * step + step * 0.1, 1),
                     "width": round(step * 0.8, 1), "y": round(TREND_HEIGHT - high, 1),
                     "height": high, "leads_y": round(TREND_HEIGHT - leads, 1),
                     "leads_height": leads})
    return {"bars": bars, "width": TREND_WIDTH, "height": TREND_HEIGHT, "most": most,
            "people": sum(d["started"] for d in days), "leads": sum(d["leads"] for d in days)}
