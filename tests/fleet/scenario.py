"""One run: a fake Bot API, a database of its own, `processes` bot processes, the crowd and
the managers, kill -9 and restarts if asked, then the accounting (accounting.Report)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.outbox.limits import Limits
from tests.fakes.telegram import FakeTelegram
from tests.fleet.accounting import Report
from tests.fleet.crowd import GROUP, MANAGERS, Crowd, Managers, Watch
from tests.fleet.database import claims, pending_rows, scratch_database
from tests.fleet.deliverer import Deliverer
from tests.fleet.processes import Fleet, PostgresMeter


@dataclass
class Config:
    processes: int = 3
    transport: str = "aiogram"
    prospects: int = 12
    think: float = 1.0  # seconds a prospect reads before tapping (±20 %)
    arrival: float | None = None  # prospects begin within this many seconds (default: 2 steps)
    hot_every: int = 2  # every n-th prospect a hot lead (the group takes 20 messages a minute)
    kills: int = 0  # kill -9 this many times (a random live process), each restarted at once
    kill_every: float = 4.0  # seconds between kills (±30 %)
    patience: float = 60.0  # a reply not there within this is lost
    settle: float = 60.0  # after the crowd, at most this long for the outbox to empty
    seed: int = 22
    tag: str = "run"  # part of the database's name
    keep: Path | None = None  # the processes' logs go here (default: a temporary folder)
    blind: bool = False  # prospects tap without waiting for replies (Crowd.blind)
    settings: dict[str, str] = field(default_factory=dict)  # more LEADBOT_ settings
    # with the database made and migrated, before any process starts (a broadcast's seed)
    before: Callable[[str], Awaitable[Any]] | None = None
    # beside the crowd, from its start (fleet, database URL, fake): awaited once the crowd
    # is done, before the settling (a broadcast sent and waited for, tests/fleet/broadcast.py)
    during: Callable[[Fleet, str, FakeTelegram], Awaitable[Any]] | None = None


async def chaos(fleet: Fleet, config: Config, stop: asyncio.Event, rng: random.Random,
                restarts: list[asyncio.Task]) -> None:
    """kill -9 a random live process every few seconds (never the last one alive), and start
    its slot again at once (a new incarnation, a new port)."""
    done = 0
    while done < config.kills and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.kill_every * rng.uniform(0.7, 1.3))
        if stop.is_set():
            return
        if len(fleet.live()) < 2:
            continue
        victim = await fleet.kill()
        done += 1
        restarts.append(asyncio.create_task(fleet.restart(victim.slot)))


async def sampler(fleet: Fleet, postgres: PostgresMeter, stop: asyncio.Event) -> None:
    while not stop.is_set():
        fleet.sample()
        postgres.sample()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def settled(telegram: FakeTelegram, watch: Watch, url: str, limit: float) -> None:
    """Until the outbox has no pending row and the fake has heard nothing for 2 s (late
    duplicates show up in that time), or `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        quiet = time.monotonic() - max(watch.last_call, 0.0)
        if quiet > 2.0 and await pending_rows(url) == 0:
            return
        await asyncio.sleep(0.25)


async def run(config: Config) -> Report:
    rng = random.Random(config.seed)
    telegram = FakeTelegram(limits=Limits(), transport=config.transport,
                            refuse_repeated_answers=True)
    await telegram.start()
    folder = config.keep or Path(tempfile.mkdtemp(prefix="leadbot-fleet-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:  # the logs: kept only where asked (a failed start's tail is in the report)
        async with scratch_database(config.tag) as url:
            if config.before is not None:
                await config.before(url)
            fleet = Fleet(telegram.url, telegram.token, url, folder, config.processes,
                          config.transport, rng=random.Random(rng.random()), settings={
                              "LEADBOT_MANAGERS_CHAT_ID": str(GROUP),
                              "LEADBOT_MANAGER_IDS": ",".join(map(str, MANAGERS)),
                              "LEADBOT_MANAGERS_LANGUAGE": "en", **config.settings})
            try:
                report = await crowd_run(config, telegram, fleet, url, rng)
            finally:
                problems = await fleet.stop()
            report.problems += problems
            return report
    finally:
        await telegram.stop()
        if config.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


async def crowd_run(config: Config, telegram: FakeTelegram, fleet: Fleet, url: str,
                    rng: random.Random) -> Report:
    await fleet.start_all()
    problems: list[str] = []
    postgres = PostgresMeter(url.rsplit("/", 1)[1])
    async with Deliverer(fleet, rng=random.Random(rng.random())) as deliverer:
        watch = Watch(telegram)
        arrival = config.arrival if config.arrival is not None else 2 * config.think + 1
        crowd = Crowd(watch, deliverer, config.prospects, config.think, arrival,
                      config.hot_every, config.patience, random.Random(rng.random()),
                      blind=config.blind)
        managers = Managers(watch, deliverer, config.think, random.Random(rng.random()))
        stop, done = asyncio.Event(), asyncio.Event()
        restarts: list[asyncio.Task] = []
        fleet.mark()
        postgres.start()
        background = [asyncio.create_task(managers.run(done)),
                      asyncio.create_task(sampler(fleet, postgres, done)),
                      asyncio.create_task(chaos(fleet, config, stop, rng, restarts))]
        beside = (None if config.during is None
                  else asyncio.create_task(config.during(fleet, url, telegram)))
        begin, harness = time.monotonic(), time.process_time()
        try:
            await crowd.run()
            elapsed = time.monotonic() - begin
            postgres.sample()  # the CPU while the crowd ran: what bounds its pace
            while_crowd = (fleet.cpu(), postgres.seconds(), time.process_time() - harness)
            stop.set()
            await background[2]
            for outcome in await asyncio.gather(*restarts, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    problems.append(f"a restart failed: {outcome}")
            if beside is not None:
                await beside
            await settled(telegram, watch, url, config.settle)  # the cards among the rest
            await managers.finish()
            await settled(telegram, watch, url, config.settle)  # the claims' messages
        finally:
            done.set()
            stop.set()
            if beside is not None and not beside.done():
                beside.cancel()
            await asyncio.gather(*background, return_exceptions=True)
        postgres.sample()
        cpu, harness = fleet.cpu(), time.process_time() - harness
        measured = time.monotonic() - begin
        database = await claims(url)
        problems += [f"traceback in {t}" for t in fleet.tracebacks()]
    report = Report(config.processes, config.transport, crowd.people, list(telegram.calls),
                    fleet.incarnations, managers.claims, list(telegram.violations), database,
                    elapsed=elapsed, bot_cpu=cpu, postgres_cpu=postgres.seconds(),
                    updates=sum(1 for d in deliverer.deliveries if d.accepted_at is not None),
                    redelivered=deliverer.redelivered(), problems=problems,
                    deliveries=deliverer.deliveries, harness_cpu=harness,
                    measured=measured, while_crowd=while_crowd)
    return report
