"""`leadbot report --unmatched [--flow F] [--days N]`: the typed texts the bot did not
understand, grouped (the same normalised text counted once with its count), most frequent
first; and the FAQ lines `leadbot report --flow F` adds (storage/reports/typed.py).
The texts were masked before they were stored (docs/typed.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cli import arguments
from bot.settings import Settings

DEFAULT_DAYS = 30


def add_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("--unmatched", action="store_true",
                        help="the typed texts the bot did not understand instead, grouped, "
                             "most frequent first (all flows, or --flow's)")
    report.add_argument("--days", type=int, metavar="N",
                        help=f"with --unmatched: the last N days (default {DEFAULT_DAYS})")


def run_unmatched_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.database import DatabaseError

    days = DEFAULT_DAYS if args.days is None else args.days
    if days < 1:
        raise arguments.BadArgument("--days: give a whole number of days, 1 or more")
    try:
        groups = asyncio.run(_unmatched(settings, args.flow, days))
    except DatabaseError as error:
        print(f"leadbot {args.name}: {error}", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(json.dumps([g.as_dict() for g in groups], ensure_ascii=False,
                                    indent=2) + "\n")
    elif args.format == "csv":
        from bot.cli.report import csv_bytes

        sys.stdout.buffer.write(csv_bytes(
            ["flow", "step", "count", "people", "languages", "text", "last"],
            [[g.flow, g.step, g.count, g.people, " ".join(g.languages), g.text,
              g.last.isoformat()] for g in groups]))
    else:
        sys.stdout.write(unmatched_table(groups, args.flow, days))
    sys.stdout.flush()
    return 0


async def _unmatched(settings: Settings, flow: str | None, days: int) -> list[Any]:
    from bot.cli.report import check_flow
    from bot.database import open_existing
    from storage.db.engine import sessionmaker
    from storage.reports.typed import unmatched

    engine = await open_existing(settings.database_url)
    try:
        async with sessionmaker(engine)() as session:
            if flow:
                await check_flow(session, flow)
            return await unmatched(session, datetime.now(UTC) - timedelta(days=days), flow)
    finally:
        await engine.dispose()


def unmatched_table(groups: list[Any], flow: str | None, days: int) -> str:
    from tabulate import tabulate

    title = (f"typed texts not understood in the last {days} days"
             + (f", {flow}" if flow else "") + " (masked; most frequent first)")
    if not groups:
        return f"{title}\nnone\n"
    rows = [[g.count, g.people, g.flow, g.step, " ".join(g.languages), g.text]
            for g in groups]
    return title + "\n" + tabulate(rows, headers=["times", "people", "flow", "step", "lang",
                                                  "text"],
                                   tablefmt="simple", disable_numparse=True) + "\n"


def faq_lines(hits: list[dict[str, Any]]) -> list[str]:
    """`leadbot report --flow F`: the FAQ entries answered, per entry."""
    if not hits:
        return ["", "FAQ answered: none"]
    return ["", "FAQ answered (entry: times, people):",
            *(f"  {h['entry']}: {h['hits']}, {h['people']}" for h in hits)]


def faq_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The CSV's long rows for the FAQ hits: metric faq_hits / faq_people, step = entry."""
    rows: list[list[Any]] = []
    for h in result.get("faq", []):
        rows.append([result["flow"], "", "", "faq_hits", h["entry"], h["hits"]])
        rows.append([result["flow"], "", "", "faq_people", h["entry"], h["people"]])
    return rows
