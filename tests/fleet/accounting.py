"""What reached Telegram, counted from the fake's records (one fake for all processes).

A **duplicate** is a second (third...) accepted copy of one message, where a message is:
- sendMessage / sendDocument: the same chat, text (or caption) and keyboard. The kitchen quiz
  asks each question once per prospect, says each of its lines once, every card names its
  prospect, every claim has its own words: no two legitimate messages of a run are alike;
- editMessageText / Caption / ReplyMarkup: the same chat, message, text and keyboard;
- answerCallbackQuery: the same callback query id (accepted, or refused by a fake that
  refuses repeated answers as Telegram does: the bot did send it twice).

A duplicate is **explained by a kill** when an earlier copy of it was sent by a process that
was killed -9 within IN_FLIGHT seconds after sending it (it had sent the message but may not
have marked it sent), and the duplicate was sent after that kill. **In flight at the kills**:
every message (counted once) a killed process sent within IN_FLIGHT before its kill — the
most duplicates the kills can explain.

**Fail-over** (approximate): for each kill, the updates the killed process had accepted (200,
so committed) before the kill whose reply had not reached the fake by then: the time from
the kill to that reply arriving, sent by another process. Replies that never came are lost.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from tests.fakes.telegram import Call
from tests.fleet.crowd import GROUP, MANAGERS, YOURS, Claim, Prospect, buttons
from tests.fleet.deliverer import Delivery
from tests.fleet.processes import Incarnation

IN_FLIGHT = 2.0  # seconds before a kill in which a send counts as in flight
# A call by a killed process that the fake records after the kill was in flight too: a dead
# process sends nothing, so its request sat in the fake's socket while the SIGKILL landed and
# was read a moment later (on a loaded machine, tens of ms). `Call.at` is when the fake read it.
SENDS = {"sendMessage", "sendDocument", "sendPhoto"}
EDITS = {"editMessageText", "editMessageCaption", "editMessageReplyMarkup"}


def key(call: Call) -> tuple | None:
    p = call.params
    if call.method == "answerCallbackQuery":
        return (call.method, str(p.get("callback_query_id")))
    markup = json.dumps(p.get("reply_markup"), sort_keys=True, ensure_ascii=False)
    words = p.get("text") or p.get("caption") or ""
    if call.method in SENDS:
        return (call.method, int(p["chat_id"]), words, markup)
    if call.method in EDITS:
        return (call.method, int(p["chat_id"]), str(p.get("message_id")), words, markup)
    return None


def counted(call: Call) -> bool:
    if call.method == "answerCallbackQuery":
        return call.status in (200, 400)  # 400: refused as answered already
    return call.status == 200


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(share * (len(values) - 1) + 0.5))]


def describe(call: Call) -> str:
    p = call.params
    words = (p.get("text") or p.get("caption") or p.get("callback_query_id") or "")
    return f"{call.method} chat {p.get('chat_id', '-')} {str(words)[:50]!r} by {call.via}"


@dataclass
class Duplicate:
    first: Call
    copy: Call
    explained: bool

    def __str__(self) -> str:
        gap = self.copy.at - self.first.at
        return (f"{describe(self.first)}, again {gap:.2f} s later by {self.copy.via}"
                f"{' (explained by a kill)' if self.explained else ''}")


@dataclass
class Report:
    processes: int
    transport: str
    prospects: list[Prospect]
    calls: list[Call]
    incarnations: list[Incarnation]
    claims: dict[str, Claim]
    violations: list[str]
    database: dict[str, object]
    elapsed: float = 0.0  # the crowd's wall time
    bot_cpu: float = 0.0  # seconds, every incarnation, during the crowd and the settling
    postgres_cpu: float = 0.0
    updates: int = 0  # accepted deliveries
    redelivered: int = 0
    problems: list[str] = field(default_factory=list)  # the fleet's: failed starts, exits
    deliveries: list[Delivery] = field(default_factory=list)
    harness_cpu: float = 0.0  # this process's: the fake, the deliverer, the crowd
    measured: float = 0.0  # seconds the CPU figures cover (the crowd and the settling)
    while_crowd: tuple[float, float, float] = (0.0, 0.0, 0.0)  # bot, PostgreSQL, harness
    duplicates: list[Duplicate] = field(default_factory=list)
    in_flight: int = 0
    failovers: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        killed = {f"i{i.number}": i.killed for i in self.incarnations if i.killed is not None}
        groups: dict[tuple, list[Call]] = defaultdict(list)
        flying = set()
        for call in self.calls:
            k = key(call)
            if k is None or not counted(call):
                continue
            groups[k].append(call)
            kill = killed.get(call.via)
            if kill is not None and kill - IN_FLIGHT <= call.at:
                flying.add(k)
        self.in_flight = len(flying)
        self._groups = groups
        for copies in groups.values():
            for n, copy in enumerate(copies[1:], 1):
                explained = any(
                    c.via in killed and killed[c.via] - IN_FLIGHT <= c.at
                    and killed[c.via] <= copy.at for c in copies[:n])
                self.duplicates.append(Duplicate(copies[0], copy, explained))
        self._failover()

    def _failover(self) -> None:
        kills = {i.number: i.killed for i in self.incarnations if i.killed is not None}
        for prospect in self.prospects:
            for step in prospect.steps:
                delivery = step.delivery
                kill = kills.get(delivery.accepted_by or 0)
                if kill is None or delivery.accepted_at is None or delivery.accepted_at > kill:
                    continue
                if step.reply is not None and step.reply.at > kill:
                    self.failovers.append(step.reply.at - kill)

    def in_flight_within(self, window: float) -> int:
        """Messages (counted once) a killed process sent within `window` s before its kill:
        IN_FLIGHT is generous for a loaded machine; a shorter window shows how close."""
        killed = {f"i{i.number}": i.killed for i in self.incarnations if i.killed is not None}
        return sum(1 for copies in self._groups.values() if any(
            c.via in killed and killed[c.via] - window <= c.at for c in copies))

    def explained_gaps(self) -> list[float]:
        """For each duplicate a kill explains: how long before the kill the first copy went."""
        killed = {f"i{i.number}": i.killed for i in self.incarnations if i.killed is not None}
        return [max(0.0, killed[d.first.via] - d.first.at) for d in self.duplicates
                if d.explained and d.first.via in killed]

    # -- the figures -------------------------------------------------------------------
    @property
    def kills(self) -> int:
        return sum(1 for i in self.incarnations if i.killed is not None)

    @property
    def unexplained(self) -> list[Duplicate]:
        return [d for d in self.duplicates if not d.explained]

    def duplicates_of(self, kind: str) -> list[Duplicate]:
        def kind_of(call: Call) -> str:
            if call.method == "answerCallbackQuery":
                return "answer"
            chat = int(call.params["chat_id"])
            if chat == GROUP:
                return "group"
            return "manager" if chat in MANAGERS else "prospect"
        return [d for d in self.duplicates if kind_of(d.copy) == kind]

    @property
    def lost(self) -> list[Prospect]:
        return [p for p in self.prospects if p.lost_at is not None]

    @property
    def unfinished(self) -> list[Prospect]:
        return [p for p in self.prospects if not p.finished]

    def cards(self) -> dict[str, list[Call]]:
        """The cards in the group by their claim button's data (one per hand-off)."""
        found: dict[str, list[Call]] = defaultdict(list)
        for call in self.calls:
            if call.method == "sendMessage" and call.status == 200 and int(
                    call.params.get("chat_id", 0)) == GROUP:
                for button in buttons(call):
                    data = str(button.get("callback_data", ""))
                    if data.startswith("claim:"):
                        found[data].append(call)
        return found

    def hot_without_one_card(self, kills_explain: bool = False) -> list[str]:
        """Hot leads whose card reached the group other than once. `kills_explain`: a copy
        sent again after a kill -9 caught the first in flight (sent, not yet marked: at-least-
        once, as for every message) is not counted; a copy no kill explains still is, and
        the duplicates' own check names it too."""
        cards = self.cards()
        again = {id(d.copy) for d in self.duplicates if d.explained} if kills_explain else set()
        wrong = []
        for prospect in (p for p in self.prospects if p.hot):
            copies = len({id(call) for calls in cards.values() for call in calls
                          if prospect.phone in (call.params.get("text") or "")}  # a digest
                         - again)  # is one message, listed under each of its claim buttons
            if copies != 1:
                wrong.append(f"{prospect.name}: {copies} cards")
        return wrong

    def winners(self) -> dict[str, int]:
        """Per claim: how many managers were told the lead is theirs (first answer to each
        tap; a repeated answer is a duplicate, not a second winner)."""
        answers: dict[str, str] = {}
        for call in self.calls:
            if call.method == "answerCallbackQuery" and call.status == 200:
                answers.setdefault(str(call.params.get("callback_query_id")),
                                   call.params.get("text") or "")
        return {data: sum(1 for manager in MANAGERS
                          if YOURS in answers.get(f"m{manager}-{data}", ""))
                for data in self.claims}

    def not_one_winner(self) -> dict[str, int]:
        return {data: n for data, n in self.winners().items() if n != 1}

    @property
    def per_second(self) -> float:
        """Updates accepted per second, from the first POST to the last acceptance."""
        accepted = [d for d in self.deliveries if d.accepted_at is not None]
        if not accepted:
            return 0.0
        begin = min(d.first_at or d.queued for d in accepted)
        return len(accepted) / max(1e-9, max(d.accepted_at or 0.0 for d in accepted) - begin)

    def accept_latencies(self) -> list[float]:
        """From an update's first POST to a process answering 200 (its commit)."""
        return [d.accepted_at - d.first_at for d in self.deliveries
                if d.accepted_at is not None and d.first_at is not None]

    def latencies(self) -> list[float]:
        return [s.latency for p in self.prospects for s in p.steps if s.latency is not None]

    def group_peak(self, window: float = 60.0) -> int:
        """The most messages the group got in any `window` seconds (Telegram allows 20/min)."""
        times = sorted(c.at for c in self.calls if c.status == 200 and (
            c.method in SENDS | EDITS) and int(c.params.get("chat_id", 0)) == GROUP)
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] > window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def rejected(self) -> int:
        return sum(1 for c in self.calls if c.status == 429)

    # -- in words ----------------------------------------------------------------------
    def summary(self) -> str:
        lat = [x * 1000 for x in self.latencies()]
        accept = [x * 1000 for x in self.accept_latencies()]
        affected = {int(d.copy.params["chat_id"]) for d in self.duplicates_of("prospect")}
        fail = self.failovers
        lines = [
            f"{self.processes} processes ({self.transport}), {len(self.prospects)} prospects, "
            f"{self.updates} updates accepted at {self.per_second:.1f}/s (the crowd took "
            f"{self.elapsed:.1f} s), {self.redelivered} redelivered",
            f"kills: {self.kills}; messages in flight at the kills: {self.in_flight} "
            f"(within {IN_FLIGHT:g} s; within 0.5 s: {self.in_flight_within(0.5)})",
            f"duplicates: {len(self.duplicates)} ({len(self.unexplained)} not explained by a "
            f"kill): to prospects {len(self.duplicates_of('prospect'))} "
            f"({len(affected)} prospects), tap answers {len(self.duplicates_of('answer'))}, "
            f"group {len(self.duplicates_of('group'))}, "
            f"managers' chats {len(self.duplicates_of('manager'))}",
            f"lost answers: {len(self.lost)}; finished: "
            f"{len(self.prospects) - len(self.unfinished)}/{len(self.prospects)}",
            f"hot leads: {sum(p.hot for p in self.prospects)}, card messages: "
            f"{len({id(c) for cs in self.cards().values() for c in cs})} for "
            f"{len(self.cards())} hand-offs; "
            f"hot leads without exactly one card: {len(self.hot_without_one_card())}",
            f"claims: {len(self.claims)}, not exactly one winner: {len(self.not_one_winner())}"
            f"; database: {self.database}",
            f"limit violations at the fake: {len(self.violations)}; 429s: {self.rejected()}; "
            f"most group messages in 60 s: {self.group_peak()} (Telegram allows 20)",
            f"reply p50 {percentile(lat, 0.5):.0f} ms, p99 {percentile(lat, 0.99):.0f} ms; "
            f"accepted (200) p50 {percentile(accept, 0.5):.0f} ms, "
            f"p99 {percentile(accept, 0.99):.0f} ms",
            f"CPU: bot {self.bot_cpu:.1f} s "
            f"({self.bot_cpu * 1000 / max(self.updates, 1):.1f} ms per update), "
            f"PostgreSQL {self.postgres_cpu:.1f} s, the harness (fake, deliverer, crowd) "
            f"{self.harness_cpu:.1f} s",
            f"fail-over (kill -> a pending reply sent by another process): {len(fail)} replies"
            + (f", p50 {statistics.median(fail):.2f} s, p99 {percentile(fail, 0.99):.2f} s, "
               f"max {max(fail):.2f} s" if fail else ""),
        ]
        if self.problems:
            lines.append("fleet problems: " + "; ".join(self.problems)[:1500])
        return "\n".join(lines)

    def examples(self, items: list, count: int = 5) -> str:
        return "\n".join(f"  - {item}" for item in items[:count])
