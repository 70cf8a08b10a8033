"""The `leadbot` command as an operator or a marketer runs it: a real process, real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FLOWS_DIR

LEADBOT = str(Path(sys.executable).with_name("leadbot"))


def leadbot(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update(env or {})
    return subprocess.run([LEADBOT, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env=environment)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stdout + result.stderr


def test_lint_accepts_the_shipped_flows():
    result = leadbot("lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: 4 flow file(s), 4 valid, 33 scenario(s) run, 0 problem(s)" in result.stdout


def test_lint_refuses_a_broken_next_naming_file_step_and_field(tmp_path):
    broken = tmp_path / "kitchen-quiz.yaml"
    text = (FLOWS_DIR / "kitchen-quiz.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("next: facades", "next: facade"), encoding="utf-8")
    line = next(i for i, row in enumerate(broken.read_text().splitlines(), 1)
                if "next: facade" in row)
    result = leadbot("lint", str(broken))
    assert result.returncode == 1
    assert (f"{broken}:{line}: step 'size', field 'next': unknown step 'facade'"
            in result.stdout)
    assert "unreachable" in result.stdout  # facades and what follows only it: all listed
    no_traceback(result)


def test_lint_with_a_crm_configured_refuses_a_consent_text_that_does_not_name_it(tmp_path):
    """The categories of recipient come from the settings (a CRM configured): a consent
    text without `{recipients}` (or the word CRM) is refused, naming the step and field."""
    shutil.copytree(FLOWS_DIR, tmp_path / "flows")
    flow = tmp_path / "flows" / "renovation-checklist.yaml"
    flow.write_text(flow.read_text(encoding="utf-8")
                    .replace("Our managers see them. {recipients} ", ""), encoding="utf-8")
    assert leadbot("lint", "--no-scenarios", str(flow)).returncode == 0  # no CRM: fine
    result = leadbot("lint", "--no-scenarios", str(flow),
                     env={"LEADBOT_AMOCRM_URL": "https://demo.amocrm.example",
                          "LEADBOT_AMOCRM_TOKEN": "t"})
    assert result.returncode == 1, result.stdout
    assert ("step 'consent', field 'text.en': the 'en' consent text must name who else "
            "receives the data: CRM") in result.stdout
    assert "text.ru" not in result.stdout  # the others say {recipients}
    no_traceback(result)
    assert leadbot("lint", "--no-scenarios", str(FLOWS_DIR), env={
        "LEADBOT_AMOCRM_URL": "https://demo.amocrm.example",
        "LEADBOT_AMOCRM_TOKEN": "t"}).returncode == 0  # the shipped flows name them


CONVERSIONS = """\
metrica: {counter: 12345678, goals: {hot: leadbot_hot}}
meta: {pixel: "1234567890", contacts: true, goals: {hot: QualifiedLead}}
"""


def test_lint_with_meta_given_contacts_refuses_a_consent_text_that_does_not_name_it(
        tmp_path):
    """Issue 29: the ad platforms of LEADBOT_CONVERSIONS_FILE are recipients ("advertising"),
    and Meta with `contacts: true` (hashed phone and email) must be named by name, with
    the file and line; a broken conversions file is said in one line, no traceback."""
    shutil.copytree(FLOWS_DIR, tmp_path / "flows")
    flow = tmp_path / "flows" / "renovation-checklist.yaml"
    flow.write_text(flow.read_text(encoding="utf-8").replace(
        "Our managers see them. {recipients} ", "Our managers and advertising see them. "),
        encoding="utf-8")
    line = next(i for i, row in enumerate(flow.read_text().splitlines(), 1)
                if row.strip().startswith("en:") and "advertising see them" in row)
    conversions = tmp_path / "conversions.yaml"
    conversions.write_text(CONVERSIONS.replace("contacts: true", "contacts: false"))
    env = {"LEADBOT_CONVERSIONS_FILE": str(conversions), "LEADBOT_METRICA_TOKEN": "t",
           "LEADBOT_META_TOKEN": "t"}
    result = leadbot("lint", "--no-scenarios", str(flow), env=env)
    assert result.returncode == 0, result.stdout  # no contacts: the category is enough
    conversions.write_text(CONVERSIONS)
    result = leadbot("lint", "--no-scenarios", str(flow), env=env)
    assert result.returncode == 1, result.stdout
    assert (f"{flow}:{line}: step 'consent', field 'text.en': the 'en' consent text must "
            "name by name who gets the phone and email (hashed): Meta") in result.stdout
    assert "text.ru" not in result.stdout  # the others say {recipients}
    no_traceback(result)
    assert leadbot("lint", "--no-scenarios", str(FLOWS_DIR), env=env
                   ).returncode == 0  # the shipped flows name them
    conversions.write_text("meta: {pixel: abc, goals: {hot: Lead}}\n")
    result = leadbot("lint", "--no-scenarios", str(flow), env=env)
    assert result.returncode == 2
    assert f"LEADBOT_CONVERSIONS_FILE {conversions}: meta.pixel" in result.stderr
    no_traceback(result)


def test_lint_refuses_a_goal_the_platform_refuses_and_needs_no_secret(tmp_path):
    """A goal GA4 reserves would stop `leadbot run`: lint says so in one line. The
    platforms' secrets are the start's business: a flow's CI holds none, and lint passes
    without them."""
    conversions = tmp_path / "conversions.yaml"
    conversions.write_text("ga4: {measurement_id: G-ABCD1234, goals: {hot: page_view}}\n")
    result = leadbot("lint", "--no-scenarios", str(FLOWS_DIR),
                     env={"LEADBOT_CONVERSIONS_FILE": str(conversions)})
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().count("\n") == 0
    assert "ga4.goals.hot: 'page_view': a name Google Analytics reserves" in result.stderr
    no_traceback(result)
    conversions.write_text(CONVERSIONS)  # Meta with contacts, no LEADBOT_META_TOKEN
    result = leadbot("lint", "--no-scenarios", str(FLOWS_DIR),
                     env={"LEADBOT_CONVERSIONS_FILE": str(conversions)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_runs_the_scenarios_next_to_a_flow(tmp_path):
    for name in ("kitchen-quiz.yaml", "kitchen-quiz.scenarios.yaml"):
        shutil.copy(FLOWS_DIR / name, tmp_path / name)
    scenarios = tmp_path / "kitchen-quiz.scenarios.yaml"
    scenarios.write_text(scenarios.read_text(encoding="utf-8").replace(
        "temperature: hot\n      outcome: handoff", "temperature: warm\n      outcome: handoff"),
        encoding="utf-8")
    result = leadbot("lint", str(tmp_path))
    assert result.returncode == 1
    assert "expected temperature 'warm', got 'hot'" in result.stdout
    assert leadbot("lint", "--no-scenarios", str(tmp_path)).returncode == 0


@pytest.mark.parametrize("args", [("lint", "/no/such/folder"), ("frobnicate",), ()])
def test_bad_arguments_get_a_clear_error(args):
    result = leadbot(*args)
    assert result.returncode == 2
    assert result.stderr.strip()
    no_traceback(result)


def test_flows_dir_from_the_environment(tmp_path):
    result = leadbot("lint", env={"LEADBOT_FLOWS_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "no flow files" in result.stderr


SCRIPTS = {  # (flow, outcome): the lines a marketer would type, buttons by number (#N where
    # the bot asks to type: the email's Skip)
    ("kitchen-quiz", "handoff"): "1 1 4 3 3 1 3 5 1 1 2 Ivan +79991234567",
    ("kitchen-quiz", "nurture"): "1 1 1 1 1 5 4 1 2 Ivan +79991234567",
    ("kitchen-quiz", "close"): "1 3",
    ("renovation-calculator", "handoff"): "1 2 64 2 1 5 1 1 1 2 Olena +380671234567 #1",
    ("renovation-calculator", "nurture"): "1 1 40 1 5 3 2",
    ("renovation-calculator", "close"): "1 4",
    ("renovation-checklist", "handoff"):
        "1 2 1 1 1 2 Olena olena@gmail.com /contact_380671234567",
    ("renovation-checklist", "nurture"): "1 1 3 3 1 2 Sam sam@proton.me Skip",
    ("renovation-checklist", "close"): "1 3",
}


@pytest.mark.parametrize(("flow", "outcome"), SCRIPTS, ids=lambda v: v)
def test_scripted_simulation_reaches_each_outcome(flow, outcome):
    lines = [word.replace("_", " ") for word in SCRIPTS[flow, outcome].split()]
    result = leadbot("simulate", flow, "--lang", "en", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert f"outcome: {outcome}" in result.stdout
    assert "— result —" in result.stdout


def test_simulation_that_ends_early_says_where_it_stopped():
    result = leadbot("simulate", "kitchen-quiz", stdin="1\n")
    assert result.returncode == 1
    assert "input ended at step 'location'" in result.stdout


def test_simulate_in_another_language_and_by_path():
    path = str(FLOWS_DIR / "renovation-checklist.yaml")
    result = leadbot("simulate", path, "--lang", "ru", stdin="1\n3\n")
    assert result.returncode == 0 and "Этот чек-лист для владельцев квартир" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("simulate", "no-such-flow"), "no flow 'no-such-flow'"),
    (("simulate", "kitchen-quiz", "--lang", "de"), "not 'de'"),
])
def test_simulate_refuses_what_it_cannot_run(args, message):
    result = leadbot(*args)
    assert result.returncode != 0 and message in result.stderr
    no_traceback(result)


def test_graph_prints_mermaid():
    result = leadbot("graph", "renovation-calculator")
    assert result.returncode == 0
    assert result.stdout.startswith("flowchart TD\n")
    assert "🧮 price" in result.stdout


@pytest.mark.parametrize(("env", "message"), [
    ({}, "LEADBOT_BOT_TOKEN is not set"),
    ({"LEADBOT_BOT_TOKEN": "not-a-token"}, "LEADBOT_BOT_TOKEN is malformed"),
    ({"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_TELEGRAM_API_URL": "http://127.0.0.1:9"},
     "cannot reach the Bot API at http://127.0.0.1:9"),
    ({"LEADBOT_BOT_TOKEN": "123:abc",
      "LEADBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none"},
     "cannot open the database postgresql://postgres@127.0.0.1:9/none"),
    ({"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_DATABASE_URL": "mysql://x/y"},
     "unsupported database 'mysql'"),
    ({"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_DEFAULT_FLOW": "nope"},
     "LEADBOT_DEFAULT_FLOW: no flow 'nope'"),
])
def test_run_refuses_to_start_with_one_clear_line(tmp_path, capsys, env, message):
    from bot.cli.run import run
    from bot.settings import Settings

    env.setdefault("LEADBOT_DATABASE_URL", f"sqlite:///{tmp_path}/bot.db")
    settings = Settings(**{key.removeprefix("LEADBOT_").lower(): value
                           for key, value in env.items()})
    assert run(settings) == 1  # in-process: the same path as the command, without its start-up
    assert message in capsys.readouterr().err


def test_run_refuses_a_broken_flow_naming_file_step_and_field(tmp_path):
    broken = tmp_path / "flows"
    broken.mkdir()
    text = (FLOWS_DIR / "kitchen-quiz.yaml").read_text(encoding="utf-8")
    (broken / "kitchen-quiz.yaml").write_text(text.replace("next: facades", "next: facade"),
                                              encoding="utf-8")
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_FLOWS_DIR": str(broken),
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 1
    assert "kitchen-quiz.yaml" in result.stderr
    assert "step 'size', field 'next': unknown step 'facade'" in result.stderr
    no_traceback(result)


@pytest.mark.parametrize(("env", "message"), [
    ({"LEADBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:port/x"},
     "leadbot: LEADBOT_DATABASE_URL: the port is not a number"),
    ({"LEADBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:99999/x"},
     "leadbot: LEADBOT_DATABASE_URL: port 99999 is not between 1 and 65535"),
    ({"LEADBOT_DATABASE_URL": "sqlite:////proc/leadbot/bot.db"},
     "leadbot: LEADBOT_DATABASE_URL: cannot create the folder /proc/leadbot for the SQLite "
     "file: No such file or directory"),
    ({"LEADBOT_DATABASE_URL": "sqlite:///{tmp}/file/bot.db"},
     "leadbot: LEADBOT_DATABASE_URL: {tmp}/file is a file, not a folder"),
    ({"LEADBOT_LOG_LEVEL": "LOUD"},
     "leadbot: bad setting LEADBOT_LOG_LEVEL: LOUD: use one of DEBUG, INFO, WARNING, ERROR, "
     "CRITICAL"),
    ({"LEADBOT_TRANSPORT": "telethon"},
     "leadbot: bad setting LEADBOT_TRANSPORT: 'telethon': use one of aiogram, ptb"),
])
def test_bad_database_and_log_settings_get_one_clear_line(tmp_path, env, message):
    (tmp_path / "file").write_text("not a folder")
    env = {key: value.format(tmp=tmp_path) for key, value in env.items()}
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_PORT": "0",
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", **env})
    assert result.returncode != 0  # before: a traceback each
    # a folder that cannot be made is found when the database is opened: after the first
    # log line (what is starting); a setting that is wrong in itself comes before it
    lines = [line for line in result.stderr.strip().splitlines()
             if " INFO bot.app: starting: " not in line]
    assert lines == [message.format(tmp=tmp_path)], result.stderr
    no_traceback(result)
    db = leadbot("db", "upgrade", env={"LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                                      **env})
    assert db.returncode != 0 and "Traceback" not in db.stderr, db.stderr


def test_the_log_level_may_be_written_in_lower_case():
    from bot.settings import Settings

    assert Settings(log_level="debug").log_level == "DEBUG"


def test_the_transport_is_aiogram_unless_told_and_may_be_written_in_any_case():
    from bot.settings import Settings

    assert Settings(_env_file=None).transport == "aiogram"
    assert Settings(transport=" PTB ").transport == "ptb"


def test_run_refuses_a_yaml_bomb_in_a_flow_at_once_naming_the_file(tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    rows = ["id: bomb", "version: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 12)]
    (flows / "bomb.yaml").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc", "LEADBOT_FLOWS_DIR": str(flows),
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert result.returncode == 1  # before: 3.4 GB in a minute, then the test's timeout
    assert f"{flows / 'bomb.yaml'}:1: not valid YAML: aliases expand to" in result.stderr
    no_traceback(result)


def test_links_print_a_deep_link_per_flow():
    result = leadbot("links", "--username", "@demo_bot", "--source", "qr_menu")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "kitchen-quiz: https://t.me/demo_bot?start=kitchen-quiz__qr_menu",
        "renovation-calculator: https://t.me/demo_bot?start=renovation-calculator__qr_menu",
        "renovation-checklist: https://t.me/demo_bot?start=renovation-checklist__qr_menu"]
    bad = leadbot("links", "--username", "demo_bot", "--source", "not ok!")
    assert bad.returncode == 2 and "A-Z a-z 0-9 _ -" in bad.stderr


def test_db_upgrade(tmp_path):
    result = leadbot("db", "upgrade", env={"LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    from storage.db.migrate import head_revision

    assert result.returncode == 0
    assert result.stdout.strip() == f"database at revision {head_revision()}"
    assert head_revision() >= "0009"  # the outbox's lead_id, TRUNCATE refused on consents


@pytest.mark.parametrize(("env", "message"), [
    ({"LEADBOT_SLA_MINUTES": "hot"}, "LEADBOT_SLA_MINUTES: write it like hot=5"),
    ({"LEADBOT_SLA_MINUTES": "tepid=3"}, "temperatures are hot, warm, cold"),
    ({"LEADBOT_HANDOFF_ALSO": "lukewarm"}, "LEADBOT_HANDOFF_ALSO: lukewarm"),
    ({"LEADBOT_MANAGER_IDS": "[1,"}, "LEADBOT_MANAGER_IDS: write it like 111,222"),
    ({"LEADBOT_MANAGERS_CHAT_ID": "-1001", "LEADBOT_WORKING_HOURS": "9 to 5"},
     "working hours '9 to 5': write them like 'mon-fri 09:00-19:00'"),
    ({"LEADBOT_MANAGERS_CHAT_ID": "-1001", "LEADBOT_TIMEZONE": "Mars/Base"},
     "unknown time zone 'Mars/Base'"),
    ({"LEADBOT_PII_KEY": "secret"}, "LEADBOT_PII_KEY is not a Fernet key"),
])
def test_bad_hand_off_and_privacy_settings_get_one_clear_line(tmp_path, env, message):
    result = leadbot("run", env={"LEADBOT_BOT_TOKEN": "123:abc",
                                 "LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", **env})
    assert result.returncode != 0 and message in result.stderr
    no_traceback(result)
    assert not (tmp_path / "bot.db").exists()  # told before any database was made
