"""Which commands may create a database: only `leadbot run` and `leadbot db upgrade`. The
others (report, export, db rotate-key) open one that exists and is migrated, or say which
URL they could not open (never its password) and exit 1; graph, links, lint, simulate and
crm test never open one. Real SQLite files, the real command."""

from __future__ import annotations

import sqlite3

import pytest

from storage.db.engine import create_engine
from storage.db.migrate import head_revision, upgrade
from tests.bot.test_cli import leadbot, no_traceback

READERS = [("report", "--flow", "kitchen-quiz"), ("export", "leads"),
           ("export", "leads", "--flow", "kitchen-quiz", "--with-contacts")]


def revision_of(path) -> str | None:
    with sqlite3.connect(path) as connection:
        tables = {name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "alembic_version" not in tables:
            return None
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_reading_command_never_creates_the_database(command, tmp_path, args):
    url = f"sqlite:///{tmp_path}/typo/x.db"
    code, out, err = command(*args, env={"LEADBOT_DATABASE_URL": url})
    assert code == 1 and out == ""
    assert err.strip() == (  # before: the folder, an empty database, then "no flow"
        f"leadbot {args[0]}: cannot open the database {url}: there is no file "
        f"{tmp_path}/typo/x.db (`leadbot run` or `leadbot db upgrade` creates it; is "
        "LEADBOT_DATABASE_URL right?)")
    assert not (tmp_path / "typo").exists()


def test_the_default_database_is_not_made_by_a_report_either(command, tmp_path):
    code, _, err = command("report", "--flow", "kitchen-quiz")
    assert code == 1 and "cannot open the database sqlite:///leadbot.db" in err
    assert list(tmp_path.iterdir()) == []  # before: leadbot.db in the current folder


def test_rotate_key_never_creates_the_database(command, tmp_path):
    from storage.schema.sealing import new_key

    url = f"sqlite:///{tmp_path}/none/x.db"
    code, out, err = command("db", "rotate-key", env={"LEADBOT_DATABASE_URL": url,
                                                      "LEADBOT_PII_KEY": new_key()})
    assert code == 1 and "re-encrypted" not in out  # before: "re-encrypted 0 rows"
    assert f"cannot open the database {url}: there is no file" in err
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("args", [("graph", "kitchen-quiz"), ("lint",),
                                  ("links", "--username", "demo_bot"),
                                  ("simulate", "kitchen-quiz"), ("crm", "test"),
                                  ("db", "new-key")], ids=" ".join)
def test_commands_without_a_database_never_make_one(command, tmp_path, args):
    command(*args, env={"LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/typo/x.db"})
    assert not (tmp_path / "typo").exists()


def test_a_database_path_through_a_file_is_named(command, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    url = f"sqlite:///{tmp_path}/file/x.db"
    code, _, err = command("report", "--flow", "q", env={"LEADBOT_DATABASE_URL": url})
    assert code == 1
    assert f"cannot open the database {url}: {tmp_path}/file is a file, not a folder" in err


@pytest.mark.parametrize("args", READERS[:2], ids=" ".join)
def test_a_file_that_is_no_leadbot_database_is_left_as_it_was(command, tmp_path, args):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    before = path.read_bytes()
    code, out, err = command(*args, env={"LEADBOT_DATABASE_URL": f"sqlite:///{path}"})
    assert code == 1 and out == ""
    assert err.strip() == (f"leadbot {args[0]}: the database sqlite:///{path} has no leadbot "
                           "tables (not migrated, or not leadbot's): run `leadbot db upgrade`")
    assert revision_of(path) is None  # before: leadbot's 15 migrations ran on it
    assert path.read_bytes() == before


@pytest.mark.parametrize("args", READERS[:2], ids=" ".join)
async def test_an_older_database_is_told_to_upgrade_not_migrated_behind_the_bots_back(
        tmp_path, args):
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine, "0014")
    await engine.dispose()
    url = f"sqlite:///{path}"
    result = leadbot(*args, env={"LEADBOT_DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"leadbot {args[0]}: the database {url} is at revision 0014, not {head_revision()}: "
        "run `leadbot db upgrade`")
    assert revision_of(path) == "0014"  # before: migrated by a report


async def test_a_database_of_a_newer_leadbot_is_one_clear_line(tmp_path):
    path = tmp_path / "new.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    env = {"LEADBOT_DATABASE_URL": f"sqlite:///{path}"}
    for args in (("db", "upgrade"), ("report", "--flow", "x")):
        result = leadbot(*args, env=env)
        assert result.returncode == 1
        no_traceback(result)  # before: alembic's CommandError, a traceback
        assert (f"the database sqlite:///{path} is at revision 0099, which this leadbot does "
                f"not know (its newest is {head_revision()})") in result.stderr
    assert revision_of(path) == "0099"


@pytest.mark.parametrize("args", [("report", "--flow", "q"), ("export", "leads"),
                                  ("db", "upgrade")], ids=" ".join)
def test_an_unreachable_postgresql_is_one_line_without_its_password(args):
    url = "postgresql://leadbot:s3cret-pass@127.0.0.1:9/leads"
    result = leadbot(*args, env={"LEADBOT_DATABASE_URL": url})
    assert result.returncode == 1
    no_traceback(result)
    [line] = result.stderr.strip().splitlines()
    assert "cannot open the database postgresql://leadbot:***@127.0.0.1:9/leads: " in line
    assert "s3cret" not in result.stdout + result.stderr


def test_db_upgrade_creates_and_migrates_and_a_report_then_opens_it(command, tmp_path):
    url = f"sqlite:///{tmp_path}/new/x.db"
    assert command("db", "upgrade", env={"LEADBOT_DATABASE_URL": url})[0] == 0
    assert revision_of(tmp_path / "new" / "x.db") == head_revision()
    code, _, err = command("report", "--flow", "kitchen-quiz")
    assert code == 2 and "no flow 'kitchen-quiz' in the database (flows: none yet)" in err
