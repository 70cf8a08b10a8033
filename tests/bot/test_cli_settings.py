"""A bad setting is told in the operator's words, one line each: `leadbot: bad setting
LEADBOT_X: what is wrong`, never pydantic's "Value error, " or "Input should be"."""

from __future__ import annotations

import pytest

from tests.bot.test_cli import FLOWS_DIR, leadbot, no_traceback

FRAMEWORK = ("Value error", "Input should", "validation error", "pydantic")


@pytest.mark.parametrize(("env", "line"), [
    ({"LEADBOT_TRANSPORT": "bogus"},  # one of a few names
     "leadbot: bad setting LEADBOT_TRANSPORT: 'bogus': use one of aiogram, ptb"),
    ({"LEADBOT_LOG_LEVEL": "LOUD"},
     "leadbot: bad setting LEADBOT_LOG_LEVEL: LOUD: use one of DEBUG, INFO, WARNING, ERROR, "
     "CRITICAL"),
    ({"LEADBOT_PORT": "eighty"},  # a number
     "leadbot: bad setting LEADBOT_PORT: 'eighty' is not a whole number"),
    ({"LEADBOT_PORT": "70000"}, "leadbot: bad setting LEADBOT_PORT: must be at most 65535, "
                                "not 70000"),
    ({"LEADBOT_CURRENCY": "rub"},  # an ISO 4217 code, not pydantic's "should match pattern"
     "leadbot: bad setting LEADBOT_CURRENCY: write the currency's ISO 4217 code in capitals: "
     "RUB, UAH, EUR, USD"),
    ({"LEADBOT_RETENTION_DAYS": "0"},
     "leadbot: bad setting LEADBOT_RETENTION_DAYS: must be at least 1, not 0"),
    ({"LEADBOT_CRM_ALERT_HOURS": "soon"},
     "leadbot: bad setting LEADBOT_CRM_ALERT_HOURS: 'soon' is not a number"),
    ({"LEADBOT_MANAGER_IDS": "111,abc"},
     "leadbot: bad setting LEADBOT_MANAGER_IDS: 'abc' is not a whole number"),
    ({"LEADBOT_TELEGRAM_API_URL": "api.telegram.org"},  # a URL
     "leadbot: bad setting LEADBOT_TELEGRAM_API_URL: 'api.telegram.org' is not an http(s) "
     "URL (the default: https://api.telegram.org)"),
    ({"LEADBOT_SLA_MINUTES": "hot"},  # the validators' own words
     "leadbot: bad setting LEADBOT_SLA_MINUTES: write it like hot=5,warm=30,cold=120"),
    ({"LEADBOT_HANDOFF_ALSO": "lukewarm"},
     "leadbot: bad setting LEADBOT_HANDOFF_ALSO: lukewarm: temperatures are hot, warm, cold"),
    ({"LEADBOT_QUIET_HOURS": "at night"}, "leadbot: bad setting LEADBOT_QUIET_HOURS: "),
    # a period past any date: inf started, then the follow-ups job failed every 5 s
    ({"LEADBOT_NURTURE_STALE_HOURS": "inf"},
     "leadbot: bad setting LEADBOT_NURTURE_STALE_HOURS: 'inf' is not a finite number"),
    ({"LEADBOT_NURTURE_STALE_HOURS": "nan"},
     "leadbot: bad setting LEADBOT_NURTURE_STALE_HOURS: 'nan' is not a finite number"),
    ({"LEADBOT_NURTURE_STALE_HOURS": "1e300"},
     "leadbot: bad setting LEADBOT_NURTURE_STALE_HOURS: must be at most 8760, not 1e300"),
    ({"LEADBOT_NURTURE_STALE_HOURS": "-1"},
     "leadbot: bad setting LEADBOT_NURTURE_STALE_HOURS: must be at least 0, not -1"),
    ({"LEADBOT_RETENTION_DAYS": "10000000000"},
     "leadbot: bad setting LEADBOT_RETENTION_DAYS: must be at most 36500, not 10000000000"),
    ({"LEADBOT_PRUNE_AFTER_DAYS": "10000000000"},
     "leadbot: bad setting LEADBOT_PRUNE_AFTER_DAYS: must be at most 36500, not 10000000000"),
    ({"LEADBOT_SLA_MINUTES": "hot=10000000000000"},
     "leadbot: bad setting LEADBOT_SLA_MINUTES: hot=10000000000000: temperatures are hot, "
     "warm, cold; minutes from 1 to 52560000"),
    ({"LEADBOT_BROADCAST_RATE": "0"},  # a share of the bot's 30 messages a second
     "leadbot: bad setting LEADBOT_BROADCAST_RATE: must be more than 0, not 0"),
    ({"LEADBOT_BROADCAST_RATE": "31"},
     "leadbot: bad setting LEADBOT_BROADCAST_RATE: must be at most 30, not 31"),
    ({"LEADBOT_NURTURE_TIMEZONE": "Mars/Base"},
     "leadbot: bad setting LEADBOT_NURTURE_TIMEZONE: unknown time zone 'Mars/Base' (like "
     "Europe/Moscow)"),
])
def test_a_bad_setting_in_the_operators_words(command, env, line):
    code, out, err = command("report", "--flow", "quiz", env=env)
    assert code == 2 and out == ""
    assert err.startswith(line), err  # before: "bad setting: LEADBOT_X: Value error, ..."
    assert len(err.strip().splitlines()) == 1
    assert not any(word in err for word in FRAMEWORK), err


def test_every_bad_setting_gets_its_line(command):
    code, _, err = command("lint", env={"LEADBOT_TRANSPORT": "x", "LEADBOT_PORT": "y"})
    assert code == 2
    assert sorted(err.strip().splitlines()) == [
        "leadbot: bad setting LEADBOT_PORT: 'y' is not a whole number",
        "leadbot: bad setting LEADBOT_TRANSPORT: 'x': use one of aiogram, ptb"]


def test_a_bot_api_url_that_is_not_one_is_refused_before_the_token_is_shown(tmp_path):
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:the-secret-part",
                                 "LEADBOT_TELEGRAM_API_URL": "bogus", "LEADBOT_PORT": "0",
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 2
    assert "LEADBOT_TELEGRAM_API_URL: 'bogus' is not an http(s) URL" in result.stderr
    assert "the-secret-part" not in result.stderr  # before: bogus/bot123:the-secret-part/getMe
    assert not (tmp_path / "bot.db").exists()
    no_traceback(result)


def test_routing_file_errors_are_in_the_validators_words(tmp_path):
    routing = tmp_path / "routing.yaml"
    routing.write_text("routes: [{name: x}]\n")
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
                                 "LEADBOT_MANAGERS_CHAT_ID": "-1001",
                                 "LEADBOT_ROUTING_FILE": str(routing),
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 1
    assert "routes.0: a route needs chat_id" in result.stderr, result.stderr
    assert not any(word in result.stderr for word in FRAMEWORK), result.stderr


def test_a_routing_file_not_in_utf8_is_one_line(tmp_path):
    """Before: a traceback (UnicodeDecodeError), where LEADBOT_CRM_FILE got one line."""
    routing = tmp_path / "routing.yaml"
    routing.write_bytes("routes: [{name: Москва, chat_id: -1002}]\n".encode("cp1251"))
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
                                 "LEADBOT_MANAGERS_CHAT_ID": "-1001",
                                 "LEADBOT_ROUTING_FILE": str(routing),
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 1
    assert f"{routing}: not UTF-8 text (save it as UTF-8)" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bot.db").exists()
    no_traceback(result)


def test_lint_says_a_validators_message_without_the_framework_prefix(command, tmp_path):
    broken = tmp_path / "renovation-calculator.yaml"
    text = (FLOWS_DIR / "renovation-calculator.yaml").read_text(encoding="utf-8")
    assert "    min: 10\n" in text
    broken.write_text(text.replace("    min: 10\n", "    min: 10000\n", 1), encoding="utf-8")
    code, out, _ = command("lint", "--no-scenarios", str(broken))
    assert code == 1
    assert "min (10000) is greater than max (1000)" in out
    assert "Value error" not in out  # before: "Value error, min (10000) is greater than..."


@pytest.mark.parametrize("args", [("simulate", "kitchen-quiz"), ("graph", "kitchen-quiz"),
                                  ("links", "--username", "demo_bot")], ids=" ".join)
def test_a_flows_folder_that_is_not_there_is_a_bad_setting(command, tmp_path, args):
    code, out, err = command(*args, env={"LEADBOT_FLOWS_DIR": str(tmp_path / "nope")})
    assert code == 2 and out == ""
    # before: "…/nope: cannot read: No such file or directory", as if a flow were broken
    assert err.strip() == f"leadbot: bad setting LEADBOT_FLOWS_DIR: there is no folder " \
                          f"{tmp_path / 'nope'}"


def test_run_without_its_flows_folder_says_so_not_that_a_flow_is_broken(tmp_path):
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
                                 "LEADBOT_FLOWS_DIR": str(tmp_path / "nope"),
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 1
    assert result.stderr.strip() == ("leadbot: bad setting LEADBOT_FLOWS_DIR: there is no "
                                     f"folder {tmp_path / 'nope'}")
    assert not (tmp_path / "bot.db").exists()


CRM = {"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
       "LEADBOT_WEBHOOK_URL": "https://crm.example/hook", "LEADBOT_WEBHOOK_SECRET": "s3cret"}


@pytest.mark.parametrize("hours", ["inf", "1e300"])
def test_run_with_a_crm_refuses_an_alert_no_clock_can_reach(tmp_path, hours):
    """Before: a traceback (OverflowError: timedelta) at start."""
    result = leadbot("run", env={**CRM, "LEADBOT_CRM_ALERT_HOURS": hours,
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (f"leadbot: bad setting LEADBOT_CRM_ALERT_HOURS: must be "
                                     f"at most 8760, not {hours}")
    assert not (tmp_path / "bot.db").exists()
    no_traceback(result)


def test_run_refuses_a_crm_file_that_is_not_utf8_in_one_line(tmp_path):
    """Before: a traceback (UnicodeDecodeError). Like a missing or broken mapping file (and
    LEADBOT_ROUTING_FILE, LEADBOT_FLOWS_DIR at `run`): one line, exit 1."""
    mapping = tmp_path / "crm.yaml"
    mapping.write_bytes("bitrix24:\n  source_id: ВЕБ\n".encode("cp1251"))
    result = leadbot("run", env={**CRM, "LEADBOT_CRM_FILE": str(mapping),
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == (f"leadbot: LEADBOT_CRM_FILE {mapping}: not UTF-8 text "
                                     f"(save it as UTF-8)")
    assert not (tmp_path / "bot.db").exists()
    no_traceback(result)
