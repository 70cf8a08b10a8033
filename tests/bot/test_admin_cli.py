"""`leadbot admin add|list|remove|link` as the operator runs them (the real command on a real
database, SQLite and PostgreSQL): the one-time link it prints sets a password once, a new
link kills the old one, a removed person is gone; bad arguments get one line, exit 2, never
a traceback."""

from __future__ import annotations

import re

import pytest

from bot.web.accounts import Accounts
from storage.db.engine import sessionmaker
from tests.bot.test_cli import leadbot, no_traceback
from tests.bot.test_links_cli import PUBLIC, refused
from tests.databases import database_url, fresh_engine

LINK = re.compile(r"/admin/welcome/([A-Za-z0-9_-]{43})$", re.MULTILINE)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    """(a migrated, empty database's sessions, `leadbot`'s settings for it)."""
    engine = await fresh_engine(request.param, tmp_path)
    env = {"LEADBOT_DATABASE_URL": await database_url(request.param, tmp_path)}
    yield sessionmaker(engine), env
    await engine.dispose()


def token_of(result) -> str:
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    return LINK.search(result.stdout).group(1)


async def test_add_list_link_remove(db):
    sessions, env = db
    accounts = Accounts(sessions, None)
    added = leadbot("admin", "add", "Olga", "--role", "marketer", env=env)
    first = token_of(added)
    assert added.stdout.startswith("added Olga (marketer)\n")
    assert "\n/admin/welcome/" in added.stdout  # the path, with a note on the full URL
    assert "set LEADBOT_PUBLIC_URL" in added.stdout
    sales = leadbot("admin", "add", "Иван Петров", "--role", "sales", env={**env, **PUBLIC})
    assert "\nhttps://bot.example.com/admin/welcome/" in sales.stdout
    assert "LEADBOT_PUBLIC_URL" not in sales.stdout
    ivan = token_of(sales)

    listed = leadbot("admin", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[2:]]
    assert [row[:3] for row in rows] == [["Olga", "marketer", "not"],
                                         ["Иван", "Петров", "sales"]]

    # a new link (a forgotten password): the old one dies, the new one works once
    again = token_of(leadbot("admin", "link", "olga", env=env))  # any case
    assert again != first
    assert await accounts.link_person(first) is None
    assert await accounts.set_password(first, "a long password") is None
    assert await accounts.set_password(again, "a long password") is not None
    assert await accounts.set_password(again, "another password") is None  # once
    assert await accounts.sign_in("OLGA", "a long password") is not None
    assert await accounts.sign_in("Olga", "another password") is None
    assert "chosen" in leadbot("admin", "list", env=env).stdout

    removed = leadbot("admin", "remove", "Olga", env=env)
    assert removed.returncode == 0 and removed.stdout.startswith("removed Olga"), removed.stderr
    assert await accounts.sign_in("Olga", "a long password") is None
    assert "Olga" not in leadbot("admin", "list", env=env).stdout
    refused(leadbot("admin", "remove", "Olga", env=env), "nobody named 'Olga'")
    refused(leadbot("admin", "link", "Olga", env=env), "nobody named 'Olga'")
    # the name may come back, as a new person: no password, a new link
    back = token_of(leadbot("admin", "add", "Olga", "--role", "owner", env=env))
    assert await accounts.link_person(back) is not None
    assert await accounts.link_person(ivan) is not None  # Ivan's link untouched throughout


async def test_bad_arguments_are_one_line(db):
    _, env = db
    assert leadbot("admin", "add", "Olga", "--role", "sales", env=env).returncode == 0
    refused(leadbot("admin", "add", "olga", "--role", "sales", env=env), "there already")
    refused(leadbot("admin", "add", "a/b", "--role", "sales", env=env), "is not a name")
    refused(leadbot("admin", "add", " ", "--role", "sales", env=env), "is not a name")
    refused(leadbot("admin", "add", "x" * 65, "--role", "sales", env=env), "is not a name")
    refused(leadbot("admin", "add", "admin token", "--role", "sales", env=env),
            "is not a name")
    refused(leadbot("admin", "add", "Taras", "--role", "boss", env=env), "invalid choice")
    refused(leadbot("admin", "add", "Taras", env=env), "--role")
    refused(leadbot("admin", env=env), "required")
    refused(leadbot("admin", "list", "extra", env=env), "unrecognized arguments")


def test_a_database_that_is_not_there_is_one_line(tmp_path):
    env = {"LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"}
    result = leadbot("admin", "list", env=env)
    no_traceback(result)
    assert result.returncode == 1 and result.stderr.startswith("leadbot admin: ")
