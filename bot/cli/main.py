"""The `leadbot` command. Bad arguments get a clear error and a non-zero exit, never a traceback:
argparse's and those of `bot/cli/arguments.py` (the one set of rules every subcommand
checks its options by) under the usage of the subcommand that was run, exit 2."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.cli import arguments
from bot.cli.admin import add_commands as add_admin_commands
from bot.cli.arguments import BadArgument
from bot.cli.broadcast import add_commands as add_broadcast_commands
from bot.cli.conversions import add_commands as add_conversions_commands
from bot.cli.links import add_commands as add_link_commands
from bot.cli.money import add_commands as add_money_commands
from bot.cli.report import add_commands as add_report_commands
from bot.cli.simulate import HELP as SIMULATE_HELP
from bot.cli.simulate import TerminalChat
from bot.settings import SettingError, Settings, bad_settings, flows_folder
from dialogs.format.diagram import mermaid
from dialogs.format.loader import cross_problems, flow_files, read_entry
from dialogs.format.problems import FlowError
from dialogs.format.scenarios import check_file, scenario_file


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parse(parser, sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:  # --help (0), or a usage error argparse has printed (2)
        return stop.code if isinstance(stop.code, int) else 2
    try:
        settings = Settings()
    except ValidationError as error:
        for line in bad_settings(error):
            print(f"leadbot: bad setting {line}", file=sys.stderr)
        return 2
    try:
        return args.command(args, settings)
    except SettingError as error:
        print(f"leadbot: bad setting {error}", file=sys.stderr)
        return 2
    except BadArgument as error:
        command = chosen(parser, args)
        command.print_usage(sys.stderr)
        print(f"{command.prog}: error: {error}", file=sys.stderr)
        return 2
    except FlowError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """`parse_args`, but an option no parser knows is told under the usage of the
    subcommand it was given to (argparse tells every one under the top-level usage)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        where = list(argv).index(unknown[0]) if unknown[0] in argv else len(argv)
        blamed = parser
        for command, position in _chain(parser, args, argv):
            if position < where:
                blamed = command
        blamed.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def chosen(parser: argparse.ArgumentParser, args: argparse.Namespace
           ) -> argparse.ArgumentParser:
    """The subcommand's parser (the deepest: `db upgrade`'s, not `db`'s)."""
    for command, _ in _chain(parser, args, []):
        parser = command
    return parser


def _chain(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str]
           ) -> list[tuple[argparse.ArgumentParser, int]]:
    """Each subcommand's parser that `args` names, with where its name is in `argv`."""
    found: list[tuple[argparse.ArgumentParser, int]] = []
    position = -1
    while True:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        name = getattr(args, actions[0].dest, None) if actions else None
        if name is None or name not in actions[0].choices:
            return found
        parser = actions[0].choices[name]
        rest = list(argv[position + 1:])
        position = position + 1 + rest.index(name) if name in rest else position
        found.append((parser, position))


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (no side effects: the CLI reference is generated from it).
    Every subcommand has a help line and a description, every option a help line
    (tests/bot/test_cli_parser.py walks it)."""
    parser = argparse.ArgumentParser(prog="leadbot", description=(
        "A Telegram bot that qualifies leads through flows written as code."))
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND",
                                     help="what to do (`leadbot COMMAND --help` for more)")

    run = command(commands, "run", "run the bot (long polling, or --webhook)",
                  "Run the bot: check the settings and the flows, create or migrate the "
                  "database (the only command besides `db upgrade` that does), then poll "
                  "Telegram or serve the webhook. The first log line names the transport, "
                  "the database and the flows.")
    run.add_argument("--webhook", action="store_true",
                     help="serve a webhook on LEADBOT_HOST:LEADBOT_PORT for "
                          "LEADBOT_TELEGRAM_WEBHOOK_URL")
    run.set_defaults(command=run_bot)

    links = command(commands, "links", "tracking links (add, remove, list, qr); alone: "
                    "print the t.me deep link of every flow")
    links.add_argument("--source", help="a source to record, e.g. instagram (A-Z a-z 0-9 _ -; "
                       "a link carries FLOW__SOURCE, at most 64 characters)")
    links.add_argument("--username", type=arguments.username,
                       help="the bot's username, e.g. demo_bot (a leading @ is dropped; "
                            "default: asked of Telegram)")
    links.set_defaults(command=run_links)
    add_link_commands(links, command)

    lint = command(commands, "lint", "check flow files and run their scenarios")
    lint.add_argument("paths", nargs="*", metavar="PATH",
                      help="flow files or folders (default: LEADBOT_FLOWS_DIR)")
    lint.add_argument("--no-scenarios", action="store_true",
                      help="check the flows only, do not run NAME.scenarios.yaml")
    lint.set_defaults(command=run_lint)

    simulate = command(commands, "simulate", "chat with a flow in the terminal",
                       SIMULATE_HELP)
    simulate.add_argument("flow", help="a flow id (from LEADBOT_FLOWS_DIR) or a flow file")
    simulate.add_argument("--lang", help="the prospect's language: one the flow speaks, "
                          "e.g. en (default: the flow's own)")
    simulate.add_argument("--source", help="a deep-link source, e.g. instagram (A-Z a-z 0-9 "
                          "_ -; a link carries FLOW__SOURCE, at most 64 characters)")
    simulate.set_defaults(command=run_simulate)

    db = command(commands, "db", "the database: migrations and the key of personal data")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND",
                                    help="what to do with the database")
    db_upgrade = command(db_commands, "upgrade",
                         "create the database or apply its migrations (`run` does too)",
                         "Create the database LEADBOT_DATABASE_URL names, or migrate it to "
                         "this leadbot's revision; print the revision. A SQLite file that a "
                         "running `leadbot run` has is refused (stop the bot first).")
    db_upgrade.set_defaults(command=run_db_upgrade)
    new_key = command(db_commands, "new-key", "print a new key for LEADBOT_PII_KEY",
                      "Print a new Fernet key for LEADBOT_PII_KEY (the database is not "
                      "opened).")
    new_key.set_defaults(command=run_db_new_key)
    rotate = command(db_commands, "rotate-key",
                     "re-encrypt personal data with the first key of LEADBOT_PII_KEY",
                     "Re-encrypt every personal value with the first key of LEADBOT_PII_KEY "
                     "(NEW,OLD: the new key first, then the old ones); afterwards the old "
                     "keys may be dropped. The database must exist and be migrated.")
    rotate.set_defaults(command=run_db_rotate_key)

    crm_parser = command(commands, "crm", "the CRM targets (Bitrix24, amoCRM, webhook)")
    crm_commands = crm_parser.add_subparsers(dest="crm_command", required=True,
                                             metavar="COMMAND", help="what to do")
    crm_test = command(crm_commands, "test",
                       "send a sample lead to every configured target; print what each said",
                       "Send an obvious test lead to every CRM target the settings turn on "
                       "and print what each answered; the database is not opened.")
    crm_test.set_defaults(command=run_crm_test)
    add_conversions_commands(commands, command)

    graph = command(commands, "graph", "print the dialog tree as a Mermaid diagram")
    graph.add_argument("flow", help="a flow id (from LEADBOT_FLOWS_DIR) or a flow file")
    graph.add_argument("--lang", help="the language of the labels: one the flow speaks "
                       "(default: the flow's own)")
    graph.set_defaults(command=run_graph)
    add_report_commands(commands)
    add_money_commands(commands)
    add_admin_commands(commands, command)
    add_broadcast_commands(commands, command)
    return parser


def command(commands: argparse._SubParsersAction, name: str, help: str,
            description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand: `help` is its line in the list, `description` (default: the same) the
    top of its own --help."""
    return commands.add_parser(name, help=help,
                               description=description or help[0].upper() + help[1:] + ".")


def run_lint(args: argparse.Namespace, settings: Settings) -> int:
    paths = args.paths or [settings.flows_dir]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"leadbot lint: no such file or folder: {', '.join(map(str, missing))}",
              file=sys.stderr)
        return 2
    files = flow_files(paths)
    problems, loaded, scenarios = [], [], 0
    from bot.deliveries.targets import (
        CrmConfigError,
        check_goals,
        named_from,
        recipients_from,
    )

    # the consent texts must name whom the configured CRMs and ad platforms pass the data
    # to, and by name the platforms given the phone and email; the conversions file is
    # checked as `leadbot run` checks it, but for the secrets (a flow's CI holds none): a
    # goal a platform itself refuses fails here, not at the start
    try:
        recipients = sorted({category for category, _ in recipients_from(settings)})
        named = named_from(settings)
        check_goals(settings)
    except CrmConfigError as error:
        print(f"leadbot lint: {error}", file=sys.stderr)
        return 2
    for file in files:
        entry, found = read_entry(file, recipients, named)
        problems += found
        if entry is None:
            continue
        loaded.append(entry)
        extra = scenario_file(file)
        if not args.no_scenarios and extra.is_file():
            count, found = check_file(entry.flow, extra)
            scenarios += count
            problems += found
    # one id in two files; an experiment's variants (all of them when a folder was named)
    problems += cross_problems(loaded, complete=any(Path(p).is_dir() for p in paths))
    flows = len(loaded)
    for problem in sorted(problems, key=lambda p: (p.file, p.line or 0)):
        print(problem)
    if not files:
        print(f"leadbot lint: no flow files in {', '.join(map(str, paths))}", file=sys.stderr)
        return 1
    verdict = "FAILED" if problems else "ok"
    print(f"{verdict}: {len(files)} flow file(s), {flows} valid, {scenarios} scenario(s) run, "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    loaded = arguments.find_flow(args.flow, flows_folder(settings))
    language = arguments.language(loaded, args.lang)
    source = arguments.source(args.source, [loaded.flow.id])
    chat = TerminalChat(loaded.flow, sys.stdout, interactive=sys.stdin.isatty())
    return chat.run(iter(sys.stdin), language, source)


def run_graph(args: argparse.Namespace, settings: Settings) -> int:
    loaded = arguments.find_flow(args.flow, flows_folder(settings))
    print(mermaid(loaded.flow, arguments.language(loaded, args.lang)), end="")
    return 0


def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.run import run

    return run(settings, webhook=args.webhook)


def run_links(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.run import deep_links

    return deep_links(settings, args.source, args.username)


def run_crm_test(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.crm import crm_test

    return crm_test(settings)


def run_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.database import DatabaseError, migrate

    try:
        revision = asyncio.run(migrate(settings.database_url))
    except DatabaseError as error:
        print(f"leadbot: {error}", file=sys.stderr)
        return 1
    print(f"database at revision {revision}")
    return 0


def run_db_new_key(args: argparse.Namespace, settings: Settings) -> int:
    from storage.schema.sealing import new_key

    print(new_key())
    return 0


def run_db_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    from bot.database import DatabaseError, reseal

    if settings.pii_key is None:
        print("leadbot: LEADBOT_PII_KEY is not set: give the new key first, then the old "
              "one, separated by a comma", file=sys.stderr)
        return 2
    try:
        rows = asyncio.run(reseal(settings.database_url, settings.pii_key.get_secret_value()))
    except DatabaseError as error:
        print(f"leadbot: {error}", file=sys.stderr)
        return 1
    print(f"re-encrypted {rows} rows with the first key of LEADBOT_PII_KEY; the other keys "
          f"may now be dropped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
