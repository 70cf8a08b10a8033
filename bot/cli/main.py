"""The `leadbot` command. Bad arguments get a clear error and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.cli.report import add_commands as add_report_commands
from bot.cli.simulate import TerminalChat
from bot.settings import Settings, bad_settings
from dialogs.format.diagram import mermaid
from dialogs.format.loader import LoadedFlow, cross_problems, flow_files, load_flows, read_entry
from dialogs.format.problems import FlowError
from dialogs.format.scenarios import check_file, scenario_file


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        for line in bad_settings(error):
            print(f"leadbot: bad setting {line}", file=sys.stderr)
        return 2
    try:
        return args.command(args, settings)
    except FlowError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadbot", description=(
        "A Telegram bot that qualifies leads through flows written as code."))
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (long polling, or --webhook)")
    run.add_argument("--webhook", action="store_true",
                     help="serve a webhook on LEADBOT_HOST:LEADBOT_PORT for "
                          "LEADBOT_TELEGRAM_WEBHOOK_URL")
    run.set_defaults(command=run_bot)

    links = commands.add_parser("links", help="print the t.me deep link of every flow")
    links.add_argument("--source", help="a source to record, e.g. instagram (A-Z a-z 0-9 _ -)")
    links.add_argument("--username", help="the bot's username (default: asked of Telegram)")
    links.set_defaults(command=run_links)

    lint = commands.add_parser("lint", help="check flow files and run their scenarios")
    lint.add_argument("paths", nargs="*", metavar="PATH",
                      help="flow files or folders (default: LEADBOT_FLOWS_DIR)")
    lint.add_argument("--no-scenarios", action="store_true",
                      help="check the flows only, do not run NAME.scenarios.yaml")
    lint.set_defaults(command=run_lint)

    simulate = commands.add_parser("simulate", help="chat with a flow in the terminal")
    simulate.add_argument("flow", help="a flow id (from LEADBOT_FLOWS_DIR) or a flow file")
    simulate.add_argument("--lang", help="the prospect's language: ru, uk, en")
    simulate.add_argument("--source", help="a deep-link source, e.g. instagram")
    simulate.set_defaults(command=run_simulate)

    db = commands.add_parser("db", help="the database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations (also done at start)")
    db_upgrade.set_defaults(command=run_db_upgrade)
    new_key = db_commands.add_parser("new-key", help="print a new key for LEADBOT_PII_KEY")
    new_key.set_defaults(command=run_db_new_key)
    rotate = db_commands.add_parser(
        "rotate-key", help="re-encrypt personal data with the first key of LEADBOT_PII_KEY")
    rotate.set_defaults(command=run_db_rotate_key)

    crm_parser = commands.add_parser("crm", help="the CRM targets (Bitrix24, amoCRM, webhook)")
    crm_commands = crm_parser.add_subparsers(dest="crm_command", required=True,
                                             metavar="COMMAND")
    crm_test = crm_commands.add_parser(
        "test", help="send a sample lead to every configured target; print what each said")
    crm_test.set_defaults(command=run_crm_test)

    graph = commands.add_parser("graph", help="print the dialog tree as a Mermaid diagram")
    graph.add_argument("flow", help="a flow id (from LEADBOT_FLOWS_DIR) or a flow file")
    graph.add_argument("--lang", help="the language of the labels")
    graph.set_defaults(command=run_graph)
    add_report_commands(commands)
    return parser


def run_lint(args: argparse.Namespace, settings: Settings) -> int:
    paths = args.paths or [settings.flows_dir]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"leadbot lint: no such file or folder: {', '.join(map(str, missing))}",
              file=sys.stderr)
        return 2
    files = flow_files(paths)
    problems, loaded, scenarios = [], [], 0
    for file in files:
        entry, found = read_entry(file)
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


def find_flow(name: str, settings: Settings) -> LoadedFlow:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return next(iter(load_flows([path]).values()))
    flows = load_flows([settings.flows_dir])
    if name not in flows:
        variants = sorted(f"{e.flow.id} ({e.flow.experiment.variant})"
                          for e in flows.values()
                          if e.flow.experiment and e.flow.experiment.name == name)
        if variants:
            raise SystemExit(f"leadbot: '{name}' is an experiment: name one of its variants' "
                             f"flows: {', '.join(variants)}")
        raise SystemExit(f"leadbot: no flow '{name}' in {settings.flows_dir} "
                         f"(flows: {', '.join(sorted(flows))})")
    return flows[name]


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    loaded = find_flow(args.flow, settings)
    if args.lang and args.lang not in loaded.flow.languages:
        print(f"leadbot simulate: '{loaded.flow.id}' speaks {', '.join(loaded.flow.languages)}"
              f", not '{args.lang}'", file=sys.stderr)
        return 2
    chat = TerminalChat(loaded.flow, sys.stdout, prompt="> " if sys.stdin.isatty() else "")
    return chat.run(iter(sys.stdin), args.lang, args.source)


def run_graph(args: argparse.Namespace, settings: Settings) -> int:
    loaded = find_flow(args.flow, settings)
    print(mermaid(loaded.flow, args.lang), end="")
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
    from storage.crypto import new_key

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
