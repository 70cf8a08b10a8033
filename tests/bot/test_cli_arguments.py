"""One set of argument rules (bot/cli/arguments.py): an option is checked the same way, in the
same words, by every subcommand that has it; a bad one is refused before anything is
printed or opened, under the usage of the subcommand that was run, exit 2."""

from __future__ import annotations

import pytest

from storage.db.engine import sessionmaker
from storage.work.uow import UnitOfWork
from tests.bot.test_cli import no_traceback
from tests.bot.test_report_cli import PERIOD_ARGS, run
from tests.databases import database_url, fresh_engine
from tests.storage.funnel_history import build


@pytest.fixture
async def history(tmp_path):
    """The funnel's history (flows quiz and other) in a SQLite file; `leadbot`'s settings."""
    engine = await fresh_engine("sqlite", tmp_path)
    async with UnitOfWork(sessionmaker(engine)) as uow:
        await build(uow)
        await uow.commit()
    await engine.dispose()
    return {"LEADBOT_DATABASE_URL": await database_url("sqlite", tmp_path),
            "LEADBOT_TIMEZONE": "Europe/Moscow"}


def error_line(stderr: str) -> str:
    """The error's words, without the subcommand's name: `leadbot X: error: WORDS`."""
    last = stderr.strip().splitlines()[-1]
    return last.split(": error: ", 1)[1] if ": error: " in last else last.split(": ", 1)[1]


def test_export_refuses_an_unknown_flow_in_the_words_of_report(history):
    env = history
    report = run(env, "report", "--flow", "nosuch", *PERIOD_ARGS)
    export = run(env, "export", "leads", "--flow", "nosuch", *PERIOD_ARGS)
    assert report.returncode == export.returncode == 2  # before: export gave a CSV, exit 0
    assert "no flow 'nosuch' in the database (flows: other, quiz)" in export.stderr
    assert error_line(export.stderr) == error_line(report.stderr)
    assert export.stdout == ""
    assert export.stderr.startswith("usage: leadbot export leads")
    no_traceback(export)
    experiment = run(env, "export", "leads", "--flow", "quiz", *PERIOD_ARGS)
    assert experiment.returncode == 0, experiment.stderr


def test_export_refuses_since_after_until_in_the_words_of_report(history):
    env = history
    dates = ("--since", "2026-11-05", "--until", "2026-11-01")
    report = run(env, "report", "--flow", "quiz", *dates)
    export = run(env, "export", "leads", *dates)
    assert report.returncode == export.returncode == 2  # before: an empty CSV, exit 0
    assert error_line(export.stderr) == error_line(report.stderr) == (
        "--until 2026-11-01 is before --since 2026-11-05")
    assert export.stdout == ""


def test_a_since_after_today_names_today(command):
    code, _, err = command("export", "leads", "--since", "2999-01-01")
    assert code == 2
    assert "(today) is before --since 2999-01-01" in err


def test_graph_refuses_a_language_the_flow_does_not_speak_as_simulate_does(command):
    code, out, err = command("graph", "kitchen-quiz", "--lang", "de")
    assert code == 2 and out == ""  # before: the Russian diagram, exit 0
    assert err.startswith("usage: leadbot graph")
    simulate = command("simulate", "kitchen-quiz", "--lang", "de")
    assert simulate[0] == 2
    assert error_line(err) == error_line(simulate[2]) == (
        "argument --lang: 'kitchen-quiz' speaks ru, uk, en, not 'de'")
    assert command("graph", "kitchen-quiz", "--lang", "en")[0] == 0


@pytest.mark.parametrize("args", [("graph", "kitchen-quiz"), ("simulate", "kitchen-quiz")])
def test_an_empty_language_is_refused_not_taken_for_the_default(command, args):
    code, out, err = command(*args, "--lang", "")
    assert code == 2 and "not ''" in err  # before: the flow's default language
    assert "Здравствуйте" not in out


@pytest.mark.parametrize("name", ["bad name", "", "abcd", "1demo_bot", "demo-bot", "@",
                                  "a" * 33, "demo_bot/x"])
def test_links_refuse_what_is_not_a_telegram_username(command, name):
    code, out, err = command("links", "--username", name)
    assert code == 2 and out == ""  # before: https://t.me/bad name?start=...
    assert err.startswith("usage: leadbot links")
    assert "is not a Telegram username: 5 to 32 characters of A-Z a-z 0-9 _, starting " \
           "with a letter" in err


@pytest.mark.parametrize("name", ["demo_bot", "@demo_bot", "D" + "e" * 31])
def test_links_take_a_username_with_or_without_its_at(command, name):
    code, out, _ = command("links", "--username", name)
    assert code == 0
    assert out.splitlines()[0] == f"kitchen-quiz: https://t.me/{name.lstrip('@')}" \
                                  "?start=kitchen-quiz"


@pytest.mark.parametrize("length", [42, 45, 70])
def test_links_check_the_source_against_every_flow_before_printing_anything(command, length):
    code, out, err = command("links", "--username", "demo_bot", "--source", "a" * length)
    assert code == 2
    assert out == ""  # before: at 45, kitchen-quiz's link printed, then a failure
    # the longest entry is renovation-calculator (21): 64 - 23 = 41 characters are left
    assert (f"({length} characters) will not do: a source may use only A-Z a-z 0-9 _ - and "
            "at most 41 characters here (Telegram's start parameter is at most 64, and "
            "'renovation-calculator__' comes before the source)") in err


def test_links_with_the_longest_source_there_is_room_for(command):
    code, out, _ = command("links", "--username", "demo_bot", "--source", "a" * 41)
    assert code == 0
    for line in out.splitlines():
        assert len(line.split("?start=")[1]) <= 64


@pytest.mark.parametrize("source", ["not ok!", "", "кириллица", "a b"])
def test_one_source_rule_in_every_subcommand(command, source):
    said = set()
    for args in (("links", "--username", "demo_bot"), ("simulate", "kitchen-quiz"),
                 ("report", "--flow", "quiz"), ("export", "leads")):
        code, out, err = command(*args, "--source", source)
        assert code == 2, args  # before: simulate ran and report and export opened a database
        assert out == ""
        said.add(error_line(err).split(" at most ")[0])  # the room left: per command
    assert said == {f"argument --source: {source!r} ({len(source)} characters) will not do: "
                    "a source may use only A-Z a-z 0-9 _ - and"}


def test_simulate_leaves_room_for_its_flow_in_the_source(command):
    code, _, err = command("simulate", "kitchen-quiz", "--source", "a" * 51)
    assert code == 2  # kitchen-quiz__ takes 14 of 64
    assert "at most 50 characters here" in err
    code, out, _ = command("simulate", "kitchen-quiz", "--source", "a" * 50)
    assert code == 1 and "input ended at step 'intro'" in out  # it ran


@pytest.mark.parametrize("args", [("simulate",), ("graph",)])
def test_one_unknown_flow_rule_for_flow_ids(command, args):
    code, out, err = command(*args, "no-such-flow")
    assert code == 2 and out == ""
    assert error_line(err).startswith("argument flow: no flow 'no-such-flow' in ")
    assert "(flows: kitchen-quiz, renovation-calculator" in err


@pytest.mark.parametrize("args", [("report", "--flow", "quiz"), ("export", "leads")])
@pytest.mark.parametrize("day", ["2026-11-31", "tomorrow", ""])
def test_one_date_rule(command, args, day):
    code, _, err = command(*args, "--until", day)
    assert code == 2
    assert error_line(err) == (f"argument --until: {day!r} is not a date: write it as "
                               "YYYY-MM-DD, e.g. 2026-11-01")


@pytest.mark.parametrize("dates", [("--since", "0001-01-01", "--until", "0001-01-05"),
                                   ("--since", "9999-12-01", "--until", "9999-12-31")])
def test_a_day_at_the_ends_of_the_calendar_is_refused_not_a_traceback(history, dates):
    for args in (("report", "--flow", "quiz"), ("export", "leads")):
        result = run(history, *args, *dates)
        assert result.returncode == 2, result.stderr  # before: OverflowError, a traceback
        no_traceback(result)
        assert "is out of range: from 1970-01-01 to 2999-12-31" in result.stderr
