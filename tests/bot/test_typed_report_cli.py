"""`leadbot report --unmatched` and the FAQ lines of `leadbot report --flow F`, run as the
operator runs them, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from dialogs.engine.actions import FaqHit, Unmatched
from storage.db.engine import sessionmaker
from storage.record import Recorder
from storage.work.uow import UnitOfWork
from tests.bot.test_report_cli import run
from tests.databases import database_url, fresh_engine
from tests.storage.broadcast_people import person


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request, tmp_path):
    engine = await fresh_engine(request.param, tmp_path)
    sessions = sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessions() as session:
        people = [await person(session, i, started_at=now) for i in (1, 2)]
        other = await person(session, 3, flow="other", started_at=now)
        await session.commit()
    said = [(people[0], [Unmatched("layout", "А доставка есть?", "ru"),
                        FaqHit("layout", "measuring"), FaqHit("size", "warranty")]),
            (people[1], [Unmatched("layout", "а доставка есть", "ru"),
                        Unmatched("size", "=cmd() who?", "en"), FaqHit("size", "measuring")]),
            (other, [Unmatched("ask", "what is this?", "en")])]
    for conversation, actions in said:
        async with UnitOfWork(sessions) as uow:
            await Recorder(uow, conversation, now, None).record(actions)
            await uow.commit()
    async with UnitOfWork(sessions) as uow:  # long ago: outside --days
        await Recorder(uow, other, now - timedelta(days=10), None).record(
            [Unmatched("ask", "old question?", "en")])
        await uow.commit()
    yield {"LEADBOT_DATABASE_URL": await database_url(request.param, tmp_path)}
    await engine.dispose()


async def test_unmatched_table_groups_the_same_text_most_frequent_first(db):
    result = run(db, "report", "--unmatched", "--flow", "kitchen-quiz")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("typed texts not understood in the last 30 days, kitchen-quiz")
    rows = [line.split(None, 5) for line in lines[3:]]
    assert rows == [["2", "2", "kitchen-quiz", "layout", "ru", "А доставка есть?"],
                    ["1", "1", "kitchen-quiz", "size", "en", "=cmd() who?"]]


async def test_unmatched_days_json_and_csv(db):
    recent = run(db, "report", "--unmatched", "--days", "5", "--format", "json")
    assert recent.returncode == 0, recent.stderr
    assert {g["text"]: g["count"] for g in json.loads(recent.stdout)} == {
        "А доставка есть?": 2, "=cmd() who?": 1, "what is this?": 1}
    longer = run(db, "report", "--unmatched", "--days", "11", "--format", "json")
    assert "old question?" in {g["text"] for g in json.loads(longer.stdout)}
    raw = run(db, "report", "--unmatched", "--format", "csv", binary=True)
    rows = list(csv.reader(io.StringIO(raw.stdout.decode("utf-8-sig"))))
    assert rows[0] == ["flow", "step", "count", "people", "languages", "text", "last"]
    assert "'=cmd() who?" in [row[5] for row in rows]  # no formula for Excel to run


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("args", "message"), [
    (("--days", "0"), "--days"), (("--flow", "nope"), "nope")])
async def test_unmatched_bad_arguments(db, args, message):
    result = run(db, "report", "--unmatched", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


async def test_report_prints_the_faq_answered_per_entry(db):
    today = datetime.now(UTC).date()
    period = ("--since", (today - timedelta(days=1)).isoformat(),
              "--until", (today + timedelta(days=1)).isoformat())
    table = run(db, "report", "--flow", "kitchen-quiz", *period)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[-3:] == [
        "FAQ answered (entry: times, people):", "  measuring: 2, 2", "  warranty: 1, 1"]
    data = json.loads(run(db, "report", "--flow", "kitchen-quiz", *period,
                          "--format", "json").stdout)
    assert data["faq"][0] == {"entry": "measuring", "hits": 2, "people": 2,
                              "steps": {"layout": 1, "size": 1}}
    raw = run(db, "report", "--flow", "kitchen-quiz", *period, "--format", "csv", binary=True)
    rows = list(csv.reader(io.StringIO(raw.stdout.decode("utf-8-sig"))))
    assert ["kitchen-quiz", "", "", "faq_hits", "warranty", "1"] in rows
