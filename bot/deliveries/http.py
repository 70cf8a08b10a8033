"""What the CRM clients share: a per-target rate limit that waits (a token bucket, as the
sender's for Telegram), one HTTP call with a timeout, and what an answer means: a success,
something to try again later (timeouts, 429, 503 QUERY_LIMIT_EXCEEDED, 5xx, and any answer
the bot cannot read: a redirect, bytes that are not UTF-8, a page that is not JSON, JSON of
the wrong shape), or a refusal that trying again will not change (other 4xx).

Redirects are never followed: a 3xx would otherwise turn the POST into a GET of some page
(counted as delivered) or re-send the signed lead to whatever host it names.

Nothing a CRM answers is logged or kept beyond its status and a reason of ours (`REASONS`,
or an error code of `CODES`, a fixed list): a CRM's error text may quote the values it
refused (a phone, a name).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.deliveries.port import Permanent, Transient
from bot.outbox.limits import Bucket


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
    """Waits until a request may go: the rate and burst, and any pause a 429 asked for. A
    pause longer than HELD is not sat out inside a call: the row in hand would outlive its
    lease (another process would take it) and hold the process from stopping; the call
    says Transient, with the pause's reason and what is left of it, and nothing is sent."""

    HELD = 5.0  # seconds of a pause a call waits at most

    def __init__(self, rate: float, burst: float) -> None:
        self.bucket = Bucket(rate, burst)
        self.paused_until = 0.0
        self.paused_for = ""  # the reason of the pause (an answer's status, of ours)
        self._lock = asyncio.Lock()  # first come, first served

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if self.paused_until - now > self.HELD:
                    raise Transient(self.paused_for or "paused", self.paused_until - now)
                wait = max(self.paused_until - now, self.bucket.wait(now))
                if wait <= 0:
                    self.bucket.take(now)
                    return
                await asyncio.sleep(wait)

    def pause(self, seconds: float, reason: str = "") -> None:
        until = time.monotonic() + seconds
        if until > self.paused_until:
            self.paused_until, self.paused_for = until, reason


def unreadable(status: int | None, why: str) -> Transient:
    """An answer the bot could not make sense of: tried again later, never a success."""
    assert why in REASONS, why
    return Transient(f"HTTP {status} {why}" if status else why, odd=True)


# the reasons of our own a failure is kept and logged with (after "HTTP <status>")
REASONS = frozenset({"redirect", "not_utf8", "bad_json", "maintenance_page", "bad_answer",
                     "too_large", "timeout"})
# the error codes of Bitrix24 (`error`) and amoCRM (`title`) kept as they are: documented
# codes, nothing a CRM could fill with a value it refused; any other is left out
CODES = frozenset({
    "QUERY_LIMIT_EXCEEDED", "OVERLOAD_LIMIT", "OPERATION_TIME_LIMIT", "INTERNAL_SERVER_ERROR",
    "ERROR_CORE", "ERROR_METHOD_NOT_FOUND", "ERROR_MANIFEST_IS_NOT_AVAILABLE",
    "INVALID_CREDENTIALS", "INVALID_REQUEST", "NO_AUTH_FOUND", "WRONG_AUTH_TYPE",
    "ACCESS_DENIED", "PAYMENT_REQUIRED", "PORTAL_DELETED", "NOT_FOUND", "expired_token",
    "invalid_token", "insufficient_scope", "user_access_error",
    "Bad Request", "Unauthorized", "Forbidden", "Not Found", "Payment Required",
    "Method Not Allowed", "Too Many Requests", "Internal Server Error",
    "Service Unavailable", "Unsupported Media Type", "Unprocessable Entity",
    # Yandex Metrica's `errors[].error_type` (its API's error descriptions)
    "backend_error", "invalid_parameter", "missing_parameter", "not_found", "access_denied",
    "counter_in_connect", "unauthorized", "invalid_json", "conflict", "quota_requests_by_uid",
    "quota_delegate_requests", "quota_parallel_requests", "quota_requests_by_ip",
    "quota_requests_by_counter"})
MAX_ANSWER = 1 << 20  # bytes of an answer read at most (a CRM's answers are small)


def code_of(body: Any) -> str:
    """An error code a CRM or an ad platform put in its answer, if it is one of CODES
    (never its description, never a code we do not know: it could quote anything)."""
    if isinstance(body, dict):
        for key in ("error", "title"):
            if isinstance(body.get(key), str) and body[key] in CODES:
                return body[key]
        errors = body.get("errors")  # Metrica: {"errors": [{"error_type": ...}], ...}
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            kind = errors[0].get("error_type")
            if isinstance(kind, str) and kind in CODES:
                return kind
    return ""


def parse(raw: bytes, status: int) -> Any:
    """The JSON of a 2xx answer (None: empty); `unreadable` if it is not JSON in UTF-8."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise unreadable(status, "not_utf8") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        page = text.lstrip()[:1] == "<"  # an HTML page: a portal's maintenance, a proxy's
        raise unreadable(status, "maintenance_page" if page else "bad_json") from None


def remote_id(value: object) -> str:
    """A CRM's id of a record, as kept in crm_links: a number (anything else is not an
    answer the bot understands, and is never stored)."""
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise unreadable(200, "bad_answer")
    return text


async def read(response: aiohttp.ClientResponse) -> bytes:
    """The answer's body, at most MAX_ANSWER bytes (`unreadable` if longer)."""
    chunks, size = [], 0
    while chunk := await response.content.read(65536):
        size += len(chunk)
        if size > MAX_ANSWER:
            raise unreadable(response.status, "too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(headers: Any, default: float) -> float:
    """The pause a CRM asked for, in seconds: at most an hour (a `Retry-After: 1e300` is
    the CRM's word, not a date the bot could compute), `default` if it is not a number."""
    try:
        wait = float(headers.get("Retry-After", default))
    except (TypeError, ValueError):
        return default
    return min(max(0.0, wait), 3600.0) if wait == wait else default  # NaN: the default


class Client:
    """One CRM's HTTP side: its session (made in the running loop) and its throttle."""

    def __init__(self, throttle: Throttle, timeout: float, *, keepalive: bool = True) -> None:
        """`keepalive=False`: a new connection per request (GA4's: a connection the server
        closed while idle in the pool, met on sending, would leave the try's outcome
        unknown, and such a try is not made again)."""
        self.throttle, self.timeout, self.keepalive = throttle, timeout, keepalive
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(force_close=not self.keepalive))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, url: str, *, body: bytes | None = None,
                   params: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, pause: float = 1.0,
                   answer: bool = True,
                   codes: Callable[[Any], str] = code_of) -> tuple[int, Any]:
        """(status, parsed JSON or None) of a 2xx; Transient or Permanent otherwise.
        `answer=False`: a 2xx is success whatever its body (the webhook's receiver).
        `codes`: what of an error answer is safe to keep (CODES; Meta's are numbers)."""
        await self.throttle.acquire()
        try:
            async with self.session().request(method, url, data=body, params=params,
                                              headers=headers,
                                              allow_redirects=False) as response:
                status = response.status
                answer_headers = response.headers
                if 300 <= status < 400:  # never followed, never a success
                    raise unreadable(status, "redirect")
                if 200 <= status < 300 and not answer:
                    return status, None
                raw = await read(response)
        except TimeoutError:
            raise Transient("timeout") from None
        except (aiohttp.ClientError, OSError) as error:  # not connected: nothing went;
            # a connection lost once made (reset, closed before the answer): it may have
            # arrived
            raise Transient(f"network: {type(error).__name__}", unknown=not isinstance(
                error, aiohttp.ClientConnectorError)) from None
        if 200 <= status < 300:
            return status, parse(raw, status)
        try:
            code = codes(parse(raw, status))
        except Transient as odd:  # an error page, not the API's JSON
            if answer and 400 <= status < 500 and status != 429:
                # a proxy's or a portal's page (maintenance, a gateway's 403): tried again
                # with back-off and the alert, never a refusal of the lead for good
                raise odd from None
            code = ""  # the webhook's receiver (the operator's own): its status says enough
        reason = f"HTTP {status} {code}".strip()
        if status == 429 or code == "QUERY_LIMIT_EXCEEDED":
            wait = retry_after(answer_headers, pause)
            self.throttle.pause(wait, reason)  # every request to this target waits
            raise Transient(reason, wait)
        if status >= 500 or status in (408, 425):
            raise Transient(reason)
        raise Permanent(reason)
