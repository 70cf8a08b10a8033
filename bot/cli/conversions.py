"""The ad platforms' conversions on the command line: `leadbot report --conversions` (the table
of storage/reports/conversions.py) and `leadbot conversions test` (each configured
platform's `probe()`: a sample in its test mode, or a look at the account where it has
none; what it answered, one line each). Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cli import arguments
from bot.settings import Settings

COLUMNS = ("pending", "sent", "accepted", "failed", "skipped")
ALONE = ("flow", "source", "by")  # report options the conversions table has no use for


def add_commands(commands: Any, command: Any) -> None:
    """`leadbot conversions test`; `command` is bot/cli/main.py's maker of a subcommand."""
    parser = command(commands, "conversions", "the ad platforms' conversions (Yandex Metrica, "
                     "Meta, Google Analytics)")
    what = parser.add_subparsers(dest="conversions_command", required=True,
                                 metavar="COMMAND", help="what to do")
    test = command(what, "test", "ask every configured ad platform in its test mode; print "
                   "what each said",
                   "For each platform LEADBOT_CONVERSIONS_FILE names: a sample conversion "
                   "in the platform's test mode (Meta: the file's test_event_code; Google "
                   "Analytics: its validation endpoint), or for Yandex Metrica, which has "
                   "none, a look at the counter with the token (nothing is uploaded); one "
                   "line each with what it answered. Exit 1 if any failed, 2 if no "
                   "platform is set or the file is broken; the database is not opened.")
    test.set_defaults(command=run_conversions_test)


# -- leadbot report --conversions -----------------------------------------------------------
def run_conversions_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.report import DEFAULT_DAYS
    from bot.database import DatabaseError, open_existing
    from storage.db.engine import sessionmaker
    from storage.reports.conversions import ConversionsQuery, conversions
    from storage.reports.period import FunnelError

    if args.money:
        raise arguments.BadArgument("--conversions and --money are two tables: ask for one")
    for option in ALONE:
        if getattr(args, option, None) is not None:
            raise arguments.BadArgument(f"--{option} does not go with --conversions: the "
                                        "table has every flow and source, per platform "
                                        "and goal")
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"leadbot report: LEADBOT_TIMEZONE: unknown time zone {settings.timezone!r}",
              file=sys.stderr)
        return 2
    since, until = arguments.period(args.since, args.until, datetime.now(zone).date(),
                                    DEFAULT_DAYS)
    query = ConversionsQuery(since=since, until=until, timezone=settings.timezone)

    async def ask() -> dict[str, Any]:
        engine = await open_existing(settings.database_url)
        try:
            async with sessionmaker(engine)() as session:
                return await conversions(session, query)
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

        sys.stdout.buffer.write(csv_bytes(
            ["platform", "moment", "goal", *COLUMNS, "skipped_by", "failed_by"],
            [[r["platform"] or "total", r["moment"], r["goal"], *(r[c] for c in COLUMNS),
              reasons(r["skipped_by"]), reasons(r["failed_by"])]
             for r in [*result["rows"], result["total"]]]))
    else:
        sys.stdout.write(conversions_table(result))
    sys.stdout.flush()
    return 0


def reasons(counted: dict[str, int]) -> str:
    """{"no_click": 2, "duplicate": 1} -> "no_click 2, duplicate 1"."""
    return ", ".join(f"{reason} {n:,}" for reason, n in counted.items())


def conversions_table(result: dict[str, Any]) -> str:
    from tabulate import tabulate

    out = [f"conversions to the ad platforms: moments reached {result['since']} .. "
           f"{result['until']} ({result['timezone']})"]
    if not result["rows"]:
        out.append("no conversions in that period (the platforms and their goals are set "
                   "in LEADBOT_CONVERSIONS_FILE)")
        return "\n".join(out) + "\n"

    def line(r: dict[str, Any], *title: str) -> list[str]:
        return [*title, *(f"{r[c]:,}" for c in COLUMNS), reasons(r["skipped_by"]),
                reasons(r["failed_by"])]

    rows = [line(r, r["platform"], r["moment"], r["goal"]) for r in result["rows"]]
    rows.append(line(result["total"], "total", "", ""))
    out.append(tabulate(rows, headers=["platform", "moment", "goal", *COLUMNS,
                                       "skipped: why", "failed: why"],
                        tablefmt="simple", disable_numparse=True,
                        colalign=("left", "left", "left", *["right"] * 5, "left", "left")))
    return "\n".join(out) + "\n"


# -- leadbot conversions test ---------------------------------------------------------------
def run_conversions_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.deliveries.targets import CrmConfigError, ad_targets_from

    try:
        targets = ad_targets_from(settings)
    except CrmConfigError as error:
        print(f"leadbot conversions test: {error}", file=sys.stderr)
        return 2
    if not targets:
        print("leadbot conversions test: no ad platform is set (LEADBOT_CONVERSIONS_FILE "
              "names them)", file=sys.stderr)
        return 2
    return asyncio.run(_probe(targets))


async def _probe(targets: list) -> int:
    from bot.deliveries.port import Permanent, Skip, Transient

    failures = 0
    for target in targets:
        try:
            answer = await target.probe()
        except (Transient, Permanent, Skip) as error:
            failures += 1
            print(f"{target.name}: failed — {error.reason}")
        except Exception as error:  # one line, never a traceback
            failures += 1  # its text could hold the request's URL (a token): the type only
            print(f"{target.name}: failed — unexpected {type(error).__name__}")
        else:
            print(f"{target.name}: ok — {answer}")
        finally:
            await target.close()
        sys.stdout.flush()
    return 1 if failures else 0
