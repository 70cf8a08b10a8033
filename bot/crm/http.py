"""What the CRM clients share: a per-target rate limit that waits (a token bucket, as the
sender's for Telegram), one HTTP call with a timeout, and what an answer means: a success,
something to try again later (timeouts, 429, 503 QUERY_LIMIT_EXCEEDED, 5xx), or a refusal
that trying again will not change (other 4xx).

Nothing a CRM answers is logged or kept beyond its status and error code: a CRM's error
text may quote the values it refused (a phone, a name).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from bot.outbox.limits import Bucket
from storage.deliveries.facts import LeadFacts


@dataclass(frozen=True)
class CrmLimits:
    """Requests per second and burst per CRM, and how long a call may take. Bitrix24 counts
    requests in a leaky bucket of 50 that drains 2 per second (503 QUERY_LIMIT_EXCEEDED past
    it): we keep 40 of it as our burst, a margin for another integration of the same portal.
    amoCRM allows 7 requests per second (429 past it): 7 per second, no burst beyond 2."""

    bitrix24_rate: float = 2.0
    bitrix24_burst: float = 40.0
    amocrm_rate: float = 7.0
    amocrm_burst: float = 2.0
    webhook_rate: float = 20.0  # a receiver of our own making: be kind to it
    webhook_burst: float = 20.0
    timeout: float = 15.0  # seconds for one call

    def scaled(self, factor: float, timeout: float | None = None) -> CrmLimits:
        """Faster limits for tests (the fake CRMs enforce the same ones, scaled alike)."""
        return CrmLimits(self.bitrix24_rate * factor, self.bitrix24_burst,
                         self.amocrm_rate * factor, self.amocrm_burst,
                         self.webhook_rate * factor, self.webhook_burst,
                         timeout if timeout is not None else self.timeout)


class Throttle:
    """Waits until a request may go: the rate and burst, and any pause a 429 asked for."""

    def __init__(self, rate: float, burst: float) -> None:
        self.bucket = Bucket(rate, burst)
        self.paused_until = 0.0
        self._lock = asyncio.Lock()  # first come, first served

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                wait = max(self.paused_until - now, self.bucket.wait(now))
                if wait <= 0:
                    self.bucket.take(now)
                    return
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


class Transient(Exception):
    """Try again later (`after`: seconds the CRM asked for)."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.after = reason, after


class Permanent(Exception):
    """The CRM refused this request for what it is: trying again will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


CODE = re.compile(r"[^A-Za-z0-9_.-]")


def code_of(body: Any) -> str:
    """An error code a CRM put in its answer (never its description): short and safe."""
    if isinstance(body, dict):
        for key in ("error", "title", "detail_code"):
            if isinstance(body.get(key), str):
                return CODE.sub("", body[key])[:40]
    return ""


def retry_after(headers: Any, default: float) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", default)))
    except (TypeError, ValueError):
        return default


class Client:
    """One CRM's HTTP side: its session (made in the running loop) and its throttle."""

    def __init__(self, throttle: Throttle, timeout: float) -> None:
        self.throttle, self.timeout = throttle, timeout
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, url: str, *, body: bytes | None = None,
                   params: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, pause: float = 1.0
                   ) -> tuple[int, Any]:
        """(status, parsed JSON or None) of a 2xx; Transient or Permanent otherwise."""
        await self.throttle.acquire()
        try:
            async with self.session().request(method, url, data=body, params=params,
                                              headers=headers) as response:
                status = response.status
                text = await response.text()
                answer_headers = response.headers
        except TimeoutError:
            raise Transient("timeout") from None
        except (aiohttp.ClientError, OSError) as error:
            raise Transient(f"network: {type(error).__name__}") from None
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        code = code_of(parsed)
        if 200 <= status < 300:
            return status, parsed
        reason = f"HTTP {status} {code}".strip()
        if status == 429 or code == "QUERY_LIMIT_EXCEEDED":
            wait = retry_after(answer_headers, pause)
            self.throttle.pause(wait)  # every request to this CRM waits, not just this one
            raise Transient(reason, wait)
        if status >= 500 or status in (408, 425):
            raise Transient(reason)
        raise Permanent(reason)


@dataclass(frozen=True)
class Job:
    """One delivery row as a target sees it: the event, the lead read now, and the CRM's
    id for it if known. `retried`: an earlier try may have reached the CRM (a timeout after
    sending, a crash), so a target looks the lead up before creating it."""

    key: str  # the delivery id: the webhook's idempotency key
    event: str
    data: dict[str, Any]
    facts: LeadFacts
    remote_id: str | None
    contact_id: str | None
    retried: bool
    now: datetime


@dataclass(frozen=True)
class Delivered:
    remote_id: str | None = None  # the CRM's id of the lead (None: the webhook, or nothing
    contact_id: str | None = None  # to clear on erasure)
    answer: str = ""  # what the CRM said, for `leadbot crm test`
