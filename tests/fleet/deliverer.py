"""Telegram's side of a webhook, as seen from the bot's processes behind a load balancer:
each update is POSTed with the secret header to a random live process; anything but 200 (a
5xx, a refused connection, a process killed mid-request, no answer within `timeout`) and it
is delivered again, to a random process, until one accepts it. One chat's updates go in
sequence: the next waits until the one before it was accepted (Telegram does the same). The
sequence is the caller's key: a prospect's chat; for managers' taps on a card in the group,
each manager's own, so that two managers' claims can race (crowd.Managers)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.fleet.processes import Fleet, Incarnation

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Attempt:
    incarnation: int  # its number
    at: float
    outcome: str  # "200", "500", "timeout", "ServerDisconnectedError", ...
    took: float = 0.0


@dataclass
class Delivery:
    update_id: int
    chat_id: int
    update: dict[str, Any]
    queued: float  # when it was given to deliver()
    first_at: float | None = None  # the first POST (the reply latency starts here)
    accepted_at: float | None = None
    accepted_by: int | None = None  # the incarnation that answered 200
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class Deliverer:
    fleet: Fleet
    timeout: float = 15.0  # Telegram waits a while for the answer, then sends it again
    give_up: float = 120.0  # a delivery no process accepted in this long is lost
    rng: random.Random = field(default_factory=random.Random)
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._chats: dict[int, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Deliverer:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=0, force_close=True))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def deliver(self, update: dict[str, Any], chat_id: int) -> Delivery:
        """Until a process accepted it (or `give_up` passed: then `accepted_at` is None);
        after the updates given before it with the same `chat_id`."""
        delivery = Delivery(next(self._ids), chat_id, update, time.monotonic())
        self.deliveries.append(delivery)
        lock = self._chats.setdefault(chat_id, asyncio.Lock())
        async with lock:  # one chat's updates in sequence
            deadline = time.monotonic() + self.give_up
            while time.monotonic() < deadline:
                live = self.fleet.live()
                if not live:  # every process down for a moment: Telegram waits too
                    await asyncio.sleep(0.1)
                    continue
                if await self._post(delivery, self.rng.choice(live)):
                    return delivery
                await asyncio.sleep(self.rng.uniform(0.05, 0.25))
        return delivery

    async def _post(self, delivery: Delivery, target: Incarnation) -> bool:
        assert self._session is not None
        started = time.monotonic()
        if delivery.first_at is None:
            delivery.first_at = started
        attempt = Attempt(target.number, started, "?")
        delivery.attempts.append(attempt)
        try:
            async with self._session.post(
                    target.url + WEBHOOK_PATH, json={"update_id": delivery.update_id,
                                                     **delivery.update},
                    headers={SECRET_HEADER: self.fleet.secret}) as response:
                await response.read()
                attempt.outcome = str(response.status)
        except TimeoutError:
            attempt.outcome = "timeout"
        except aiohttp.ClientError as error:
            attempt.outcome = type(error).__name__
        attempt.took = time.monotonic() - started
        if attempt.outcome != "200":
            return False
        delivery.accepted_at, delivery.accepted_by = time.monotonic(), target.number
        return True

    def redelivered(self) -> int:
        """Deliveries that took more than one POST."""
        return sum(1 for d in self.deliveries if len(d.attempts) > 1)

    def unaccepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.accepted_at is None]
