"""`leadbot broadcast create|preview|send|pause|resume|cancel|status`: one message to a
segment of the people who agreed to marketing (docs/broadcasts.md), in an existing
database; the running bot sends it (bot/jobs/broadcasts.py, the outbox's bulk lane).

    leadbot broadcast create offer.yaml      # checked like a flow; stored as a draft
    leadbot broadcast preview november-offer --chat 123456789 [--lang ru]
    leadbot broadcast send november-offer [--at 2026-12-05T10:00]
    leadbot broadcast pause|resume|cancel november-offer
    leadbot broadcast status [november-offer]

`create` and `send` print the segment's size and who is left out, and why.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli.arguments import BadArgument
from bot.settings import Settings, flows_folder

REASONS = {"no_consent": "no marketing consent", "stopped": "stopped (/stop, Unsubscribe)",
           "blocked": "blocked the bot", "erased": "erased (/forget)"}
NAME_HELP = "the broadcast's name (`name:` in its file)"


def add_commands(commands: argparse._SubParsersAction, command: Any) -> None:
    """`leadbot broadcast ...` (`command` is bot/cli/main.py's)."""
    top = command(commands, "broadcast", "one message to a segment of those who agreed to "
                  "marketing (create, preview, send, pause, resume, cancel, status)",
                  "One message to a segment of the people who agreed to marketing: written "
                  "in a YAML file (docs/broadcasts.md), checked like a flow, previewed in "
                  "your own Telegram chat, sent by the running bot at a share of Telegram's "
                  "30 messages a second (LEADBOT_BROADCAST_RATE), each person at most once.")
    what = top.add_subparsers(dest="broadcast_command", required=True, metavar="COMMAND",
                              help="what to do")
    create = command(what, "create", "check a broadcast file and store it as a draft; print "
                     "who it would reach now")
    create.add_argument("file", metavar="FILE.yaml", help="the broadcast file")
    create.set_defaults(command=run_create)
    preview = command(what, "preview", "send the message to your own chat, as a recipient "
                      "would see it (the running bot sends it)")
    preview.add_argument("broadcast", metavar="NAME", help=NAME_HELP)
    preview.add_argument("--chat", type=int, required=True, metavar="CHAT_ID",
                         help="your Telegram chat with the bot (your user id: /start the "
                              "bot first)")
    preview.add_argument("--lang", choices=("ru", "uk", "en"),
                         help="one language (default: each language of the message)")
    preview.set_defaults(command=run_preview)
    send = command(what, "send", "send a draft now, or at a time (--at)")
    send.add_argument("broadcast", metavar="NAME", help=NAME_HELP)
    send.add_argument("--at", metavar="TIME", help="when: 2026-12-05T10:00 (LEADBOT_TIMEZONE) "
                      "or with an offset, 2026-12-05T10:00+03:00")
    send.set_defaults(command=run_send)
    for name, said in (("pause", "stop sending; what is queued (a few seconds' worth) still "
                        "goes"), ("resume", "go on sending a paused broadcast"),
                       ("cancel", "stop for good; nobody else gets it")):
        sub = command(what, name, said)
        sub.add_argument("broadcast", metavar="NAME", help=NAME_HELP)
        sub.set_defaults(command=run_change, action=name)
    status = command(what, "status", "every broadcast, or one's results: delivered, "
                     "blocked, failed, unsubscribed, taps, flows started, leads")
    status.add_argument("broadcast", metavar="NAME", nargs="?",
                        help="one broadcast's results (default: list them all)")
    status.set_defaults(command=run_status)


def when(value: str | None, timezone: str, now: datetime) -> datetime | None:
    """`--at`: an ISO time, in LEADBOT_TIMEZONE when it has no offset; not in the past."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadArgument(f"{value!r} is not a time like 2026-12-05T10:00", "--at") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    if moment.astimezone(UTC) < now:
        raise BadArgument(f"{value} has passed (now {now:%Y-%m-%d %H:%M} UTC)", "--at")
    return moment.astimezone(UTC)


def _database(settings: Settings, action: Any) -> Any:
    from bot.cli.admin import _database as database

    return database(settings, action)


def _guarded(run: Any) -> Any:
    import functools

    @functools.wraps(run)
    def wrapped(args: argparse.Namespace, settings: Settings) -> int:
        from bot.database import DatabaseError
        from storage.work.broadcasts import BroadcastError

        try:
            return run(args, settings)
        except DatabaseError as error:
            print(f"leadbot broadcast: {error}", file=sys.stderr)
            return 1
        except BroadcastError as error:
            raise BadArgument(str(error)) from None
    return wrapped


def _left_out(left_out: dict[str, int]) -> str:
    told = [f"{REASONS.get(k, k)} {n}" for k, n in left_out.items() if n]
    return "; left out: " + ", ".join(told) if told else "; nobody left out"


@_guarded
def run_create(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.broadcast_preview import check, store
    from bot.service.flows import FlowRegistry

    path = Path(args.file)
    if not path.is_file():
        raise BadArgument(f"no such file: {args.file}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadArgument(f"cannot read {args.file}: {error}") from None
    registry = FlowRegistry.from_dir(flows_folder(settings))
    # a FlowError (every problem, each with its line) is printed by `main`, exit 1
    broadcast = check(text, str(path), path.resolve().parent, registry)
    made, found = _database(settings, lambda session, now: store(
        session, broadcast, text, "cli", settings.timezone, now))
    print(f"draft {made.name}: {len(found.recipients)} people would get it now"
          f"{_left_out(found.left_out)}")
    print(f"next: `leadbot broadcast preview {made.name} --chat YOUR_ID`, then "
          f"`leadbot broadcast send {made.name}`")
    return 0


@_guarded
def run_preview(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.broadcast_preview import preview

    languages = _database(settings, lambda session, now: preview(
        session, args.broadcast, args.chat, args.lang))
    print(f"preview of {args.broadcast} queued for chat {args.chat} in "
          f"{', '.join(languages)}: the running bot sends it within seconds")
    return 0


@_guarded
def run_send(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.broadcast_preview import send
    from bot.jobs.broadcasts import BroadcastConfig

    at = when(args.at, settings.timezone, datetime.now(UTC))
    found, count = _database(settings, lambda session, now: send(
        session, args.broadcast, at, now, BroadcastConfig.from_settings(settings)))
    if count is None:
        print(f"{found.name}: scheduled for {found.send_at:%Y-%m-%d %H:%M} UTC; its segment "
              "is chosen then")
    else:
        print(f"{found.name}: sending to {count} people{_left_out(found.left_out or {})}; "
              f"`leadbot broadcast status {found.name}` follows it")
    return 0


@_guarded
def run_change(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.broadcast_preview import change

    found = _database(settings, lambda session, now: change(session, args.broadcast, args.action,
                                                            now))
    print(f"{found.name}: {found.status}")
    return 0


@_guarded
def run_status(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.broadcast_preview import status

    print(_database(settings, lambda session, now: status(session, args.broadcast)))
    return 0

