"""`leadbot broadcast ...` as the marketer types it (bot/cli/broadcast.py), on a real SQLite
file: what it says to bad arguments (one line, exit 2; a file's every problem with its line,
exit 1; never a traceback), `send --at` then the job on a clock the test sets, and a wrong
move through the real command in a process of its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.jobs.broadcasts import BroadcastConfig, deliver
from storage.db.engine import create_engine, sessionmaker
from storage.work.uow import UnitOfWork
from tests.bot.test_cli import leadbot, no_traceback
from tests.databases import migrated_sqlite
from tests.storage.broadcast_people import person

GOOD = """\
name: winter-offer
segment:
  flows: [kitchen-quiz]
message:
  text: {ru: "Скидка 10 %", en: "10 % off"}
  fallback: en
"""
BAD = """\
name: winter-offer
segment:
  flows: [kitchen-quizz]
message:
  text: {ru: "Скидка {percent} %", en: "10 % off"}
  fallback: en
  buttons:
    - text: {en: "See"}
      url: https://example.com/a
    - text: {en: "Quiz"}
      flow: no-such-flow
"""


@pytest.fixture
def database(tmp_path) -> dict[str, str]:
    url = asyncio.run(migrated_sqlite(tmp_path / "bot.db"))
    return {"LEADBOT_DATABASE_URL": url}


@pytest.fixture
def draft(command, database, tmp_path) -> dict[str, str]:
    """winter-offer stored as a draft, one person in its segment."""
    async def someone() -> None:
        engine = create_engine(database["LEADBOT_DATABASE_URL"])
        async with sessionmaker(engine)() as session:
            await person(session, 1, language="en")
            await session.commit()
        await engine.dispose()

    asyncio.run(someone())
    (tmp_path / "offer.yaml").write_text(GOOD, encoding="utf-8")
    code, out, err = command("broadcast", "create", str(tmp_path / "offer.yaml"),
                             env=database)
    assert code == 0, err
    assert "draft winter-offer: 1 people would get it now" in out
    return database


def one_line(err: str, command: str) -> str:
    """The error: one line under the subcommand's usage, as every `leadbot` command says
    one (bot/cli/main.py)."""
    usage, line = err.strip().splitlines()
    assert usage.startswith(f"usage: leadbot broadcast {command} "), err
    assert line.startswith(f"leadbot broadcast {command}: error: "), err
    return line


def test_status_with_no_broadcast_yet(command, database):
    code, out, _ = command("broadcast", "status", env=database)
    assert code == 0
    assert "no broadcast yet: `leadbot broadcast create FILE.yaml`" in out


@pytest.mark.parametrize("args", [
    ("send", "nope"), ("pause", "nope"), ("resume", "nope"), ("cancel", "nope"),
    ("status", "nope"), ("preview", "nope", "--chat", "5")])
def test_an_unknown_name_is_one_line_exit_2(command, database, args):
    code, out, err = command("broadcast", *args, env=database)
    assert code == 2 and out == ""
    assert "no broadcast 'nope' (`leadbot broadcast status` lists them)" in one_line(err, args[0])


@pytest.mark.parametrize(("at", "said"), [
    ("tomorrow", "'tomorrow' is not a time like 2026-12-05T10:00"),
    ("2026-13-01T10:00", "is not a time"),
    ("2020-01-01T10:00", "2020-01-01T10:00 has passed"),
])
def test_a_bad_time_to_send_at_is_refused(command, draft, at, said):
    code, _, err = command("broadcast", "send", "winter-offer", "--at", at, env=draft)
    assert code == 2
    assert said in one_line(err, "send") and "argument --at" in err
    code, out, _ = command("broadcast", "status", env=draft)
    assert "draft" in out  # nothing moved


def test_a_missing_file_is_one_line_exit_2(command, database, tmp_path):
    code, _, err = command("broadcast", "create", str(tmp_path / "nope.yaml"), env=database)
    assert code == 2
    assert f"no such file: {tmp_path / 'nope.yaml'}" in one_line(err, "create")


def test_a_file_with_problems_prints_each_with_its_line_exit_1(command, database, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    code, out, err = command("broadcast", "create", str(path), env=database)
    assert code == 1
    said = out + err
    assert f"{path}:3:" in said and "kitchen-quizz" in said  # the unknown flow, its line
    assert f"{path}:5:" in said and "{percent}" in said  # an unknown placeholder
    assert f"{path}:11:" in said and "no-such-flow" in said  # a button's flow
    code, out, _ = command("broadcast", "status", env=database)
    assert "no broadcast yet" in out  # nothing stored


def test_send_at_a_time_to_come_starts_then_with_the_segment_of_then(command, draft):
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    code, out, err = command("broadcast", "send", "winter-offer", "--at",
                             at.strftime("%Y-%m-%dT%H:%M+00:00"), env=draft)
    assert code == 0, err
    assert f"winter-offer: scheduled for {at:%Y-%m-%d %H:%M} UTC" in out

    async def job(now: datetime, newcomer: int | None = None) -> tuple[int, str, int]:
        engine = create_engine(draft["LEADBOT_DATABASE_URL"])
        sessions = sessionmaker(engine)
        if newcomer is not None:
            async with sessions() as session:
                await person(session, newcomer, language="ru")
                await session.commit()
        queued, _ = await deliver(sessions, now, BroadcastConfig(quiet="off", weekly_cap=0))
        async with UnitOfWork(sessions) as uow:
            broadcast = await uow.broadcasts.get_by_name("winter-offer")
            found = (broadcast.status, broadcast.total)
        await engine.dispose()
        return queued, *found

    assert asyncio.run(job(at - timedelta(seconds=1), newcomer=2)) == (0, "scheduled", 0)
    assert asyncio.run(job(at)) == (2, "sending", 2)  # the one who came meanwhile too


def test_a_wrong_move_is_one_line_exit_2_from_the_real_command(command, draft):
    code, _, err = command("broadcast", "cancel", "winter-offer", env=draft)
    assert code == 2  # a draft is not cancelled: it is simply not sent
    assert "is draft: it cannot become cancelled" in one_line(err, "cancel")
    code, out, err = command("broadcast", "send", "winter-offer", env=draft)
    assert code == 0, err
    assert "winter-offer: sending to 1 people; nobody left out" in out
    assert command("broadcast", "cancel", "winter-offer", env=draft)[:2] == (
        0, "winter-offer: cancelled\n")
    result = leadbot("broadcast", "resume", "winter-offer", env=draft)
    no_traceback(result)
    assert result.returncode == 2
    assert ("broadcast 'winter-offer' is cancelled: only a paused one is resumed"
            in one_line(result.stderr, "resume"))
