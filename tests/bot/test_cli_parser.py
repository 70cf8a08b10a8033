"""The `leadbot` parser itself: every subcommand and option explains itself (the docs' CLI
reference is generated from `build_parser()`), and a bad option is told under the usage of
the subcommand it was given to."""

from __future__ import annotations

import argparse

import pytest

from bot.cli.main import build_parser


def walk(parser: argparse.ArgumentParser, name: str = "leadbot"):
    """(command, parser, its actions): every parser and subparser, depth first."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield from walk(action.choices[choice.dest], f"{name} {choice.dest}")


def test_every_subcommand_and_option_has_a_help_line():
    missing = []
    for name, parser in walk(build_parser()):
        if not parser.description:
            missing.append(f"{name}: no description")
        for action in parser._actions:
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}: "
                               "no help")
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{name} {choice.dest}: no help line"
                            for choice in action._choices_actions if not choice.help]
    assert missing == []  # before: db upgrade, new-key, rotate-key, crm test, --format, ...


def test_the_walk_sees_every_subcommand():
    names = [name for name, _ in walk(build_parser())]
    assert {"leadbot db upgrade", "leadbot db new-key", "leadbot db rotate-key",
            "leadbot crm test", "leadbot export leads", "leadbot report"} <= set(names)


@pytest.mark.parametrize(("args", "words"), [
    (("db", "upgrade"), "Create the database LEADBOT_DATABASE_URL names, or migrate it"),
    (("db", "new-key"), "Print a new Fernet key for LEADBOT_PII_KEY"),
    (("crm", "test"), "Send an obvious test lead to every CRM target"),
    (("db",), "upgrade"),
])
def test_help_says_what_a_subcommand_does(command, args, words):
    code, out, _ = command(*args, "--help")
    assert code == 0
    assert words in " ".join(out.split())  # argparse wraps lines


def test_the_parser_is_built_without_settings_or_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEADBOT_PORT", "not a number")  # a bad setting is not read
    first, second = build_parser(), build_parser()
    assert first.format_help() == second.format_help()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "usage"), [
    (("lint", "--bogus"), "usage: leadbot lint "),
    (("db", "upgrade", "--bogus"), "usage: leadbot db upgrade "),
    (("db", "--bogus", "upgrade"), "usage: leadbot db "),
    (("export", "leads", "--bogus"), "usage: leadbot export leads "),
    (("report", "--flow", "quiz", "--bogus", "x"), "usage: leadbot report "),
    (("simulate", "kitchen-quiz", "extra"), "usage: leadbot simulate "),
    (("crm", "test", "--bogus"), "usage: leadbot crm test "),
    (("--bogus", "lint"), "usage: leadbot [-h] COMMAND"),
])
def test_a_bad_option_is_told_under_its_subcommands_usage(command, args, usage):
    code, out, err = command(*args)
    assert code == 2 and out == ""
    assert err.startswith(usage)  # before: `usage: leadbot [-h] COMMAND ...` for each
    unknown = [a for a in args if a in ("--bogus", "x", "extra")]
    assert err.strip().splitlines()[-1].endswith(
        f"error: unrecognized arguments: {' '.join(unknown)}")


def test_a_missing_subcommand_still_gets_the_usage_it_needs(command):
    code, _, err = command("db")
    assert code == 2 and err.startswith("usage: leadbot db ")
