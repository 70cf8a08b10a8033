"""`leadbot report` and `leadbot export leads`: the funnel (storage/reports/funnel.py) and the leads
(storage/reports/leads.py) printed as a terminal table, CSV or JSON. The database and the table
library are imported when these commands run, not for every `leadbot` command."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cli import arguments, typed_report
from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.reports.period import FunnelQuery

FORMATS = ("table", "csv", "json")
DEFAULT_DAYS = 30
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 (Cyrillic intact) only with it
PHONE = re.compile(r"^\+?\d{3,20}$")
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell Excel would run as a formula


def add_commands(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="the funnel of a flow: people per step, leads, hand-offs",
        description="The funnel of a flow: people per step, leads, hand-offs, read from an "
                    "existing database (nothing is created or migrated); dates in "
                    "LEADBOT_TIMEZONE.")
    report.add_argument("--flow", help="a flow id, e.g. kitchen-quiz, or an A/B experiment's "
                        "name (all its variants); required but with --money or --conversions")
    period(report)
    report.add_argument("--source", help="only people who came by this deep-link source "
                        "(A-Z a-z 0-9 _ -)")
    report.add_argument("--by", metavar="DIMENSION", help="one group per source, version, "
                        "variant, language or day; with --money: source (the default), "
                        "campaign or day")
    report.add_argument("--money", action="store_true",
                        help="the money table instead of the funnel: spend, clicks, people, "
                             "leads, sales, revenue, costs, ROMI (all flows, or --flow's)")
    report.add_argument("--conversions", action="store_true",
                        help="the conversions sent to the ad platforms instead: per platform "
                             "and goal, pending, sent, accepted, failed, skipped (and why)")
    report.add_argument("--format", choices=FORMATS, default="table",
                        help="a terminal table (the default), CSV for Excel, or JSON")
    typed_report.add_arguments(report)
    report.set_defaults(command=run_report)

    export = commands.add_parser("export", help="export data: `leadbot export leads`",
                                 description="Export data from an existing database.")
    what = export.add_subparsers(dest="export_what", required=True, metavar="WHAT",
                                 help="what to export")
    leads = what.add_parser(
        "leads", help="the leads created in a period, as CSV or JSON",
        description="The leads created in a period, as CSV (for Excel) or JSON, read from "
                    "an existing database (nothing is created or migrated).")
    period(leads)
    leads.add_argument("--flow", help="only this flow's leads (or an A/B experiment's: all "
                       "its variants)")
    leads.add_argument("--source", help="only leads from this deep-link source "
                       "(A-Z a-z 0-9 _ -)")
    leads.add_argument("--format", choices=("csv", "json"), default="csv",
                       help="CSV for Excel (the default) or JSON")
    leads.add_argument("--with-contacts", action="store_true",
                       help="include name, phone and email (the export is recorded)")
    leads.set_defaults(command=run_export_leads)


def period(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=arguments.day, metavar="YYYY-MM-DD",
                        help=f"the first day (default: {DEFAULT_DAYS} days before --until)")
    parser.add_argument("--until", type=arguments.day, metavar="YYYY-MM-DD",
                        help="the last day, included (default: today)")


def query(args: argparse.Namespace, settings: Settings) -> FunnelQuery:
    """The question asked, every option checked (BadArgument, FunnelError) before the
    database is opened."""
    from storage.reports.period import DIMENSIONS, FunnelError, FunnelQuery

    by = getattr(args, "by", None)
    if by is not None and by not in DIMENSIONS:
        raise FunnelError(f"cannot group by {by!r}: use one of {', '.join(DIMENSIONS)}")
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FunnelError(f"LEADBOT_TIMEZONE: unknown time zone {settings.timezone!r}"
                          ) from None
    since, until = arguments.period(args.since, args.until, datetime.now(zone).date(),
                                    DEFAULT_DAYS)
    return FunnelQuery(flow=args.flow or "", since=since, until=until,
                       timezone=settings.timezone, source=arguments.source(args.source),
                       by=by)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    if args.unmatched:
        return typed_report.run_unmatched_report(args, settings)
    if args.conversions:
        from bot.cli.conversions import run_conversions_report

        return run_conversions_report(args, settings)
    if args.money:
        from bot.cli.money import run_money_report

        return run_money_report(args, settings)
    if not args.flow:
        raise arguments.BadArgument("the following arguments are required: --flow (or "
                                    "--money for the money table, --conversions for the "
                                    "ad platforms')")
    return _run(args, settings, _report)


def run_export_leads(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, _export)


def operator() -> str:
    """Who exports on this machine, for the contacts log: the OS user, else "cli"."""
    import getpass

    try:
        return f"cli: {getpass.getuser()}"[:64]
    except (OSError, KeyError, ImportError):  # no user name to be had (a bare container)
        return "cli"


def _run(args: argparse.Namespace, settings: Settings, action: Any) -> int:
    from bot.database import DatabaseError
    from storage.reports.period import FunnelError

    try:
        asked = query(args, settings)
        output = asyncio.run(action(settings, asked, args))
    except (FunnelError, DatabaseError) as error:
        print(f"leadbot {args.name}: {error}", file=sys.stderr)
        return 2 if isinstance(error, FunnelError) else 1
    if isinstance(output, bytes):
        sys.stdout.buffer.write(output)
    else:
        sys.stdout.write(output)
    sys.stdout.flush()
    return 0


async def check_flow(session: AsyncSession, name: str) -> None:
    """`--flow NAME`: a flow or an A/B experiment the database knows (BadArgument)."""
    from sqlalchemy import select

    from storage.schema.tables import Conversation, FlowVersion

    known = set((await session.execute(select(FlowVersion.flow_id))).scalars())
    if name not in known:
        known |= set((await session.execute(
            select(Conversation.flow_id).distinct())).scalars())
        known |= {e for e in (await session.execute(
            select(Conversation.experiment).distinct())).scalars() if e}
    arguments.flow_named(name, known, "the database")


async def _report(settings: Settings, asked: FunnelQuery, args: argparse.Namespace) -> Any:
    from bot.database import open_existing
    from storage.db.engine import sessionmaker
    from storage.reports.funnel import funnel
    from storage.reports.typed import faq_hits

    engine = await open_existing(settings.database_url)
    try:
        async with sessionmaker(engine)() as session:
            await check_flow(session, asked.flow)
            result = await funnel(session, asked)
            result["faq"] = await faq_hits(session, asked)
    finally:
        await engine.dispose()
    if args.format == "json":
        return json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    if args.format == "csv":
        return csv_bytes(["flow", "version", "group", "metric", "step", "value"],
                         report_rows(result) + typed_report.faq_rows(result))
    return table(result) + "\n".join(typed_report.faq_lines(result["faq"])) + "\n"


async def _export(settings: Settings, asked: FunnelQuery, args: argparse.Namespace) -> Any:
    from bot.database import open_existing
    from storage.db.engine import sessionmaker
    from storage.reports.leads import header as fields
    from storage.reports.leads import leads
    from storage.reports.period import FunnelError
    from storage.schema import sealing as crypto
    from storage.work.uow import UnitOfWork

    try:
        crypto.configure(settings.pii_key.get_secret_value() if settings.pii_key else None)
    except crypto.PiiKeyError as error:
        raise FunnelError(str(error)) from None
    engine = await open_existing(settings.database_url)
    try:
        async with UnitOfWork(sessionmaker(engine)) as uow:
            if asked.flow:
                assert uow.session is not None
                await check_flow(uow.session, asked.flow)
            rows = await leads(uow, asked, with_contacts=args.with_contacts,
                               now=datetime.now(UTC), who=operator())
            await uow.commit()  # the export's event, before anything is printed
    except crypto.PiiKeyError as error:
        raise FunnelError(str(error)) from None
    finally:
        await engine.dispose()
    if args.format == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    steps = list(dict.fromkeys(step for row in rows for step in row["answers"]))
    header = fields(args.with_contacts)
    flat = [[*(row[k] for k in header), *(row["answers"].get(s) for s in steps)]
            for row in rows]
    return csv_bytes(header + [f"answer: {s}" for s in steps], flat, phones=("phone",),
                     header_names=header)


def report_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The funnel as long rows (flow, version, group, metric, step, value): one a number;
    with `--by variant`, each comparison's p-value and verdict (version empty)."""
    rows: list[list[Any]] = []
    for g in result["groups"]:
        def add(metric: str, value: Any, step: str = "", g: dict = g) -> None:
            rows.append([g["flow"], g["version"], g["group"] or "", metric, step, value])
        add("started", g["started"])
        for s in g["steps"]:
            add("reached", s["reached"], s["step"])
            add("answered", s["answered"], s["step"])
            add("drop_off_pct", s["drop_off"], s["step"])
            if "branch_of" in s:
                add("branch_share_pct", s["branch_share"], s["step"])
        for name, value in summary(g):
            add(name, value)
    for test in result.get("comparison", {}).get("tests", []):
        vs = f"ab_{test['metric']}_vs_{test['reference']}"
        rows.append([result["flow"], "", test["variant"], f"{vs}_p_value", "", test["p_value"]])
        rows.append([result["flow"], "", test["variant"], f"{vs}_verdict", "", test["verdict"]])
    return rows


def summary(g: dict[str, Any]) -> list[tuple[str, Any]]:
    claim, contact = g["time_to_claim"], g["time_to_first_contact"]
    return [
        ("consent_given", g["consent"]["given"]),
        ("consent_declined", g["consent"]["declined"]), ("contact_given", g["contact"]),
        ("leads", g["leads"]),
        *((f"temperature_{t}", n) for t, n in g["temperature"].items()),
        ("target", g["target"]["yes"]), ("non_target", g["target"]["no"]),
        ("mql", g["mql"]), ("sql", g["sql"]),
        *((f"outcome_{o}", n) for o, n in g["outcomes"].items()),
        ("handoffs", g["handoffs"]), ("claimed", g["claimed"]),
        ("time_to_claim_p50_s", claim["p50"]), ("time_to_claim_p90_s", claim["p90"]),
        ("first_contact_p50_s", contact["p50"]), ("first_contact_p90_s", contact["p90"]),
        ("won", g["won"]), ("lost", g["lost"]),
    ]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def table(result: dict[str, Any]) -> str:
    from tabulate import tabulate

    out = [f"{result['flow']}: people who started {result['since']} .. {result['until']} "
           f"({result['timezone']})" + (f", source {result['source']}"
                                        if result["source"] else "")]
    if not result["groups"]:
        out.append("nobody started this flow in that period")
    for g in result["groups"]:
        title = f"version {g['version']}"
        if g["flow"] != result["flow"]:
            title = f"{g['flow']} {title}"
        if g["group"] is not None:
            title += f" · {result['by']}: {g['group']}"
        out += ["", f"{title} · started: {g['started']}"]
        out.append(tabulate(
            [[s["step"], s["kind"], s["reached"], s["answered"] if s["kind"] not in (
                "message", "end", "reward", "") else "",
              _lost(s)] for s in g["steps"]],
            headers=["step", "kind", "reached", "answered", "drop-off"],
            tablefmt="simple", disable_numparse=True, colalign=(
                "left", "left", "right", "right", "right")))
        t, o, claim, first = (g["temperature"], g["outcomes"], g["time_to_claim"],
                              g["time_to_first_contact"])
        out.append("")
        out.append(tabulate([
            ["consent given / declined", f"{g['consent']['given']} / "
             f"{g['consent']['declined']}"],
            ["contact given", g["contact"]],
            ["leads hot / warm / cold", f"{g['leads']}: {t['hot']} / {t['warm']} / "
             f"{t['cold']}"],
            ["target / non-target", f"{g['target']['yes']} / {g['target']['no']}"],
            ["MQL / SQL", f"{g['mql']} / {g['sql']}"],
            ["hand-off / nurture / close", f"{o['handoff']} / {o['nurture']} / {o['close']}"],
            ["hand-offs claimed", f"{g['claimed']} of {g['handoffs']}"],
            ["time to claim p50 / p90", f"{duration(claim['p50'])} / "
             f"{duration(claim['p90'])}"],
            ["first contact p50 / p90", f"{duration(first['p50'])} / "
             f"{duration(first['p90'])}"],
            ["won / lost", f"{g['won']} / {g['lost']}"],
        ], tablefmt="plain", disable_numparse=True))
    if "comparison" in result:
        out += ["", *comparison_lines(result["comparison"])]
    return "\n".join(out) + "\n"


def comparison_lines(comparison: dict[str, Any]) -> list[str]:
    """The A/B comparison: each variant's conversion, then one note per test."""
    from tabulate import tabulate

    reference = comparison["reference"]
    if reference is None:
        return ["A/B comparison: " + comparison["note"]]
    out = [f"A/B comparison (each variant against {reference}; people who started -> "
           "lead, hot lead, hand-off):"]
    rates: dict[str, dict[str, tuple[int, int]]] = {}
    for t in comparison["tests"]:
        rates.setdefault(reference, {})[t["metric"]] = (t["reference_converted"],
                                                         t["reference_started"])
        rates.setdefault(t["variant"], {})[t["metric"]] = (t["converted"], t["started"])
    metrics = ("leads", "hot", "handoffs")
    if rates:
        out.append(tabulate(
            [[name, *(_rate(*rates[name][m]) for m in metrics)] for name in sorted(rates)],
            headers=["variant", "lead", "hot lead", "hand-off"], tablefmt="simple",
            disable_numparse=True))
    out += [f"- {t['note']}" for t in comparison["tests"]]
    if comparison["note"]:
        out.append(comparison["note"])
    return out


def _rate(converted: int, started: int) -> str:
    if not started:
        return f"{converted} of 0"
    return f"{converted} of {started} ({100 * converted / started:.1f} %)"


def cell(value: Any, phone: bool = False) -> Any:
    """A CSV cell Excel shows as written: a phone stays text (="+7999...": no number, no
    lost + or leading zero), text that starts like a formula gets a ' (OWASP CSV injection),
    booleans as yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if phone and PHONE.match(value):
            return f'="{value}"'
        if value.startswith(FORMULA):
            return "'" + value
    return value


def csv_bytes(header: list[str], rows: list[list[Any]], phones: tuple[str, ...] = (),
              header_names: list[str] | None = None) -> bytes:
    """UTF-8 with a BOM, CRLF line ends: what Excel opens with Cyrillic intact."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([cell(h) for h in header])
    names = header_names or header
    phone_columns = {i for i, name in enumerate(names) if name in phones}
    for row in rows:
        writer.writerow([cell(v, i in phone_columns) for i, v in enumerate(row)])
    return (BOM + text.getvalue()).encode("utf-8")


def _lost(step: dict[str, Any]) -> str:
    """The drop-off column: the percent lost, or for a branch's end the share of the
    branching step's people who went there."""
    if "branch_of" in step:
        went = "" if step["branch_share"] is None else f"{step['branch_share']:.1f} %"
        return f"{went} of {step['branch_of']}".strip()
    return "" if step["drop_off"] is None else f"{step['drop_off']:.1f} %"
