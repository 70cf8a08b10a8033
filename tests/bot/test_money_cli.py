"""`leadbot spend import|list` and `leadbot report --money` as the operator runs them: the
real command on a real database (SQLite and PostgreSQL) holding
tests/storage/money_history.py."""

from __future__ import annotations

import csv
import io
import json

import pytest

from storage.db.engine import sessionmaker
from storage.reports.money import money
from tests.bot.test_cli import no_traceback
from tests.bot.test_report_cli import run
from tests.databases import database_url, fresh_engine
from tests.storage.money_history import SINCE, UNTIL, ZONE, build

PERIOD_ARGS = ("--since", SINCE.isoformat(), "--until", UNTIL.isoformat())


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    engine = await fresh_engine(request.param, tmp_path)
    async with sessionmaker(engine)() as session, session.begin():
        await build(session)
    env = {"LEADBOT_DATABASE_URL": await database_url(request.param, tmp_path),
           "LEADBOT_TIMEZONE": ZONE, "LEADBOT_CURRENCY": "RUB"}
    yield engine, env
    await engine.dispose()


async def test_money_table(db):
    _, env = db
    result = run(env, "report", "--money", *PERIOD_ARGS)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("money per source: people who started 2026-11-01 .. 2026-11-10 "
                        "(Europe/Moscow), all flows; money in RUB")
    assert lines[1].split()[:3] == ["source", "spend", "RUB"]
    vk = next(line for line in lines if line.startswith("vk"))
    assert vk.split() == ["vk", "10,000.00", "3", "4", "2", "1", "1", "2", "(1", "no",
                          "amount)", "50,000.00", "5,000.00", "10,000.00", "5,000.00",
                          "400.0", "%", "3"]
    tg = next(line for line in lines if line.startswith("tg"))
    assert tg.split()[1:3] == ["no", "spend"] and tg.count("no spend") == 5
    ig = next(line for line in lines if line.startswith("ig"))
    assert ig.split() == ["ig", "500.00", "1", "2", "1", "0", "0", "0", "0.00", "500.00",
                          "—", "—", "-100.0", "%", "—"]
    assert "1 won lead(s) have no amount yet" in result.stdout
    # two totals: the paid sources' costs and ROMI; all sources without (blended)
    paid = next(line for line in lines if line.startswith("total paid sources"))
    assert paid.split()[3:6] == ["10,600.00", "4", "6"] and paid.split()[-3:] == ["371.7", "%", "3"]
    every = next(line for line in lines if line.startswith("total all sources"))
    assert every.split()[3:6] == ["10,600.00", "4", "8"] and "%" not in every
    assert "costs and ROMI of the totals: over the paid sources" in result.stdout


async def test_money_json_is_the_report_function_and_csv_has_decimals(db):
    engine, env = db
    result = run(env, "report", "--money", *PERIOD_ARGS, "--by", "campaign", "--format",
                 "json")
    assert result.returncode == 0, result.stderr
    from storage.reports.money import MoneyQuery

    async with sessionmaker(engine)() as session:
        expected = await money(session, MoneyQuery(SINCE, UNTIL, ZONE, "campaign"))
    assert json.loads(result.stdout) == expected
    raw = run(env, "report", "--money", *PERIOD_ARGS, "--format", "csv", binary=True)
    assert raw.returncode == 0
    rows = list(csv.DictReader(io.StringIO(raw.stdout.decode("utf-8-sig"))))
    vk = next(r for r in rows if r["source"] == "vk")
    assert (vk["spend"], vk["revenue"], vk["cost_per_lead"], vk["romi"]) == (
        "10000.00", "50000.00", "5000.00", "400.0")
    tg = next(r for r in rows if r["source"] == "tg")
    assert (tg["spend"], tg["cost_per_lead"]) == ("", "")
    assert [r["source"] for r in rows[-2:]] == ["total paid sources", "total"]
    assert rows[-1]["romi"] == "" and rows[-2]["romi"] == "371.7"


async def test_money_of_one_flow_says_why_no_costs(db):
    _, env = db
    result = run(env, "report", "--money", "--flow", "quiz", *PERIOD_ARGS)
    assert result.returncode == 0, result.stderr
    assert "--flow quiz: a flow's share of a source's spend is not known" in result.stdout
    assert "%" not in result.stdout.split("\n", 2)[2]  # no ROMI


async def test_spend_import_then_list_and_reimport(db, tmp_path):
    _, env = db
    path = tmp_path / "spend.csv"
    path.write_bytes("\ufeffdate;source;campaign;amount\n2026-12;vk;;30 000,00\n"
                     "2026-12-02;ig;весна;1234,5\n".encode())
    first = run(env, "spend", "import", str(path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "imported 2 row(s) of spend from spend.csv: 2026-12-01 .. 2026-12-31 (31 days)",
        "  ig: 1,234.50 RUB", "  vk: 30,000.00 RUB", "  total: 31,234.50 RUB",
        "replaced nothing (no spend was stored for them)"]
    again = run(env, "spend", "import", str(path))
    assert again.stdout.splitlines()[-1] == ("replaced 2 stored row(s) of the same sources "
                                             "and campaigns in those days (31,234.50 RUB)")
    listed = run(env, "spend", "list", "--since", "2026-12-01", "--format", "json")
    assert [(r["source"], r["campaign"], r["amount"]) for r in json.loads(listed.stdout)] == [
        ("vk", None, 3_000_000), ("ig", "весна", 123_450)]
    table = run(env, "spend", "list")
    assert "30,000.00 RUB" in table.stdout and "6 row(s)" in table.stdout


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_spend_import_refusals(db, tmp_path):
    _, env = db
    path = tmp_path / "bad.csv"
    path.write_bytes(b"date,source,amount,currency\n2026-12-01,vk,100,USD\n"
                     b"2026-12-02,vk,-5,\n2026-12-03,vk,lots,\n")
    result = run(env, "spend", "import", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "leadbot spend import: bad.csv: row 2: currency USD: this installation counts in "
        "RUB (LEADBOT_CURRENCY); convert the amount first",
        "leadbot spend import: bad.csv: row 3: '-5' is negative: spend is 0 or more",
        "leadbot spend import: bad.csv: row 4: 'lots' is not an amount: write e.g. 1234.50 "
        "or 1 234,50",
        "leadbot spend import: nothing was imported"]
    listed = run(env, "spend", "list", "--since", "2026-12-01")
    assert listed.stdout == "no spend stored in that period\n"
    missing = run(env, "spend", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    month = tmp_path / "month.csv"
    month.write_bytes(b"date,source,amount\n2026-11-05,vk,1\n")
    split = run(env, "spend", "import", str(month))
    assert split.returncode == 1 and ("vk: spend stored for 2026-11-01..2026-11-30 is only "
                                      "partly among the days given") in split.stderr
    for result in (missing, split):
        no_traceback(result)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_a_csv_the_csv_module_cannot_read_is_one_line(db, tmp_path):
    """A cell over the csv module's 128 KB limit printed a traceback (_csv.Error); CR-only
    line ends (old Mac exporters) did too, and are read now."""
    _, env = db
    path = tmp_path / "huge.csv"
    path.write_bytes(b"date,source,amount\n2026-12-01,vk,\"" + b"1" * 200_000 + b"\"\n")
    result = run(env, "spend", "import", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "leadbot spend import: huge.csv: the file cannot be read as CSV near line 2: a cell "
        "is longer than 131,072 characters", "leadbot spend import: nothing was imported"]
    no_traceback(result)
    path = tmp_path / "mac.csv"
    path.write_bytes(b"date,source,amount\r2026-12-01,vk,1\r2026-12-02,vk,2\r")
    result = run(env, "spend", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "imported 2 row(s)" in result.stdout


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("args", "message"), [
    (("report", "--money", "--by", "language"), "cannot group money by 'language': use one "
                                                "of source, campaign, day"),
    (("report", "--money", "--source", "vk"), "--source does not go with --money"),
    (("report", "--money", "--by", ""), "cannot group money by '': use one of source, "
                                        "campaign, day"),
    (("report", "--money", "--flow", "nope"), "no flow 'nope' in the database"),
    (("report", "--money", "--since", "2026-11-05", "--until", "2026-11-01"),
     "--until 2026-11-01 is before --since 2026-11-05"),
    (("report", "--money", "--by", "day", "--since", "2020-01-01", "--until", "2026-01-01"),
     "--by day over more than 400 days"),
    (("spend", "list", "--since", "2026-11-05", "--until", "2026-11-01"),
     "--until 2026-11-01 is before --since 2026-11-05"),
    (("spend", "import"), "the following arguments are required: FILE.csv"),
])
async def test_bad_arguments(db, args, message):
    _, env = db
    result = run(env, *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    no_traceback(result)
