"""`leadbot run` started several times at once, as real processes. On one brand-new
PostgreSQL database three webhook processes all come up (before the start-up lock, two of
three died of `duplicate key value violates unique constraint "pg_type_typname_nsp_index"`):
one migrates, the others wait and find it at head. On one SQLite file a second process is
refused in one line while the first keeps answering; a kill -9 leaves no lock behind."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

import aiohttp
import asyncpg
import pytest

from dialogs.format.loader import load_flows
from storage.db.migrate import head_revision
from tests.conftest import FLOWS_DIR
from tests.e2e.test_kill import said, update
from tests.processes import LEADBOT, leadbot_environment
from tests.storage.test_startup_lock import brand_new_database

START = 180  # seconds a process may take to come up on a loaded 2-core machine
WEBHOOK_LINE = re.compile(r"INFO bot\.app: webhook on 127\.0\.0\.1:(\d+)/telegram/webhook")


@dataclass
class Process:
    """A `leadbot` process and every line it wrote (stdout and stderr), read as it runs."""
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task | None = None

    @classmethod
    async def start(cls, *args: str, **settings: str) -> Process:
        process = await asyncio.create_subprocess_exec(
            LEADBOT, *args, env=leadbot_environment(**settings),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        started = cls(process)
        started.reader = asyncio.create_task(started._read())
        return started

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    async def line(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first line matching `pattern`; fails if the process ends without one."""
        async def found() -> re.Match[str]:
            while True:
                for line in self.lines:
                    if match := pattern.search(line):
                        return match
                if self.reader is not None and self.reader.done():
                    await self.process.wait()
                    pytest.fail(f"leadbot ended ({self.process.returncode}) without "
                                f"{pattern.pattern!r}:\n{self.text[-3000:]}")
                await asyncio.sleep(0.1)
        return await asyncio.wait_for(found(), START)

    async def ended(self, timeout: float = START) -> int:
        await asyncio.wait_for(self.process.wait(), timeout)
        if self.reader is not None:
            await self.reader
        return self.process.returncode

    async def stop(self, how: int = signal.SIGTERM) -> int:
        if self.process.returncode is None:
            self.process.send_signal(how)
        return await self.ended()


@contextlib.asynccontextmanager
async def running(*starting: Awaitable[Process]) -> AsyncIterator[list[Process]]:
    """Processes started together; whatever is left of them killed at the end."""
    processes = list(await asyncio.gather(*starting))
    try:
        yield processes
    finally:
        for process in processes:
            if process.process.returncode is None:
                process.process.kill()
                await process.ended()


async def ready(port: int) -> int:
    async with (aiohttp.ClientSession() as client,
                client.get(f"http://127.0.0.1:{port}/readyz") as response):
        return response.status


@pytest.mark.parametrize("telegram", ["aiogram"], indirect=True)  # the transport starts after
async def test_three_webhook_processes_started_at_once_on_a_new_database_all_come_up(
        telegram):  # the database: one is enough
    async with brand_new_database("processes") as url:
        settings = dict(LEADBOT_BOT_TOKEN=telegram.token, LEADBOT_TELEGRAM_API_URL=telegram.url,
                        LEADBOT_DATABASE_URL=url, LEADBOT_TRANSPORT=telegram.transport,
                        LEADBOT_TELEGRAM_WEBHOOK_URL="https://bot.example",
                        LEADBOT_LOG_LEVEL="INFO")
        async with running(*(Process.start("run", "--webhook", **settings)
                             for _ in range(3))) as processes:
            ports = [int((await process.line(WEBHOOK_LINE))[1]) for process in processes]
            assert [await ready(port) for port in ports] == [200, 200, 200]
            # one migrated and said so; the others found it migrated and said nothing of it
            migrated = [line for process in processes for line in process.lines
                        if "migrated" in line]
            assert len(migrated) == 1, migrated
            assert migrated[0].endswith(" INFO bot.database: database migrated from nothing "
                                        f"(a new database) to {head_revision()}")
            assert [await process.stop() for process in processes] == [0, 0, 0], \
                "\n\n".join(process.text[-2000:] for process in processes)
        connection = await asyncpg.connect(url.replace("postgresql://", "postgres://"))
        try:
            revision = await connection.fetchval("SELECT version_num FROM alembic_version")
            versions = await connection.fetch("SELECT flow_id, version FROM flow_versions")
        finally:
            await connection.close()
    assert revision == head_revision()
    shipped = sorted((flow_id, loaded.flow.version)
                     for flow_id, loaded in load_flows([FLOWS_DIR]).items())
    assert sorted(tuple(row) for row in versions) == shipped  # each once


def on_sqlite(telegram, database) -> dict[str, str]:
    return dict(LEADBOT_BOT_TOKEN=telegram.token, LEADBOT_TELEGRAM_API_URL=telegram.url,
                LEADBOT_DATABASE_URL=f"sqlite:///{database}", LEADBOT_LOG_LEVEL="WARNING",
                LEADBOT_TRANSPORT=telegram.transport)


def refusal(database, pid: int) -> str:
    return (f"leadbot: the SQLite file {database} is in use by another leadbot process (pid "
            f"{pid}): SQLite serves one process; stop that one first, or run several on "
            "PostgreSQL")


@pytest.mark.parametrize("telegram", ["aiogram"], indirect=True)  # before any transport
async def test_a_second_process_on_one_sqlite_file_is_refused_while_the_first_answers(
        telegram, tmp_path):
    database = tmp_path / "bot.db"
    settings = on_sqlite(telegram, database)
    first = await Process.start("run", **settings)
    try:
        telegram.push(update("start"))
        await said(telegram, "Hello! This is Oak & Stone")  # up, and holding the file

        second = await Process.start("run", **settings)
        assert await second.ended() == 1
        assert second.text.strip() == refusal(database, first.process.pid)  # one line
        upgrade = await Process.start("db", "upgrade", **settings)  # would migrate under it
        assert await upgrade.ended() == 1
        assert upgrade.text.strip() == refusal(database, first.process.pid)
        for reading in (("report", "--flow", "kitchen-quiz"), ("export", "leads")):
            reader = await Process.start(*reading, **settings)  # reading is never refused
            assert await reader.ended() == 0, reader.text

        telegram.push(update("tap", data="kitchen-quiz:1:intro:~go"))
        await said(telegram, "Where will the kitchen be installed?")  # the first answers
        assert first.process.returncode is None
    finally:
        assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    # the kernel dropped the lock with the process: no stale lock blocks a restart
    again = await Process.start("run", **settings)
    try:
        telegram.push(update("tap", data="kitchen-quiz:1:location:city"))
        await said(telegram, "What layout do you have in mind?")
    finally:
        assert await again.stop() == 0, again.text
    upgrade = await Process.start("db", "upgrade", **settings)  # the bot stopped: allowed
    assert await upgrade.ended() == 0, upgrade.text
    assert upgrade.text.strip() == f"database at revision {head_revision()}"
