"""The fleet: N `leadbot run --webhook` processes on one database, each its own incarnation
of a slot. An incarnation is one start of a process: it talks to the fake Bot API by a URL
prefix of its own (`/i<number>`), so every call the fake records names the incarnation that
made it; killed -9 and started again, the slot gets a new incarnation (and a new port, which
the deliverer learns from `live()`). A process serves once its log says "webhook on
HOST:PORT" or its /readyz answers 200, whichever comes first."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.processes import LEADBOT, free_port, leadbot_environment

READY = re.compile(r"webhook on [\d.]+:(\d+)/telegram/webhook")
TICK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 120.0  # a loaded 2-core machine: imports and the bot's checks take a while


class PortTaken(Exception):
    """The port picked for a process was taken before it could listen."""


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Incarnation:
    number: int
    slot: int
    process: asyncio.subprocess.Process
    log: Path
    started: float
    ready: float | None = None
    port: int | None = None
    killed: float | None = None  # when SIGKILL was sent
    stopped: float | None = None  # when SIGTERM was sent (the end of the run)
    cpu: float = 0.0  # the last sample of its CPU seconds
    cpu_at_mark: float = 0.0  # at Fleet.mark(): CPU counted from there on

    @property
    def prefix(self) -> str:
        return f"i{self.number}"

    @property
    def alive(self) -> bool:
        return (self.ready is not None and self.killed is None and self.stopped is None
                and self.process.returncode is None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sample(self) -> None:
        seconds = cpu_seconds(self.process.pid)
        if seconds is not None and self.process.returncode is None:
            self.cpu = seconds

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Fleet:
    """`size` processes of `leadbot run --webhook` against `api_url` and `database_url`."""

    api_url: str
    token: str
    database_url: str
    folder: Path
    size: int = 3
    transport: str = "aiogram"
    secret: str = "fleet-webhook-secret"
    settings: dict[str, str] = field(default_factory=dict)  # more LEADBOT_ settings
    incarnations: list[Incarnation] = field(default_factory=list)
    slots: dict[int, Incarnation] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    _numbers: int = 0
    _marked: bool = False

    def environment(self, prefix: str) -> dict[str, str]:
        return leadbot_environment(
            LEADBOT_BOT_TOKEN=self.token, LEADBOT_TELEGRAM_API_URL=f"{self.api_url}/{prefix}",
            LEADBOT_DATABASE_URL=self.database_url, LEADBOT_TRANSPORT=self.transport,
            LEADBOT_TELEGRAM_WEBHOOK_URL="https://bot.example",
            LEADBOT_TELEGRAM_WEBHOOK_SECRET=self.secret, LEADBOT_LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1", **self.settings)

    async def start(self, slot: int) -> Incarnation:
        """A new incarnation in `slot` on a free port, once it serves: its log says "webhook
        on HOST:PORT", or /readyz answers 200 (the first that comes; a port someone took
        meanwhile: started again on another)."""
        for _ in range(3):
            try:
                return await self._start(slot, free_port())
            except PortTaken:
                continue
        raise RuntimeError(f"slot {slot}: no free port in three tries")

    async def _start(self, slot: int, port: int) -> Incarnation:
        self._numbers += 1  # taken before any await: starts run side by side
        number = self._numbers
        log = self.folder / f"slot{slot}-i{number}.log"
        environment = self.environment(f"i{number}") | {"LEADBOT_PORT": str(port)}
        with log.open("wb") as out:  # the child keeps its own descriptor
            process = await asyncio.create_subprocess_exec(
                LEADBOT, "run", "--webhook", env=environment, cwd=self.folder, stdout=out,
                stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
        incarnation = Incarnation(number, slot, process, log, time.monotonic(), port=port)
        self.incarnations.append(incarnation)
        self.slots[slot] = incarnation
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while not await self._ready(incarnation, http):
                if process.returncode is not None or time.monotonic() > deadline:
                    text = incarnation.tail()
                    if "cannot listen" in text:
                        raise PortTaken(port)
                    raise RuntimeError(f"leadbot (slot {slot}, incarnation {number}) did not "
                                       f"start (exit code {process.returncode}):\n{text}")
                await asyncio.sleep(0.1)
        incarnation.ready = time.monotonic()
        if self._marked:  # a restart: its start-up is not serving the crowd
            incarnation.sample()
            incarnation.cpu_at_mark = incarnation.cpu
        return incarnation

    @staticmethod
    async def _ready(incarnation: Incarnation, http: aiohttp.ClientSession) -> bool:
        found = READY.search(incarnation.log.read_text(errors="replace"))
        if found:
            incarnation.port = int(found[1])
            return True
        try:
            async with http.get(f"{incarnation.url}/readyz") as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def start_all(self) -> None:
        await asyncio.gather(*(self.start(slot) for slot in range(1, self.size + 1)))

    def live(self) -> list[Incarnation]:
        return [i for i in self.slots.values() if i.alive]

    def by_prefix(self) -> dict[str, Incarnation]:
        return {i.prefix: i for i in self.incarnations}

    def sample(self) -> None:
        for incarnation in self.incarnations:
            incarnation.sample()

    def mark(self) -> None:
        """From now on, CPU counts (the start-up's is not the crowd's)."""
        self.sample()
        self._marked = True
        for incarnation in self.incarnations:
            incarnation.cpu_at_mark = incarnation.cpu

    def cpu(self) -> float:
        """CPU seconds of every incarnation since mark() (a restart's: since it was ready;
        its start-up is the price of the kill, not of the updates)."""
        self.sample()
        return sum(i.cpu - i.cpu_at_mark for i in self.incarnations)

    async def kill(self, incarnation: Incarnation | None = None) -> Incarnation:
        """kill -9 of `incarnation` (a random live one if not given)."""
        incarnation = incarnation or self.rng.choice(self.live())
        incarnation.sample()
        incarnation.killed = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            incarnation.process.send_signal(signal.SIGKILL)
        await incarnation.process.wait()
        return incarnation

    async def restart(self, slot: int) -> Incarnation:
        return await self.start(slot)

    async def stop(self, timeout: float = 30.0) -> list[str]:
        """SIGTERM to every process still running; what went wrong at the stop, if anything
        (an exit code other than 0, a traceback in a log)."""
        running = [i for i in self.incarnations if i.process.returncode is None]
        for incarnation in running:
            incarnation.sample()
            incarnation.stopped = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                incarnation.process.send_signal(signal.SIGTERM)
        problems = []
        for incarnation in running:
            try:
                await asyncio.wait_for(incarnation.process.wait(), timeout)
            except TimeoutError:
                incarnation.process.send_signal(signal.SIGKILL)
                await incarnation.process.wait()
                problems.append(f"i{incarnation.number} did not stop within {timeout:.0f} s")
            if incarnation.process.returncode not in (0, None):
                problems.append(f"i{incarnation.number} exited {incarnation.process.returncode}"
                                f":\n{incarnation.tail()}")
        return problems

    def tracebacks(self) -> list[str]:
        """Incarnations whose log holds a traceback (a kill -9 leaves none)."""
        return [f"i{i.number}:\n{i.tail(30)}" for i in self.incarnations
                if "Traceback" in i.log.read_text(errors="replace")]


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving `database` (from /proc: the backend's
    command line names its database), for the share of CPU PostgreSQL takes."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        if command.startswith("postgres:") and f" {database} " in command:
            seconds = cpu_seconds(int(entry.name))
            if seconds is not None:
                found[int(entry.name)] = seconds
    return found


@dataclass
class PostgresMeter:
    """Sums the CPU of the database's backends between start() and the last sample(); a
    backend that exits between samples loses what it spent since the last one (sample
    often: every 0.5 s)."""

    database: str
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        self.first = postgres_cpu(self.database)
        self.last = dict(self.first)

    def sample(self) -> None:
        for pid, seconds in postgres_cpu(self.database).items():
            self.first.setdefault(pid, 0.0)  # a backend born since start: all of its CPU
            self.last[pid] = seconds

    def seconds(self) -> float:
        return sum(self.last[pid] - self.first.get(pid, 0.0) for pid in self.last)
