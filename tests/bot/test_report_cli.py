"""`leadbot report` and `leadbot export leads` as the operator runs them: the real command
on a real database holding tests/storage/funnel_history.py."""

from __future__ import annotations

import csv
import getpass
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db.engine import sessionmaker
from storage.privacy import erasure as privacy
from storage.reports.funnel import funnel
from storage.schema.tables import Event
from storage.work.uow import UnitOfWork
from tests.bot.test_cli import LEADBOT, no_traceback
from tests.databases import database_url, fresh_engine
from tests.storage.funnel_history import PERIOD, PHONE, build

PERIOD_ARGS = ("--since", "2026-11-02", "--until", "2026-11-03")


def run(env: dict, *args: str, binary: bool = False):
    import os
    import subprocess

    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
    environment.update(env)
    return subprocess.run([LEADBOT, *args], capture_output=True, text=not binary,
                          timeout=120, env=environment)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    """The history in a database, and the environment that points `leadbot` at it."""
    engine = await fresh_engine(request.param, tmp_path)
    async with UnitOfWork(sessionmaker(engine)) as uow:
        await build(uow)
        await uow.commit()
    env = {"LEADBOT_DATABASE_URL": await database_url(request.param, tmp_path),
           "LEADBOT_TIMEZONE": "Europe/Moscow"}
    yield engine, env
    await engine.dispose()


async def test_report_json_is_the_funnel_function(db):
    engine, env = db
    result = run(env, "report", "--flow", "quiz", *PERIOD_ARGS, "--format", "json")
    assert result.returncode == 0, result.stderr
    async with sessionmaker(engine)() as session:
        assert json.loads(result.stdout) == {**await funnel(session, PERIOD), "faq": []}
    assert json.loads(result.stdout)["groups"][0]["started"] == 4


async def test_report_table_and_csv(db):
    _, env = db
    table = run(env, "report", "--flow", "quiz", *PERIOD_ARGS, "--by", "source")
    assert table.returncode == 0, table.stderr
    assert "version 1 · source: ig · started: 2" in table.stdout
    assert "version 1 · source: vk · started: 1" in table.stdout
    lines = table.stdout.splitlines()
    q2 = next(line for line in lines if line.startswith("q2"))
    assert q2.split() == ["q2", "single_choice", "2", "1", "0.0", "%"]
    claim = next(line for line in lines if line.startswith("time to claim"))
    assert claim.split()[-5:] == ["60", "s", "/", "60", "s"]  # ig: u1's hand-off
    raw = run(env, "report", "--flow", "quiz", *PERIOD_ARGS, "--format", "csv", binary=True)
    assert raw.returncode == 0
    assert raw.stdout.startswith(b"\xef\xbb\xbfflow,version,group,metric,step,value\r\n")
    rows = list(csv.reader(io.StringIO(raw.stdout.decode("utf-8-sig"))))
    assert ["quiz", "1", "", "started", "", "4"] in rows
    assert ["quiz", "1", "", "drop_off_pct", "consent", "25.0"] in rows
    assert ["quiz", "1", "", "time_to_claim_p90_s", "", "168.0"] in rows


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("args", "message"), [
    (("--flow", "nope"), "no flow 'nope' in the database (flows: other, quiz)"),
    (("--flow", "quiz", "--since", "2026-11-31"), "'2026-11-31' is not a date"),
    (("--flow", "quiz", "--since", "2026-11-05", "--until", "2026-11-01"),
     "--until 2026-11-01 is before --since 2026-11-05"),
    (("--flow", "quiz", "--by", "colour"),
     "cannot group by 'colour': use one of source, version, variant, language, day"),
    (("--flow", "quiz", "--format", "xml"), "invalid choice: 'xml'"),
    (("--since", "2026-11-01",), "the following arguments are required: --flow"),
])
async def test_report_bad_arguments(db, args, message):
    _, env = db
    result = run(env, "report", *args)
    assert result.returncode == 2
    assert message in result.stderr
    no_traceback(result)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_report_bad_time_zone_and_database(db, tmp_path):
    _, env = db
    result = run({**env, "LEADBOT_TIMEZONE": "Mars/Olympus"}, "report", "--flow", "quiz")
    assert result.returncode != 0
    assert "Mars/Olympus" in result.stderr
    no_traceback(result)
    folder = tmp_path / "file"
    folder.write_text("")
    result = run({"LEADBOT_DATABASE_URL": f"sqlite:///{folder}/x.db"}, "report", "--flow", "q")
    assert result.returncode == 1 and "is a file" in result.stderr
    no_traceback(result)


async def export_events(engine) -> list[Event]:
    async with sessionmaker(engine)() as session:
        return list((await session.execute(select(Event).where(Event.kind == "export")))
                    .scalars())


async def test_export_without_contacts_has_none_and_records_nothing(db):
    engine, env = db
    result = run(env, "export", "leads", *PERIOD_ARGS, binary=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"\xef\xbb\xbflead_id,")
    text = result.stdout.decode("utf-8-sig")
    assert "phone" not in text and PHONE not in text and "Иван" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["temperature"] for r in rows] == ["hot", "cold", "hot"]
    assert rows[0]["answer: q1"] == "q1 answer" and rows[0]["variant"] == "—"
    assert rows[0]["minutes_to_claim"] == "1.0" and rows[0]["handoff_status"] == "won"
    assert rows[1]["answer: consent"] == "declined"
    assert await export_events(engine) == []
    empty = run(env, "export", "leads", "--since", "2025-01-01", "--until", "2025-01-31",
                binary=True)
    assert empty.returncode == 0
    assert empty.stdout.startswith(b"\xef\xbb\xbflead_id,") and empty.stdout.count(b"\r\n") == 1


async def test_export_with_contacts_for_excel_and_its_event(db):
    engine, env = db
    result = run(env, "export", "leads", *PERIOD_ARGS, "--with-contacts", binary=True)
    assert result.returncode == 0, result.stderr
    data = result.stdout
    assert data.startswith(b"\xef\xbb\xbf")  # Excel: UTF-8
    assert "Иван".encode() in data  # Cyrillic as UTF-8 bytes
    # phones as text formulas: Excel keeps the + and the leading zero
    assert b'"=""+79991234567"""' in data and b'"=""0501234567"""' in data
    assert b"\r\n" in data
    [event] = await export_events(engine)
    assert event.user_id == 0
    assert event.data["rows"] == 3 and event.data["with_contacts"] is True
    assert event.data["who"] == f"cli: {getpass.getuser()}"  # who exported, for the log
    assert PHONE not in json.dumps(event.data) and "Иван" not in json.dumps(event.data)


async def test_export_json_and_an_erased_lead(db):
    engine, env = db
    async with UnitOfWork(sessionmaker(engine)) as uow:
        await privacy.erase(uow, 1, now=datetime.now(UTC), reason="forget")
        await uow.commit()
    result = run(env, "export", "leads", *PERIOD_ARGS, "--with-contacts", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert PHONE not in result.stdout and "Иван" not in result.stdout
    assert rows[0]["erased"] is True and rows[0]["phone"] is None
    assert rows[2]["phone"] == "0501234567"  # u4's, not erased
    bad = run(env, "export", "leads", "--format", "xlsx")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    no_traceback(bad)
