"""`leadbot run`'s first log line, read from the real process: the transport, the database
(its password hidden) and the flows, before the database or the transport is opened; a
malformed token refused before any of it, and no file made for it."""

from __future__ import annotations

import pytest

from bot.settings import TRANSPORTS
from dialogs.format.loader import load_flows
from storage.db.migrate import head_revision
from tests.bot.test_cli import leadbot, no_traceback
from tests.conftest import FLOWS_DIR

UNREACHABLE_API = "http://127.0.0.1:9"  # nothing listens: the start stops at getMe
# the shipped flows as the line names them: kitchen-quiz v1, renovation-calculator v1, ...
FLOWS = ", ".join(f"{flow_id} v{loaded.flow.version}"
                  for flow_id, loaded in sorted(load_flows([FLOWS_DIR]).items()))


def start(tmp_path, **env: str):
    return leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
                               "LEADBOT_TELEGRAM_API_URL": UNREACHABLE_API, **env})


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_first_log_line_names_the_transport_the_database_and_the_flows(
        tmp_path, transport):
    url = f"sqlite:///{tmp_path}/data/bot.db"
    result = start(tmp_path, LEADBOT_DATABASE_URL=url, LEADBOT_TRANSPORT=transport)
    assert result.returncode == 1
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    # before: 15 lines of alembic's, then "transport: aiogram (LEADBOT_TRANSPORT)"
    assert lines[0].endswith(f" INFO bot.app: starting: transport: {transport} "
                             f"(LEADBOT_TRANSPORT); database: {url}; flows: {FLOWS}")
    assert lines[1].endswith(" INFO bot.database: database migrated from nothing (a new "
                             f"database) to {head_revision()}")
    assert not any("alembic" in line or "Running upgrade" in line for line in lines)
    assert lines[-1].startswith(f"leadbot: cannot reach the Bot API at {UNREACHABLE_API}")
    again = start(tmp_path, LEADBOT_DATABASE_URL=url, LEADBOT_TRANSPORT=transport)
    assert "migrated" not in again.stderr  # at its revision already: nothing to say


def test_the_first_log_line_hides_the_database_password(tmp_path):
    url = "postgresql://leadbot:s3cret-pass@127.0.0.1:9/leads"
    result = start(tmp_path, LEADBOT_DATABASE_URL=url)
    assert result.returncode == 1
    first, *rest = result.stderr.strip().splitlines()
    # an address is no personal data: the log filter leaves the settings' line as it is
    assert "database: postgresql://leadbot:***@127.0.0.1:9/leads;" in first
    assert rest == ["leadbot: cannot open the database postgresql://leadbot:***@127.0.0.1:9/"
                    "leads: " + rest[0].split("/leads: ", 1)[1]]
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize("token", ["abc", "123:", "123:a b", ":abc"])
def test_a_malformed_token_is_refused_before_a_database_file_is_made(tmp_path, token):
    result = start(tmp_path, LEADBOT_BOT_TOKEN=token,
                   LEADBOT_DATABASE_URL=f"sqlite:///{tmp_path}/data/bot.db")
    assert result.returncode == 1
    assert result.stderr.strip() == (  # one line, nothing logged before it
        "leadbot: LEADBOT_BOT_TOKEN is malformed: it looks like 123456789:AAE... (digits, a "
        "colon, then letters)")
    assert not (tmp_path / "data").exists()  # before: a migrated database, then the refusal


def test_a_database_url_that_is_not_one_is_refused_before_the_first_line(tmp_path):
    result = start(tmp_path, LEADBOT_DATABASE_URL="mysql://x/y")
    assert result.returncode == 1
    assert result.stderr.strip() == ("leadbot: LEADBOT_DATABASE_URL: unsupported database "
                                     "'mysql': use sqlite or postgresql")


def test_webhook_mode_without_its_url_is_refused_before_a_database_is_made(tmp_path):
    result = leadbot("run", "--webhook", env={
        "LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
        "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/data/bot.db"})
    assert result.returncode == 1
    assert result.stderr.strip() == ("leadbot: LEADBOT_TELEGRAM_WEBHOOK_URL is not set (the "
                                     "public https URL of this bot)")
    assert not (tmp_path / "data").exists()  # before: created and migrated, then refused
