"""`leadbot report --conversions` and `leadbot conversions test` as the operator runs them: the
real command on a real database (SQLite and PostgreSQL) holding
tests/storage/conversions_history.py; the platforms' probes against HTTP servers on
127.0.0.1."""

from __future__ import annotations

import csv
import io
import json

import pytest

from storage.db.engine import sessionmaker
from storage.reports.conversions import ConversionsQuery, conversions
from tests.bot.test_cli import no_traceback
from tests.bot.test_report_cli import run
from tests.databases import database_url, fresh_engine
from tests.storage.conversions_history import EXPECTED, SINCE, TOTAL, UNTIL, ZONE, build

PERIOD_ARGS = ("--since", SINCE.isoformat(), "--until", UNTIL.isoformat())


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    engine = await fresh_engine(request.param, tmp_path)
    async with sessionmaker(engine)() as session, session.begin():
        await build(session)
    env = {"LEADBOT_DATABASE_URL": await database_url(request.param, tmp_path),
           "LEADBOT_TIMEZONE": ZONE}
    yield engine, env
    await engine.dispose()


async def test_json_is_the_report_function(db):
    engine, env = db
    result = run(env, "report", "--conversions", *PERIOD_ARGS, "--format", "json")
    assert result.returncode == 0, result.stderr
    async with sessionmaker(engine)() as session:
        expected = await conversions(session, ConversionsQuery(SINCE, UNTIL, ZONE))
    assert json.loads(result.stdout) == expected
    assert expected["rows"] == EXPECTED and expected["total"] == TOTAL


async def test_the_table_and_csv(db):
    _, env = db
    result = run(env, "report", "--conversions", *PERIOD_ARGS)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("conversions to the ad platforms: moments reached 2026-11-01 .. "
                        "2026-11-10 (Europe/Moscow)")
    assert lines[1].split() == ["platform", "moment", "goal", "pending", "sent", "accepted",
                                "failed", "skipped", "skipped:", "why", "failed:", "why"]
    hot = next(line for line in lines if "leadbot_hot" in line)
    assert hot.split() == ["metrica", "hot", "leadbot_hot", "1", "1", "2", "0", "3",
                           "no_click", "2,", "no_consent", "1"]
    ga4 = next(line for line in lines if line.startswith("ga4"))
    assert ga4.split() == ["ga4", "hot", "qualify_lead", "0", "2", "0", "1", "1", "too_old",
                           "1", "ambiguous", "1"]
    assert lines[-1].split()[:6] == ["total", "2", "3", "5", "2", "5"]
    assert "webhook" not in result.stdout  # a CRM's rows are not conversions
    raw = run(env, "report", "--conversions", *PERIOD_ARGS, "--format", "csv", binary=True)
    assert raw.returncode == 0
    rows = list(csv.DictReader(io.StringIO(raw.stdout.decode("utf-8-sig"))))
    assert [(r["platform"], r["goal"]) for r in rows] == [
        *((e["platform"], e["goal"]) for e in EXPECTED), ("total", "")]
    assert rows[2]["failed"] == "1" and rows[2]["failed_by"] == "HTTP 400 1"


async def test_an_empty_period(db):
    _, env = db
    result = run(env, "report", "--conversions", "--since", "2026-12-01", "--until",
                 "2026-12-31")
    assert result.returncode == 0, result.stderr
    assert "no conversions in that period" in result.stdout


@pytest.mark.parametrize(("args", "said"), [
    (("--money",), "--conversions and --money are two tables: ask for one"),
    (("--flow", "quiz"), "--flow does not go with --conversions"),
    (("--source", "vk"), "--source does not go with --conversions"),
    (("--by", "day"), "--by does not go with --conversions"),
    (("--since", "2026-11-10", "--until", "2026-11-01"),
     "--until 2026-11-01 is before --since 2026-11-10"),
    (("--since", "1.11.2026"), "'1.11.2026' is not a date: write it as YYYY-MM-DD"),
    (("--format", "xml"), "argument --format: invalid choice: 'xml'"),
])
def test_bad_arguments(tmp_path, args, said):
    result = run({"LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"}, "report",
                 "--conversions", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert said in result.stderr
    assert result.stderr.startswith("usage: leadbot report")
    no_traceback(result)


def test_no_database(tmp_path):
    result = run({"LEADBOT_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"}, "report",
                 "--conversions")
    assert result.returncode == 1 and "there is no file" in result.stderr
    no_traceback(result)
