"""`leadbot admin add|list|remove|link`: the people who sign in to the dashboard (/admin),
in an existing database (nothing is created or migrated; storage/work/people.py).

`add` and `link` print a one-time sign-in link: LEADBOT_PUBLIC_URL/admin/welcome/<token>
(the path alone, with a note, without LEADBOT_PUBLIC_URL). The person opens it, chooses a
password, and signs in with their name and it from then on. Only the link's SHA-256 is
stored: it is printed once, here.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from bot.cli.arguments import BadArgument
from bot.settings import Settings
from storage.schema.people import ROLES

WELCOME = "/admin/welcome/"  # bot/web/signin.py's route (bot/ may not be imported by web/)


def add_commands(commands: argparse._SubParsersAction, command: Any) -> None:
    """`leadbot admin ...` (`command` is bot/cli/main.py's)."""
    admin = command(commands, "admin", "the people who sign in to the dashboard (add, list, "
                    "remove, link)",
                    "The people who sign in to the dashboard (/admin), each with a role: a "
                    "marketer sees numbers and answers, never contacts; sales sees contacts "
                    "too; an owner also manages people. LEADBOT_ADMIN_TOKEN still works "
                    "beside them, as an owner (for scripts and /metrics).")
    what = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND",
                                help="what to do")
    add = command(what, "add", "add a person; print their one-time sign-in link",
                  "Add a person with a role and print a one-time sign-in link (valid 72 "
                  "hours): opening it, they choose a password, then sign in with their name "
                  "and it.")
    add.add_argument("person", metavar="NAME", help="their name, as they will type it to "
                     "sign in (1 to 64 letters or digits; a space, . _ - inside; any case)")
    add.add_argument("--role", required=True, choices=ROLES,
                     help="marketer (numbers, answers), sales (contacts too) or owner "
                          "(manages people too)")
    add.set_defaults(command=run_add)
    listing = command(what, "list", "everyone who may sign in: name, role, password chosen")
    listing.set_defaults(command=run_list)
    remove = command(what, "remove", "remove a person; their sessions end at once")
    remove.add_argument("person", metavar="NAME", help="their name")
    remove.set_defaults(command=run_remove)
    link = command(what, "link", "print a new one-time sign-in link (the old one dies)",
                   "Print a new one-time sign-in link for a person, e.g. a forgotten "
                   "password: they choose a new one with it. Their earlier link stops "
                   "working; their password and sessions stay until the link is used.")
    link.add_argument("person", metavar="NAME", help="their name")
    link.set_defaults(command=run_link)


def link_url(settings: Settings, token: str) -> str:
    path = WELCOME + token
    return settings.public_url.rstrip("/") + path if settings.public_url else path


def _print_link(settings: Settings, name: str, token: str) -> None:
    print(f"one-time sign-in link for {name} (valid 72 hours, works once; send it to them "
          f"only):\n{link_url(settings, token)}")
    if not settings.public_url:
        print("set LEADBOT_PUBLIC_URL (e.g. https://bot.example.com) for the full URL; "
              "until then, put the bot's address before the path")


def _database(settings: Settings, action: Any) -> Any:
    """`action(session, now)` in one transaction of the existing database; a database
    that cannot be opened is one line (printed by `one_line`)."""
    from bot.database import open_existing
    from storage.db.engine import sessionmaker

    async def run() -> Any:
        engine = await open_existing(settings.database_url)
        try:
            async with sessionmaker(engine)() as session, session.begin():
                return await action(session, datetime.now(UTC))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def one_line(run: Any) -> Any:
    import functools

    @functools.wraps(run)
    def wrapped(args: argparse.Namespace, settings: Settings) -> int:
        from bot.database import DatabaseError
        from storage.work.people import PeopleError

        try:
            return run(args, settings)
        except DatabaseError as error:
            print(f"leadbot admin: {error}", file=sys.stderr)
            return 1
        except PeopleError as error:
            raise BadArgument(str(error)) from None
    return wrapped


@one_line
def run_add(args: argparse.Namespace, settings: Settings) -> int:
    from storage.work import people

    people.checked_name(args.person)  # before the database is opened

    async def add(session: Any, now: datetime) -> tuple[str, str]:
        person = await people.add(session, args.person, args.role, now)
        return person.name, await people.new_link(session, person, now)

    name, token = _database(settings, add)
    print(f"added {name} ({args.role})")
    _print_link(settings, name, token)
    return 0


@one_line
def run_link(args: argparse.Namespace, settings: Settings) -> int:
    from storage.work import people

    async def link(session: Any, now: datetime) -> tuple[str, str] | None:
        found = await people.find(session, args.person)
        if found is None:
            return None
        return found[0].name, await people.new_link(session, found[0], now)

    made = _database(settings, link)
    if made is None:
        raise BadArgument(f"nobody named {args.person!r} (`leadbot admin list` shows them)")
    _print_link(settings, *made)
    return 0


@one_line
def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    from storage.work import people

    async def remove(session: Any, now: datetime) -> Any:
        return await people.remove(session, args.person, now)

    gone = _database(settings, remove)
    if gone is None:
        raise BadArgument(f"nobody named {args.person!r} (`leadbot admin list` shows them)")
    print(f"removed {gone.name}: signed out everywhere, their links no longer work")
    return 0


@one_line
def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from tabulate import tabulate

    from storage.work import people

    async def everyone(session: Any, now: datetime) -> list:
        return await people.people(session)

    found = _database(settings, everyone)
    if not found:
        print("nobody yet: `leadbot admin add NAME --role marketer|sales|owner`")
        return 0
    print(tabulate([(p.name, p.role, "chosen" if p.has_password else "not yet (link unused)",
                     p.created_at.date().isoformat()) for p in found],
                   headers=("name", "role", "password", "added")))
    return 0
