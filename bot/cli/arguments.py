"""The one set of argument rules of the `leadbot` command: an option is read and checked the
same way, in the same words, by every subcommand that has it (`--flow` and a flow named by
id, `--lang`, `--since` / `--until`, `--source`, `--username`).

What needs nothing but the value is an argparse `type=` (argparse then prints the
subcommand's usage and "argument --X: ..."). What needs the flows or another option is a
check that raises BadArgument, which `main` prints the same way, through the usage of the
subcommand that was run; both exit 2.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Collection, Iterable
from datetime import date
from pathlib import Path

from dialogs.broadcasts.schema import SOURCE_PATTERN
from dialogs.format.loader import LoadedFlow, load_flows

DAYS = (date(1970, 1, 1), date(2999, 12, 31))  # what `--since` / `--until` may say
# Telegram's deep-link start parameter (t.me/BOT?start=...): at most 64 characters of these
START_LENGTH = 64
START_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
SEPARATOR = "__"  # the link carries FLOW__SOURCE (bot/service/core.py, parse_payload)
# A Telegram username: 5 to 32 characters, letters, digits and _, a letter first
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
# the source of what a broadcast's flow button started (bot/service/broadcasts.py)
BROADCAST_SOURCE = re.compile(SOURCE_PATTERN)


class BadArgument(Exception):
    """An argument the command cannot use: one line, printed under the subcommand's usage."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(f"argument {option}: {message}" if option else message)


def day(value: str) -> date:
    """`--since` / `--until`: a day written YYYY-MM-DD."""
    try:
        found = date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-01") from None
    if not DAYS[0] <= found <= DAYS[1]:  # the calendar's ends overflow a time zone's shift
        raise argparse.ArgumentTypeError(f"{value!r} is out of range: from {DAYS[0]} to "
                                         f"{DAYS[1]}")
    return found


def username(value: str) -> str:
    """`--username`: the bot's Telegram username; a leading @ is dropped."""
    name = value.removeprefix("@")
    if not USERNAME.match(name):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a Telegram username: 5 to 32 characters of A-Z a-z 0-9 _, "
            "starting with a letter (a leading @ may be written)")
    return name


def period(since: date | None, until: date | None, today: date, days: int) -> tuple[date, date]:
    """`--since` / `--until` with their defaults: `until` today, `since` `days` - 1 before
    it. BadArgument when they are the wrong way round."""
    last = until or today
    first = since or date.fromordinal(last.toordinal() - (days - 1))
    if last < first:
        told = "" if until else " (today)"
        raise BadArgument(f"--until {last}{told} is before --since {first}")
    return first, last


def source(value: str | None, entries: Iterable[str] = ()) -> str | None:
    """`--source`: what a deep link carries after `FLOW__`, so it must fit Telegram's start
    parameter with the longest of `entries` (the flows or experiments it follows) before it.
    No entries (a report's filter): the whole parameter, as LEADBOT_DEFAULT_FLOW records it."""
    if value is None:
        return None
    if not entries and BROADCAST_SOURCE.match(value):  # a report's filter: a broadcast's
        return value
    longest = max(entries, key=len, default="")
    room = START_LENGTH - (len(longest) + len(SEPARATOR) if longest else 0)
    if START_CHARS.match(value) and len(value) <= room:
        return value
    why = (f"Telegram's start parameter is at most {START_LENGTH}, and "
           f"'{longest}{SEPARATOR}' comes before the source" if longest
           else f"Telegram's start parameter is at most {START_LENGTH}")
    raise BadArgument(f"{value!r} ({len(value)} characters) will not do: a source may use "
                      f"only A-Z a-z 0-9 _ - and at most {max(room, 0)} characters here "
                      f"({why})", "--source")


def flow_named(name: str, known: Collection[str], where: str, option: str = "--flow") -> str:
    """A flow id (or an A/B experiment's name) that `known` holds; BadArgument otherwise."""
    if name not in known:
        raise BadArgument(f"no flow {name!r} in {where} (flows: "
                          f"{', '.join(sorted(known)) or 'none yet'})", option)
    return name


def find_flow(name: str, flows_dir: Path, option: str = "flow") -> LoadedFlow:
    """A flow by id from `flows_dir`, or a flow file by path. FlowError for a broken file;
    BadArgument for a name that is none of them (an experiment's name: its variants)."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return next(iter(load_flows([path]).values()))
    flows = load_flows([flows_dir])
    variants = sorted(f"{e.flow.id} ({e.flow.experiment.variant})" for e in flows.values()
                      if e.flow.experiment and e.flow.experiment.name == name)
    if name not in flows and variants:
        raise BadArgument(f"'{name}' is an experiment: name one of its variants' flows: "
                          f"{', '.join(variants)}", option)
    return flows[flow_named(name, flows, str(flows_dir), option)]


def language(loaded: LoadedFlow, value: str | None) -> str | None:
    """`--lang`: one of the languages the flow speaks (None: the flow's own default)."""
    if value is not None and value not in loaded.flow.languages:
        raise BadArgument(f"'{loaded.flow.id}' speaks {', '.join(loaded.flow.languages)}, "
                          f"not {value!r}", "--lang")
    return value
