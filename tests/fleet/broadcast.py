"""A broadcast beside the crowd (issue 25): its recipients written straight into the run's
database before any process starts, the broadcast created and sent with the real
`leadbot broadcast create / send / status` commands, kill -9 of a random process twice while
it goes out (each restarted at once, as the chaos scenario does), and what reached the fake
counted per recipient against the outbox's rows and the broadcast's results.

`Broadcasting.before` and `.during` are scenario.Config's hooks; `.tally(report)` counts
once the run is over (the database's side is read when the broadcast is done, before the
run's database is dropped)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db.engine import create_engine
from storage.reports.broadcasts import results
from storage.schema.tables import Consent, Conversation, Prospect, utcnow
from tests.fakes.telegram import Call, FakeTelegram
from tests.fleet.accounting import IN_FLIGHT, Report, percentile
from tests.fleet.database import query
from tests.fleet.processes import Fleet
from tests.processes import LEADBOT, leadbot_environment

NAME = "chaos-offer"
MARK = "Winter offer 25"  # in every copy's text: how the fake's calls are told apart
BASE = 500_000  # the recipients' user (and chat) ids; the crowd's are 100_000 + n
SOURCE = "chaos-seed"  # the seeded conversations' source: the segment picks them alone
FILE = f"""\
name: {NAME}
segment:
  sources: [{SOURCE}]
message:
  text: "{MARK}: 10 % off every kitchen until the end of December."
"""
SPARE = 2  # per kill: rows a sender may have marked `sending` whose call never left


def is_copy(call: Call) -> bool:
    return (call.method == "sendMessage" and call.status == 200
            and MARK in (call.params.get("text") or ""))


async def seed(url: str, count: int) -> None:
    """`count` prospects, each with a finished conversation from SOURCE and marketing
    consent in force (one granting row), in three statements."""
    now = utcnow()
    ids = [BASE + n for n in range(count)]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Prospect), [dict(
                user_id=i, chat_id=i, language="en", blocked=False, created_at=now,
                updated_at=now) for i in ids])
            await connection.execute(insert(Conversation), [dict(
                user_id=i, chat_id=i, flow_id="kitchen-quiz", flow_version=1, step="done",
                finished=True, source=SOURCE, state={"answers": {}, "language": "en"},
                progress={}, started_at=now, updated_at=now) for i in ids])
            await connection.execute(insert(Consent), [dict(
                user_id=i, purpose="marketing", granted=True, policy_version="1",
                text_sha256="0" * 64, language="en", created_at=now, operator="Acme")
                for i in ids])
    finally:
        await engine.dispose()


async def command(url: str, *args: str) -> tuple[int, str]:
    """`leadbot broadcast ARGS` on the run's database: (exit code, stdout and stderr)."""
    process = await asyncio.create_subprocess_exec(
        LEADBOT, "broadcast", *args, env=leadbot_environment(LEADBOT_DATABASE_URL=url),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL)
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(errors="replace")


def figures(status: str) -> dict[str, str]:
    """`leadbot broadcast status NAME`'s "  key: value" lines."""
    return {key.strip(): value.strip() for key, _, value in (
        line.partition(":") for line in status.splitlines()[1:]) if value}


@dataclass
class Tally:
    """What reached the fake against what the database says of each recipient."""

    recipients: int
    copies: Counter  # chat -> accepted copies at the fake
    outbox: dict[int, str | None]  # chat -> its outbox row's status (None: never queued)
    results: dict[str, Any]
    status: dict[str, str]  # `leadbot broadcast status`'s figures
    in_flight: int  # broadcast messages the victims sent within IN_FLIGHT s of their kill
    kills: int
    delivery: float | None  # seconds from `send` to `done`
    rate: float  # copies a second at the fake, first to last
    p50: float  # the crowd's replies while the broadcast went out, ms
    p99: float
    replies: int
    lag: float | None = None  # seconds from `send` to the first copy at the fake
    stall: float = 0.0  # the longest gap between two copies at the fake
    tail: float | None = None  # seconds from the last copy to `done`

    @property
    def twice(self) -> list[str]:
        return [f"chat {c}: {n} copies" for c, n in self.copies.items() if n > 1]

    @property
    def unknown(self) -> list[int]:
        return sorted(c for c, s in self.outbox.items() if s == "sending")

    @property
    def not_once(self) -> list[str]:
        """Recipients confirmed sent (or anything but unknown) without exactly one copy."""
        return [f"chat {c} ({s}): {self.copies.get(c, 0)} copies"
                for c, s in sorted(self.outbox.items())
                if s != "sending" and (s != "sent" or self.copies.get(c, 0) != 1)]

    @property
    def strangers(self) -> list[int]:
        return sorted(set(self.copies) - set(self.outbox))

    def disagreements(self) -> list[str]:
        """The results (and `status`) against the outbox and the fake."""
        sent = sum(1 for s in self.outbox.values() if s == "sent")
        unknown = len(self.unknown)
        wrong = []
        for key, want in (("recipients", self.recipients), ("queued", self.recipients),
                          ("delivered", sent), ("unknown", unknown)):
            if self.results.get(key) != want:
                wrong.append(f"results {key} {self.results.get(key)}, counted {want}")
            if self.status.get(key) != str(want):
                wrong.append(f"`status` {key} {self.status.get(key)!r}, counted {want}")
        reached = len(self.copies)
        if not sent <= reached <= sent + unknown:
            wrong.append(f"{reached} chats got it at the fake: not between delivered {sent} "
                         f"and delivered + unknown {sent + unknown}")
        if self.results.get("status") != "done":
            wrong.append(f"the broadcast is {self.results.get('status')}, not done")
        return wrong

    def summary(self) -> str:
        reached_unknown = sum(1 for c in self.unknown if self.copies.get(c))
        delivery = f"{self.delivery:.1f} s" if self.delivery is not None else "not done"
        return "\n".join([
            f"broadcast: {self.recipients} recipients, delivered in {delivery} (send to "
            f"done), {self.rate:.1f} messages/s at the fake; {self.kills} kills; the first "
            f"copy {_seconds(self.lag)} after `send` returned, the longest pause between two "
            f"{self.stall:.1f} s, done {_seconds(self.tail)} after the last",
            f"copies at the fake: {sum(self.copies.values())} to {len(self.copies)} chats; "
            f"twice: {len(self.twice)}; unknown (marked sending, never confirmed): "
            f"{len(self.unknown)}, of them at the fake {reached_unknown}; in flight at the "
            f"kills: {self.in_flight}",
            f"results: delivered {self.results.get('delivered')}, unknown "
            f"{self.results.get('unknown')}, failed {self.results.get('failed')}, waiting "
            f"{self.results.get('waiting')}",
            f"the crowd's replies while it went out: {self.replies}, p50 {self.p50:.0f} ms, "
            f"p99 {self.p99:.0f} ms",
        ])


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


@dataclass
class Broadcasting:
    """Config.before / Config.during for a broadcast of `recipients` people with `kills`
    kill -9s, at the shares of it delivered in `at`."""

    recipients: int
    folder: Path
    at: tuple[float, ...] = (0.25, 0.6)  # a kill when this share of it reached the fake
    done_within: float = 180.0  # a loaded machine: generous
    sent: float | None = None  # monotonic: `send` returned
    done: float | None = None  # monotonic: the database said done
    victims: list[tuple[str, float]] = field(default_factory=list)  # (prefix, killed at)
    problems: list[str] = field(default_factory=list)
    outbox: dict[int, str | None] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    status: str = ""

    async def before(self, url: str) -> None:
        await seed(url, self.recipients)
        path = self.folder / f"{NAME}.yaml"
        path.write_text(FILE, encoding="utf-8")
        code, said = await command(url, "create", str(path))
        if code != 0 or f"{self.recipients} people would get it now" not in said:
            raise RuntimeError(f"`leadbot broadcast create` said ({code}):\n{said}")

    async def during(self, fleet: Fleet, url: str, telegram: FakeTelegram) -> None:
        await asyncio.sleep(1.0)  # the crowd has begun
        code, said = await command(url, "send", NAME)
        if code != 0 or f"sending to {self.recipients} people" not in said:
            self.problems.append(f"`leadbot broadcast send` said ({code}):\n{said}")
            return
        self.sent = time.monotonic()
        deadline = self.sent + self.done_within
        restarts = []
        for share in self.at:
            while (sum(1 for c in telegram.calls if is_copy(c)) < share * self.recipients
                   or len(fleet.live()) < 2) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if time.monotonic() >= deadline:
                break
            victim = await fleet.kill()
            self.victims.append((victim.prefix, victim.killed or time.monotonic()))
            restarts.append(asyncio.create_task(fleet.restart(victim.slot)))
        for outcome in await asyncio.gather(*restarts, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self.problems.append(f"a restart failed: {outcome}")
        while time.monotonic() < deadline:
            rows = await query(url, "SELECT status FROM broadcasts WHERE name = $1", NAME)
            if rows and rows[0]["status"] == "done":
                self.done = time.monotonic()
                break
            await asyncio.sleep(0.25)
        else:
            self.problems.append(f"the broadcast was not done {self.done_within:.0f} s "
                                 "after `send`")
        await self.read(url)

    async def read(self, url: str) -> None:
        """The database's side, while the run's database exists."""
        rows = await query(url, "SELECT r.chat_id, o.status FROM broadcast_recipients r "
                                "JOIN broadcasts b ON b.id = r.broadcast_id LEFT JOIN outbox o "
                                "ON o.id = r.outbox_id WHERE b.name = $1", NAME)
        self.outbox = {row["chat_id"]: row["status"] for row in rows}
        code, self.status = await command(url, "status", NAME)
        if code != 0:
            self.problems.append(f"`leadbot broadcast status` said ({code}):\n{self.status}")
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as session:
                found = await query(url, "SELECT id FROM broadcasts WHERE name = $1", NAME)
                self.results = await results(session, found[0]["id"]) if found else {}
        finally:
            await engine.dispose()

    def tally(self, report: Report) -> Tally:
        copies = [c for c in report.calls if is_copy(c)]
        per_chat = Counter(int(c.params["chat_id"]) for c in copies)
        in_flight = sum(1 for c in copies for prefix, killed in self.victims
                        if c.via == prefix and killed - IN_FLIGHT <= c.at)
        first, last = (copies[0].at, copies[-1].at) if copies else (0.0, 0.0)
        during = [s.latency * 1000 for p in report.prospects for s in p.steps
                  if s.latency is not None and s.delivery.first_at is not None
                  and first <= s.delivery.first_at <= last]
        return Tally(
            self.recipients, per_chat, self.outbox, self.results, figures(self.status),
            in_flight, len(self.victims),
            None if self.done is None or self.sent is None else self.done - self.sent,
            len(copies) / max(last - first, 1e-9) if len(copies) > 1 else 0.0,
            percentile(during, 0.5), percentile(during, 0.99), len(during),
            lag=None if self.sent is None or not copies else first - self.sent,
            stall=max((b.at - a.at for a, b in pairwise(copies)),
                      default=0.0),
            tail=None if self.done is None or not copies else self.done - last)

    def unknown_bound(self, tally: Tally) -> int:
        """The most unknowns the kills explain: what the victims had sent just before
        them, and a few rows each may have marked `sending` before its call left."""
        return tally.in_flight + SPARE * len(self.victims)

