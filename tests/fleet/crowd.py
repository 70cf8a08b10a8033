"""The crowd: prospects through the kitchen quiz at a human pace, each tapping the buttons
the bot sent them (and nothing else), and two managers who both tap Claim on every card.

A prospect sends an update, waits for the reply it needs to go on (the next question's
button, the name prompt, the phone button, the promo code), reads for `think` seconds
(±20 %), and goes on. A reply that never comes within `patience` is a lost answer: that
prospect stops there and never finishes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram import BOT_ID, Call, FakeTelegram
from tests.fleet.deliverer import Deliverer, Delivery

GROUP = -100222022  # the managers' group
MANAGERS = {9001: "Anna", 9002: "Boris"}
# "+x": tick option x of a multiple-choice question; "~...": the flow's own buttons
HOT = ["/start", "~go", "city", "island", "large", "veneer", "+appliances", "+lighting",
       "~done", "month", "~yes", "~mkno", "name", "phone"]
WARM = ["/start", "~go", "suburbs", "corner", "medium", "enamel", "~done", "quarter", "~yes",
        "~mkno", "name", "phone"]
# the flow step each tap answers: a blind prospect (Crowd.blind) taps without waiting for the
# question, so it writes the button's data itself (the kitchen quiz's "flow:version:step:option")
STEP_OF = {"~go": "intro", "city": "location", "suburbs": "location", "island": "layout",
           "corner": "layout", "large": "size", "medium": "size", "veneer": "facades",
           "enamel": "facades", "appliances": "extras", "lighting": "extras", "~done": "extras",
           "month": "timing", "quarter": "timing", "~yes": "consent", "~mkno": "consent"}
PROMO = re.compile(r"KITCHEN\d+-")
YOURS = "is yours"  # the winner's answer (LEADBOT_MANAGERS_LANGUAGE=en)


def buttons(call: Call) -> list[dict]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [b for row in markup.get("inline_keyboard", []) + markup.get("keyboard", [])
            for b in row if isinstance(b, dict)]


def message_id(call: Call) -> int | None:
    if "message_id" in call.params:
        return int(call.params["message_id"])
    return call.result.get("message_id") if isinstance(call.result, dict) else None


def offers(option: str, edit: bool = False) -> Callable[[Call], bool]:
    """A message (or, for a tick, an edit) with a button for `option`."""
    def match(call: Call) -> bool:
        return (call.method.startswith("edit") or not edit) and any(
            str(b.get("callback_data", "")).endswith(f":{option}") for b in buttons(call))
    return match


def expectation(next_step: str | None) -> Callable[[Call], bool]:
    """What the bot must send before the prospect can take `next_step`."""
    if next_step is None:
        return lambda call: bool(PROMO.search(call.params.get("text") or ""))
    if next_step == "name":  # the name prompt: its only button is Back
        return offers("contact:~back")
    if next_step == "phone":
        return lambda call: any(b.get("request_contact") for b in buttons(call))
    return offers(next_step.lstrip("+"), edit=False)


@dataclass
class Watch:
    """Every accepted call of the fake, by chat, and a way to wait for one."""

    telegram: FakeTelegram
    chats: dict[int, list[Call]] = field(default_factory=lambda: defaultdict(list))
    events: dict[int, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    last_call: float = 0.0

    def __post_init__(self) -> None:
        self.telegram.on_call = self.seen

    def seen(self, call: Call) -> None:
        self.last_call = time.monotonic()
        if call.status != 200 or "chat_id" not in call.params:
            return
        chat = int(call.params["chat_id"])
        self.chats[chat].append(call)
        self.events[chat].set()

    async def wait_for(self, chat: int, since: int, match: Callable[[Call], bool],
                       timeout: float) -> Call | None:
        deadline = time.monotonic() + timeout
        index = since
        while True:
            calls = self.chats[chat]
            while index < len(calls):
                if match(calls[index]):
                    return calls[index]
                index += 1
            self.events[chat].clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.events[chat].wait(), remaining)


@dataclass
class Step:
    name: str
    delivery: Delivery
    reply: Call | None = None  # the reply the prospect waited for

    @property
    def latency(self) -> float | None:
        if self.reply is None or self.delivery.first_at is None:
            return None
        return self.reply.at - self.delivery.first_at


@dataclass
class Prospect:
    user_id: int
    hot: bool
    name: str
    phone: str
    steps: list[Step] = field(default_factory=list)
    finished: bool = False
    lost_at: str | None = None  # the step whose reply never came

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": self.name.split()[0],
                "language_code": "en"}


def name_of(number: int) -> str:
    return "Olivia " + "".join(chr(97 + int(d)) for d in f"{number:04d}").title()


@dataclass
class Crowd:
    watch: Watch
    deliverer: Deliverer
    prospects: int = 12
    think: float = 1.0
    arrival: float = 3.0  # prospects begin spread over this many seconds
    hot_every: int = 2  # every n-th prospect is a hot lead (1: all); the others warm
    patience: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    people: list[Prospect] = field(default_factory=list)
    # blind: each update follows the previous one's acceptance, no reply awaited (the bot's
    # throughput, not Telegram's 30 messages a second; bench/scale.py --throughput)
    blind: bool = False

    async def run(self) -> None:
        self.people = [Prospect(100_000 + n, n % self.hot_every == 0, name_of(n),
                                f"+7916{1_000_000 + n:07d}") for n in range(self.prospects)]
        await asyncio.gather(*(self.one(p) for p in self.people))

    def update(self, prospect: Prospect, step: str, keyboard: Call | None, n: int) -> dict:
        chat = {"id": prospect.user_id, "type": "private"}
        message = {"message_id": n + 1, "date": int(time.time()), "chat": chat,
                   "from": prospect.user}
        if step == "/start":
            return {"message": message | {"text": "/start kitchen-quiz", "entities": [
                {"type": "bot_command", "offset": 0, "length": 6}]}}
        if step == "name":
            return {"message": message | {"text": prospect.name}}
        if step == "phone":
            return {"message": message | {"contact": {
                "phone_number": prospect.phone.lstrip("+"), "first_name": prospect.user[
                    "first_name"], "user_id": prospect.user_id}}}
        option = step.lstrip("+")
        if keyboard is None:  # blind
            data, shown = f"kitchen-quiz:1:{STEP_OF[option]}:{option}", 1
        else:
            data = next(b["callback_data"] for b in buttons(keyboard)
                        if str(b.get("callback_data", "")).endswith(f":{option}"))
            shown = message_id(keyboard)
        return {"callback_query": {
            "id": f"q{prospect.user_id}-{n}", "from": prospect.user, "chat_instance": "ci",
            "data": data, "message": {
                "message_id": shown, "date": int(time.time()), "chat": chat,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Leadbot"},
                "text": "(the question)"}}}

    async def one(self, prospect: Prospect) -> None:
        script = HOT if prospect.hot else WARM
        await asyncio.sleep(self.rng.uniform(0, self.arrival))
        keyboard: Call | None = None
        for n, step in enumerate(script):
            following = script[n + 1] if n + 1 < len(script) else None
            since = len(self.watch.chats[prospect.user_id])
            delivery = await self.deliverer.deliver(
                self.update(prospect, step, keyboard, n), prospect.user_id)
            record = Step(step, delivery)
            prospect.steps.append(record)
            if delivery.accepted_at is None:
                prospect.lost_at = f"{step} (never accepted)"
                return
            if self.blind:
                continue
            match = expectation(following)
            if following is not None and following.startswith("+") and step.startswith("+"):
                match = offers(following.lstrip("+"), edit=True)  # the tick's toggled keyboard
            elif following == "~done" and step.startswith("+"):
                match = offers("~done", edit=True)
            record.reply = await self.watch.wait_for(prospect.user_id, since, match,
                                                     self.patience)
            if record.reply is None:
                prospect.lost_at = step
                return
            keyboard = record.reply
            if following is not None and self.think:
                await asyncio.sleep(self.think * self.rng.uniform(0.8, 1.2))
        prospect.finished = True  # blind: every update accepted (its replies still queue)


@dataclass
class Claim:
    data: str
    card: Call
    taps: dict[int, Delivery] = field(default_factory=dict)  # manager -> their tap


@dataclass
class Managers:
    """Anna and Boris: each card that reaches the group, both tap Claim (after a moment)."""

    watch: Watch
    deliverer: Deliverer
    think: float = 1.0
    rng: random.Random = field(default_factory=random.Random)
    claims: dict[str, Claim] = field(default_factory=dict)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def tap(self, manager: int, claim: Claim) -> dict:
        return {"callback_query": {
            "id": f"m{manager}-{claim.data}", "chat_instance": "group", "data": claim.data,
            "from": {"id": manager, "is_bot": False, "first_name": MANAGERS[manager]},
            "message": {"message_id": message_id(claim.card), "date": int(time.time()),
                        "chat": {"id": GROUP, "type": "supergroup", "title": "Managers"},
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Leadbot"},
                        "text": "(the card)"}}}

    async def both_claim(self, claim: Claim) -> None:
        await asyncio.sleep(self.rng.uniform(0.1, max(0.2, self.think)))

        async def one(manager: int) -> None:
            # in sequence per manager, not per group: the two taps race each other through
            # different processes, as two people tapping at once may (the claim's row lock
            # must pick one winner)
            claim.taps[manager] = await self.deliverer.deliver(self.tap(manager, claim),
                                                               manager)

        await asyncio.gather(*(one(manager) for manager in MANAGERS))

    async def run(self, stop: asyncio.Event) -> None:
        scanned = 0
        while not stop.is_set():
            await self.watch.wait_for(GROUP, scanned, self.is_card, 0.5)
            calls = self.watch.chats[GROUP]
            for call in calls[scanned:]:
                if not self.is_card(call):
                    continue
                for button in buttons(call):  # a digest of waiting leads has several
                    data = str(button.get("callback_data", ""))
                    if data.startswith("claim:") and data not in self.claims:
                        self.claims[data] = claim = Claim(data, call)  # a card sent twice:
                        self._tasks.append(asyncio.create_task(self.both_claim(claim)))  # once
            scanned = len(calls)

    @staticmethod
    def is_card(call: Call) -> bool:
        return call.method == "sendMessage" and any(
            str(b.get("callback_data", "")).startswith("claim:") for b in buttons(call))

    async def finish(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
