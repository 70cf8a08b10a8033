"""`leadbot links add|remove|list|qr`: tracking links (bot/links.py, storage/work/tracking.py)
in an existing database (nothing is created or migrated). `leadbot links` alone still
prints every flow's t.me deep link (bot/cli/run.py deep_links)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli.arguments import BadArgument
from bot.links import LinkError, checked, full_url, known_flows
from bot.settings import Settings, flows_folder

FORMATS = ("png", "svg")


def add_commands(links: argparse.ArgumentParser, command: Any) -> None:
    """The subcommands of `leadbot links` (`command` is bot/cli/main.py's)."""
    what = links.add_subparsers(dest="links_command", required=False, metavar="COMMAND",
                                help="a tracking link (/go/NAME) to make, remove, list or "
                                     "draw; none: every flow's deep link")
    add = command(what, "add", "make a tracking link /go/NAME to a flow, with its source",
                  "Make a tracking link: `GET /go/NAME` records a click (UTM parameters, "
                  "click ids) and sends the visitor to the flow, the click's source and "
                  "campaign carried to the conversation, the lead and its events.")
    add.add_argument("link", metavar="NAME", help="the link's name, the path of /go/NAME "
                     "(1 to 32 of A-Z a-z 0-9 _ -)")
    add.add_argument("--flow", required=True, help="the flow (or A/B experiment) it starts")
    add.add_argument("--source", required=True, help="the source recorded, e.g. vk "
                     "(1 to 64 of A-Z a-z 0-9 _ -)")
    add.add_argument("--campaign", help="the campaign recorded, e.g. autumn_sale")
    add.set_defaults(command=run_add)
    remove = command(what, "remove", "remove a tracking link (its clicks stay, counted)")
    remove.add_argument("link", metavar="NAME", help="the link's name")
    remove.set_defaults(command=run_remove)
    listing = command(what, "list", "every tracking link: flow, source, campaign, clicks, "
                      "conversations started, full URL")
    listing.set_defaults(command=run_list)
    qr = command(what, "qr", "write a QR code of a tracking link's full URL",
                 "Write a QR code (PNG or SVG) of the link's full URL, "
                 "LEADBOT_PUBLIC_URL/go/NAME.")
    qr.add_argument("link", metavar="NAME", help="the link's name")
    qr.add_argument("--format", choices=FORMATS, help="png or svg (default: the "
                    "--output file's suffix, else png)")
    qr.add_argument("--output", type=Path, help="the file to write (default: NAME.png or "
                    "NAME.svg here)")
    qr.set_defaults(command=run_qr)


def one_line(run: Any) -> Any:
    """A database that cannot be opened (or is not migrated): one line, exit 1."""
    import functools

    @functools.wraps(run)
    def wrapped(args: argparse.Namespace, settings: Settings) -> int:
        from bot.database import DatabaseError

        try:
            return run(args, settings)
        except DatabaseError as error:
            print(f"leadbot links: {error}", file=sys.stderr)
            return 1
    return wrapped


@one_line
def run_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service.flows import FlowRegistry

    flows = known_flows(FlowRegistry.from_dir(flows_folder(settings)))
    try:
        link = checked(args.link, args.flow, args.source, args.campaign, flows)
    except LinkError as error:
        raise BadArgument(str(error)) from None
    link.declared = False

    async def add(session: Any) -> str | None:
        from storage.work import tracking

        existing = await tracking.link(session, link.name)
        if existing is not None:
            return (f"a link {link.name!r} exists already"
                    f"{' (in LEADBOT_LINKS_FILE)' if existing.declared else ''}: "
                    "`leadbot links remove` it first, or choose another name")
        session.add(link)
        return None

    refused = _database(settings, add)
    if refused:
        raise BadArgument(refused)
    print(f"{link.name}: {full_url(settings.public_url, link.name)} -> {link.flow_id}, "
          f"source {link.source}" + (f", campaign {link.campaign}" if link.campaign else ""))
    _hint(settings)
    return 0


@one_line
def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def remove(session: Any) -> bool:
        from storage.work import tracking

        return await tracking.remove(session, args.link)

    if not _database(settings, remove):
        raise BadArgument(f"no link {args.link!r} (`leadbot links list` shows them)")
    print(f"removed {args.link} (its clicks stay, counted by their source)")
    return 0


@one_line
def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from tabulate import tabulate

    async def rows(session: Any) -> list:
        from storage.work import tracking

        return await tracking.listing(session)

    found = _database(settings, rows)
    if not found:
        print("no tracking links yet: `leadbot links add NAME --flow F --source S`")
        return 0
    print(tabulate([(r.name + (" (file)" if r.declared else ""), r.flow_id, r.source,
                     r.campaign or "", r.clicks, r.conversations,
                     full_url(settings.public_url, r.name)) for r in found],
                   headers=("link", "flow", "source", "campaign", "clicks",
                            "conversations", "url")))
    _hint(settings)
    return 0


@one_line
def run_qr(args: argparse.Namespace, settings: Settings) -> int:
    import segno

    if not settings.public_url:
        raise BadArgument("a QR code needs the full URL: set LEADBOT_PUBLIC_URL (e.g. "
                          "https://bot.example.com)")
    suffix = args.output.suffix.lower().lstrip(".") if args.output else ""
    kind = args.format or (suffix if suffix in FORMATS else "png")
    if suffix and suffix not in FORMATS:  # q.txt: a PNG in it would not open as text
        raise BadArgument(f"{args.output}: write .png or .svg", "--output")
    if args.output and suffix and suffix != kind:
        raise BadArgument(f"--output {args.output} does not end in .{kind}", "--output")
    output = args.output or Path(f"{args.link}.{kind}")

    async def exists(session: Any) -> bool:
        from storage.work import tracking

        return await tracking.link(session, args.link) is not None

    if not _database(settings, exists):
        raise BadArgument(f"no link {args.link!r} (`leadbot links list` shows them)")
    url = full_url(settings.public_url, args.link)
    try:
        segno.make(url, error="m", micro=False).save(str(output), kind=kind, scale=8,
                                                     border=4)
    except OSError as error:
        print(f"leadbot links qr: cannot write {output}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"{output}: a QR code of {url}")
    return 0


def _hint(settings: Settings) -> None:
    if not settings.public_url:
        print("set LEADBOT_PUBLIC_URL (e.g. https://bot.example.com) for the full URLs")


def _database(settings: Settings, action: Any) -> Any:
    """`action(session)` in one transaction of the existing database; its problems as
    one line (DatabaseError: bot/cli/main.py prints it)."""
    from bot.database import open_existing
    from storage.db.engine import sessionmaker

    async def run() -> Any:
        engine = await open_existing(settings.database_url)
        try:
            async with sessionmaker(engine)() as session, session.begin():
                return await action(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())
