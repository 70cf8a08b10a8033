"""`leadbot spend import|list` and `leadbot report --money`: ad spend in, money per source
out. The rules live below: dialogs/rules/money.py reads a spend file, storage/work/spend.py
writes it (what a re-import replaces), storage/reports/money.py counts; this module parses
arguments and prints. The database and the table library are imported when these commands
run."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cli import arguments
from bot.settings import Settings

FORMATS = ("table", "csv", "json")
COLUMNS = ("spend", "clicks", "people", "leads", "hot", "handoffs", "won",
           "won_without_amount", "revenue", "cost_per_lead", "cost_per_hot", "cost_per_sale",
           "romi", "median_days_to_sale")
MONEY = {"spend", "revenue", "cost_per_lead", "cost_per_hot", "cost_per_sale"}
PAID = "total paid sources"  # the sources with spend: the costs and ROMI of the totals


def add_commands(commands: Any) -> None:
    spend = commands.add_parser(
        "spend", help="ad spend: import a CSV, list what is stored",
        description="Ad spend per source (and campaign), in LEADBOT_CURRENCY, for the money "
                    "report (`leadbot report --money`).")
    what = spend.add_subparsers(dest="spend_command", required=True, metavar="COMMAND",
                                help="what to do")
    load = what.add_parser(
        "import", help="import a spend CSV (re-importing a period replaces it)",
        description="Import a spend CSV: columns date (2026-11-03 or 03.11.2026, or 2026-11 "
                    "or 11.2026 for a month), source, campaign (optional), amount (1234.50, "
                    "1 234,50), currency (optional: LEADBOT_CURRENCY). UTF-8, `,` or `;`. A "
                    "bad row: nothing is imported. Each row replaces the stored spend of its "
                    "source and campaign for its own day (or month), nothing else.")
    load.add_argument("file", metavar="FILE.csv", help="the spend file")
    load.set_defaults(command=run_spend_import)
    show = what.add_parser(
        "list", help="the stored spend, by day",
        description="The stored spend rows overlapping --since..--until (default: all).")
    show.add_argument("--since", type=arguments.day, metavar="YYYY-MM-DD",
                      help="rows ending on or after this day")
    show.add_argument("--until", type=arguments.day, metavar="YYYY-MM-DD",
                      help="rows starting on or before this day")
    show.add_argument("--format", choices=FORMATS, default="table",
                      help="a terminal table (the default), CSV or JSON")
    show.set_defaults(command=run_spend_list)


def _fail(args: argparse.Namespace, lines: list[str], code: int = 1) -> int:
    for line in lines:
        print(f"leadbot {args.name} {args.spend_command}: {line}", file=sys.stderr)
    return code


def run_spend_import(args: argparse.Namespace, settings: Settings) -> int:
    from dialogs.rules.money import MAX_BYTES, money, read_spend

    path = Path(args.file)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        return _fail(args, [f"cannot read {args.file}: {error.strerror or error}"], 2)
    rows, problems = read_spend(data, settings.currency)
    if problems:
        return _fail(args, [f"{path.name}: {p}" for p in problems]
                     + ["nothing was imported"])
    from bot.database import DatabaseError
    from storage.work.spend import SpendConflict

    try:
        done = asyncio.run(_import(settings, rows, f"csv {path.name}"))
    except DatabaseError as error:
        return _fail(args, [str(error)])
    except SpendConflict as error:
        return _fail(args, [*error.lines, "nothing was imported"])
    days = (done.last_day - done.first_day).days + 1
    out = [f"imported {done.rows} row(s) of spend from {path.name}: {done.first_day} .. "
           f"{done.last_day} ({days} day{'s' if days != 1 else ''})"]
    out += [f"  {source}: {money(total, settings.currency)}"
            for source, total in done.per_source.items()]
    out.append(f"  total: {money(sum(done.per_source.values()), settings.currency)}")
    out.append(f"replaced {done.replaced} stored row(s) of the same sources and campaigns "
               f"in those days ({money(done.replaced_amount, settings.currency)})"
               if done.replaced else "replaced nothing (no spend was stored for them)")
    print("\n".join(out))
    return 0


async def _import(settings: Settings, rows: list, origin: str) -> Any:
    from bot.database import open_existing
    from storage.db.engine import sessionmaker
    from storage.work.spend import replace_spend

    engine = await open_existing(settings.database_url)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            return await replace_spend(session, rows, origin)
    finally:
        await engine.dispose()


def run_spend_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.database import DatabaseError
    from dialogs.rules.money import money

    if args.since and args.until and args.until < args.since:
        raise arguments.BadArgument(f"--until {args.until} is before --since {args.since}")
    try:
        rows = asyncio.run(_stored(settings, args))
    except DatabaseError as error:
        return _fail(args, [str(error)])
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return 0
    if args.format == "csv":
        from bot.cli.report import csv_bytes

        sys.stdout.buffer.write(csv_bytes(
            ["first_day", "last_day", "source", "campaign", "amount", "currency", "origin"],
            [[r["first_day"], r["last_day"], r["source"], r["campaign"],
              _decimal(r["amount"]), r["currency"], r["origin"]] for r in rows]))
        sys.stdout.flush()
        return 0
    from tabulate import tabulate

    if not rows:
        print("no spend stored" + (" in that period" if args.since or args.until else ""))
        return 0
    print(tabulate([[r["first_day"], r["last_day"], r["source"], r["campaign"] or "",
                     money(r["amount"], r["currency"]), r["origin"]] for r in rows],
                   headers=["first day", "last day", "source", "campaign", "amount",
                            "origin"], tablefmt="simple", disable_numparse=True,
                   colalign=("left", "left", "left", "left", "right", "left")))
    total = sum(r["amount"] for r in rows)
    print(f"{len(rows)} row(s), {money(total, settings.currency)}")
    return 0


async def _stored(settings: Settings, args: argparse.Namespace) -> list[dict]:
    from bot.database import open_existing
    from storage.db.engine import sessionmaker
    from storage.work.spend import stored_spend

    engine = await open_existing(settings.database_url)
    try:
        async with sessionmaker(engine)() as session:
            return await stored_spend(session, args.since, args.until)
    finally:
        await engine.dispose()


def run_money_report(args: argparse.Namespace, settings: Settings) -> int:
    """`leadbot report --money`: the money table (storage/reports/money.py)."""
    from bot.cli.report import DEFAULT_DAYS, check_flow
    from bot.database import DatabaseError, open_existing
    from storage.db.engine import sessionmaker
    from storage.reports.money import MoneyQuery, money
    from storage.reports.period import FunnelError

    if args.source is not None:
        raise arguments.BadArgument("--source does not go with --money: the money table "
                                    "has every source (--by source)")
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"leadbot report: LEADBOT_TIMEZONE: unknown time zone {settings.timezone!r}",
              file=sys.stderr)
        return 2
    since, until = arguments.period(args.since, args.until, datetime.now(zone).date(),
                                    DEFAULT_DAYS)
    query = MoneyQuery(since=since, until=until, timezone=settings.timezone,
                       by="source" if args.by is None else args.by, flow=args.flow,
                       currency=settings.currency)

    async def ask() -> dict[str, Any]:
        engine = await open_existing(settings.database_url)
        try:
            async with sessionmaker(engine)() as session:
                if query.flow:
                    await check_flow(session, query.flow)
                return await money(session, query)
        finally:
            await engine.dispose()

    try:
        query.check()
        result = asyncio.run(ask())
    except (FunnelError, DatabaseError) as error:
        print(f"leadbot report: {error}", file=sys.stderr)
        return 2 if isinstance(error, FunnelError) else 1
    if args.format == "json":
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    elif args.format == "csv":
        from bot.cli.report import csv_bytes

        sys.stdout.buffer.write(csv_bytes(["source", "campaign", "day", "currency",
                                           *COLUMNS], csv_rows(result)))
    else:
        sys.stdout.write(money_table(result))
    sys.stdout.flush()
    return 0


def _decimal(hundredths: int | None) -> str | None:
    """For CSV: 123456 -> 1234.56 (no thousands separator: Excel reads it as a number)."""
    if hundredths is None:
        return None
    whole, cents = divmod(abs(hundredths), 100)
    return f"{'-' if hundredths < 0 else ''}{whole}.{cents:02d}"


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    """A row per group, `total paid sources` (when there is spend) and `total`; money as
    1234.56, an empty cell where none."""
    rows = []
    totals = [{**result["paid"], "source": PAID}] if result["paid"] else []
    totals.append({**result["total"], "source": "total"})
    for g in [*result["groups"], *({**t, "campaign": None, "day": None} for t in totals)]:
        rows.append([g["source"], g["campaign"], g["day"], result["currency"],
                     *(_decimal(g[c]) if c in MONEY else g[c] for c in COLUMNS)])
    return rows


def money_table(result: dict[str, Any]) -> str:
    """The money table for a terminal: money with thousands separators, the currency in
    the title and the headers; "no spend" where none is stored, "—" with nothing to divide
    by."""
    from tabulate import tabulate

    from dialogs.rules.money import money

    currency, flow = result["currency"], result["flow"]
    out = [f"money per {result['by']}: people who started {result['since']} .. "
           f"{result['until']} ({result['timezone']}), {flow or 'all flows'}; money in "
           f"{currency}"]
    by = result["by"]

    def name(g: dict[str, Any]) -> str:
        if by == "campaign":
            return f"{g['source']} / {g['campaign']}"
        return g[by]

    def cost(g: dict[str, Any], key: str) -> str:
        if flow or g is result["total"]:
            return ""
        if g["spend"] is None:
            return "no spend"
        return "—" if g[key] is None else money(g[key])

    def line(g: dict[str, Any], title: str) -> list[str]:
        won = f"{g['won']:,}" + (f" ({g['won_without_amount']:,} no amount)"
                                 if g["won_without_amount"] else "")
        days = g["median_days_to_sale"]
        return [title, "no spend" if g["spend"] is None else money(g["spend"]),
                *(f"{g[k]:,}" for k in ("clicks", "people", "leads", "hot", "handoffs")), won,
                money(g["revenue"]), cost(g, "cost_per_lead"),
                cost(g, "cost_per_hot"), cost(g, "cost_per_sale"), romi(g),
                "—" if days is None else f"{days:g}"]

    def romi(g: dict[str, Any]) -> str:
        if flow or g["spend"] is None or g is result["total"]:
            return cost(g, "romi")
        return "—" if g["romi"] is None else f"{g['romi']:,.1f} %"

    rows = [line(g, name(g)) for g in result["groups"]]
    if not rows:
        out.append("no spend, clicks or people in that period")
        return "\n".join(out) + "\n"
    if result["paid"]:
        rows.append(line(result["paid"], PAID))
    rows.append(line(result["total"], "total all sources"))
    out.append(tabulate(rows, headers=[
        by, f"spend {currency}", "clicks", "people", "leads", "hot", "hand-offs", "won",
        f"revenue {currency}", "per lead", "per hot", "per sale", "ROMI", "days to sale"],
        tablefmt="simple", disable_numparse=True,
        colalign=("left", *["right"] * 13)))
    missing = result["total"]["won_without_amount"]
    if missing:
        out.append(f"{missing} won lead(s) have no amount yet: counted as won, not in the "
                   "revenue")
    if result["paid"] and not flow:
        out.append(f"costs and ROMI of the totals: over the {PAID[6:]} (with spend in the "
                   "period); the all-sources total adds the others' people and revenue")
    if result["note"]:
        out += [f"--flow {flow}: {part}" if flow and i == 0 else f"note: {part}"
                for i, part in enumerate(result["note"].split("; "))]
    return "\n".join(out) + "\n"
