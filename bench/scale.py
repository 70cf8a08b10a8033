"""Several `leadbot run --webhook` processes on one PostgreSQL (issue 22), side by side in one
run. Prints figures; asserts nothing.

    .venv/bin/python bench/scale.py [--processes 1,2,3] [--prospects 40] [--think 2.5]
                                    [--transport aiogram|ptb] [--hot-every 2]
                                    [--chaos [--kills 20] [--kill-every 3]] [--throughput]

Each run has a PostgreSQL database of its own (created, migrated, dropped), N real processes
and one fake Bot API (tests/fakes/telegram.py: Telegram's limits, enforced across all the
processes, since they share it; each process calls it by a URL prefix of its own, so every
call names its sender). Updates arrive by webhook as Telegram sends them: to a random live
process, again to a random one on anything but 200, one chat's in sequence. The crowd goes
through the kitchen quiz tapping the buttons it was sent (`--think` s ±20 % per step); every
`--hot-every`-th prospect is a hot lead whose card two managers both claim. The harness is
tests/fleet/ (accounting.py defines a duplicate, "explained by a kill", fail-over).

Columns: updates/s accepted (first POST to last 200); reply p50 / p99 from an update's first
POST to the reply the prospect waits for reaching the fake; CPU per update from /proc: the
bot's (every process, restarts' start-up excluded) and PostgreSQL's (the run database's
backends); duplicates (those no kill explains); limit violations and 429s at the fake; lost
answers; the most messages the managers' group got in any 60 s (Telegram allows 20).

--chaos: kill -9 a random live process every `--kill-every` s (±30 %), `--kills` times,
each restarted at once (a new port the deliverer learns); the prospects begin spread over
most of that time, so the kills fall while the crowd is there. Prints kills, lost answers,
duplicates against the messages in flight at the kills (sent by a process within 2 s before
its kill), and fail-over: kill -> a reply the killed process had committed but not sent,
arriving from another.

--throughput: no think time and blind prospects (each update follows the previous one's 200,
no reply awaited): the updates/s the processes accept when neither a human's pace nor
Telegram's 30 messages a second (which the replies drain at) is the limit. The CPU shares
(bot, PostgreSQL, this harness) say what the bottleneck is.
PostgreSQL: LEADBOT_TEST_POSTGRES_ADMIN (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fleet.accounting import IN_FLIGHT, Report, percentile  # noqa: E402
from tests.fleet.database import reachable  # noqa: E402
from tests.fleet.scenario import Config, run  # noqa: E402


def ms(values: list[float], share: float) -> str:
    value = percentile([v * 1000 for v in values], share)
    return "—" if value != value else f"{value:.0f} ms"


def row(r: Report, throughput: bool) -> str:
    per = max(r.updates, 1)
    replies = r.accept_latencies() if throughput else r.latencies()
    finished = "—" if throughput else f"{len(r.prospects) - len(r.unfinished)}/{len(r.prospects)}"
    return (f"| {r.processes} | {r.per_second:.1f} | {ms(replies, 0.5)} | {ms(replies, 0.99)} "
            f"| {r.bot_cpu * 1000 / per:.1f} ms | {r.postgres_cpu * 1000 / per:.1f} ms "
            f"| {len(r.duplicates)} ({len(r.unexplained)}) | {len(r.violations)} "
            f"| {r.rejected()} | {len(r.lost)} | {finished} | {r.group_peak()} |")


def table(reports: list[Report], throughput: bool) -> None:
    what = "accepted (200)" if throughput else "reply"
    print(f"| processes | updates/s | {what} p50 | {what} p99 | bot CPU per update "
          "| PostgreSQL CPU per update | duplicates (no kill explains) | limit violations "
          "| 429s | lost answers | finished | group, most in 60 s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for report in reports:
        print(row(report, throughput))


def chaos_table(reports: list[Report]) -> None:
    print(f"\nchaos (in flight: sent by a process within {IN_FLIGHT:g} s before its kill; "
          "fail-over: kill -> a committed, unsent reply arriving from another process):")
    print(f"| processes | kills | lost answers | duplicates | not explained by a kill "
          f"| in flight at the kills ({IN_FLIGHT:g} s / 0.5 s) | explained: sent before "
          f"the kill, max | fail-over p50 | p99 | max | replies failed over |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in reports:
        fail, gaps = r.failovers, r.explained_gaps()
        top = f"{max(fail):.2f} s" if fail else "—"
        gap = f"{max(gaps):.2f} s" if gaps else "—"
        print(f"| {r.processes} | {r.kills} | {len(r.lost)} | {len(r.duplicates)} "
              f"| {len(r.unexplained)} | {r.in_flight} / {r.in_flight_within(0.5)} | {gap} "
              f"| {ms(fail, 0.5)} | {ms(fail, 0.99)} | {top} | {len(fail)} |")


def shares(reports: list[Report]) -> None:
    cores = os.cpu_count() or 1
    print(f"\nCPU while the crowd ran, in shares of {cores} cores (what the bottleneck is):")
    for r in reports:
        wall = max(r.elapsed, 1e-9) * cores
        bot, postgres, harness = r.while_crowd
        total = bot + postgres + harness
        print(f"  {r.processes} processes: bot {bot / wall:.0%}, PostgreSQL {postgres / wall:.0%}"
              f", the harness {harness / wall:.0%}, together {total / wall:.0%} (PostgreSQL's "
              f"share of the three: {postgres / max(total, 1e-9):.0%})")


def numbers(text: str) -> list[int]:
    try:
        found = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        found = []
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError("numbers of processes, comma-separated: 1,2,3")
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=numbers, default=None,
                        help="numbers of processes side by side (default 1,2,3; --chaos: 3)")
    parser.add_argument("--prospects", type=int, default=None,
                        help="crowd size (default 40; --throughput: 100)")
    parser.add_argument("--think", type=float, default=2.5,
                        help="seconds per step, ±20 %% (default 2.5: Telegram's ~1 message a "
                             "second per chat is not the reply time; --throughput: 0)")
    parser.add_argument("--transport", choices=("aiogram", "ptb"), default="aiogram")
    parser.add_argument("--hot-every", type=int, default=2,
                        help="every n-th prospect is a hot lead (default 2)")
    parser.add_argument("--chaos", action="store_true", help="kill -9 and restart")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds (±30 %%)")
    parser.add_argument("--throughput", action="store_true",
                        help="no think time, prospects do not wait for replies")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    parser.add_argument("--verbose", action="store_true", help="each run's full account")
    args = parser.parse_args()
    why = await reachable()
    if why is not None:
        raise SystemExit(why)
    counts = args.processes or ([3] if args.chaos else [1, 2, 3])
    prospects = args.prospects or (100 if args.throughput else 40)
    think = 0.0 if args.throughput else args.think
    mode = "throughput" if args.throughput else "chaos" if args.chaos else "crowd"
    print(f"scale ({mode}): {prospects} prospects, {think} s think, every {args.hot_every}"
          f"{'nd' if args.hot_every == 2 else 'th'} a hot lead, {args.transport}, "
          f"{os.cpu_count()} cores" + (f", {args.kills} kills every ~{args.kill_every} s"
                                       if args.chaos else ""))
    reports = []
    for count in counts:
        config = Config(processes=count, transport=args.transport, prospects=prospects,
                        think=think, hot_every=args.hot_every,
                        kills=args.kills if args.chaos else 0, kill_every=args.kill_every,
                        seed=args.seed, tag=f"scale{count}", blind=args.throughput,
                        arrival=0.0 if args.throughput else (
                            0.8 * args.kills * args.kill_every if args.chaos else None),
                        settle=5.0 if args.throughput else 60.0,
                        keep=args.logs / f"{count}" if args.logs else None)
        report = await run(config)
        reports.append(report)
        if args.verbose or report.problems:
            print(f"\n{report.summary()}\n", flush=True)
    print()
    table(reports, args.throughput)
    if args.chaos:
        chaos_table(reports)
    shares(reports)
    if args.throughput:
        print("  (--throughput: 'finished' and the replies are not waited for; the replies "
              "drain at Telegram's 30 messages a second after the run)")


if __name__ == "__main__":
    asyncio.run(main())
