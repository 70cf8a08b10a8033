"""Who may see /admin and /metrics, and the headers every such page carries.

- The token (LEADBOT_ADMIN_TOKEN): `Authorization: Bearer <token>` (scripts, Prometheus),
  or typed into the sign-in form. Compared with hmac.compare_digest (constant time).
- People sign in with a name and password (bot/web/accounts.py); either way the browser
  gets a session cookie: a random token whose SHA-256 is a row of the database (a
  sign-out or a removal ends it on every process), HttpOnly, SameSite=Strict, Secure behind
  https.
- Repeated failures (a wrong token, name or password, a dead one-time link) from one client
  address are slowed down: each one past the first FREE_FAILURES waits longer before its
  401 (up to MAX_DELAY). A right one is never delayed, so an attacker cannot lock the
  operator out; addresses are remembered in a bounded LRU that forgets them after
  FORGET_AFTER, and only WAITING_ROOM failures wait at once (more get 429 at once), so
  memory stays bounded whatever an attacker sends.

May import: aiohttp, the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

SESSION_COOKIE = "leadbot_session"
SESSION_TTL = 12 * 3600  # the cookie's Max-Age: storage/work/people.py SESSION_TTL ends it
FREE_FAILURES = 3
BASE_DELAY = 0.5
MAX_DELAY = 8.0
FORGET_AFTER = 900.0  # seconds without a failure: the address starts afresh
ADDRESSES = 10_000  # remembered at most (the oldest forgotten)
WAITING_ROOM = 64  # failed requests waiting at once, at most

# Every /admin and /metrics answer: never cached, never framed, no outside resources, no
# inline script (the pages have none: charts are server-side SVG).
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make form posts say Origin: null
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PROTECTED = ("/admin", "/metrics")


def protected(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PROTECTED)


@web.middleware
async def security_headers(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
        if protected(request.path):
            response.headers.update(HEADERS)
        raise
    if protected(request.path):
        response.headers.update(HEADERS)
    return response


def behind_https(request: web.Request) -> bool:
    """The cookie is Secure when the page came over https (directly or through a proxy
    that says so: trusting the header can only make the cookie stricter)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


class Slowdown:
    """Failures per client address, and the wait each next failure gets."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self.waiting = 0
        self.closing = asyncio.Event()  # the server stops: nobody waits any longer

    def delay(self, address: str) -> float:
        """Counts a failure from `address` and returns how long its answer waits."""
        now = self.monotonic()
        count, last = self.failures.pop(address, (0, now))
        if now - last > FORGET_AFTER:
            count = 0
        count += 1
        self.failures[address] = (count, now)
        while len(self.failures) > ADDRESSES:
            self.failures.popitem(last=False)
        if count <= FREE_FAILURES:
            return 0.0
        return min(MAX_DELAY, BASE_DELAY * 2 ** (count - FREE_FAILURES - 1))

    async def fail(self, request: web.Request) -> None:
        """Waits before a 401 (raises 429 when too many already wait)."""
        delay = self.delay(request.remote or "?")
        if delay <= 0:
            return
        if self.waiting >= WAITING_ROOM:
            raise web.HTTPTooManyRequests(text="too many failed sign-ins; try again later",
                                          headers={"Retry-After": str(int(MAX_DELAY))})
        self.waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), delay)
        finally:
            self.waiting -= 1


class Guard:
    """LEADBOT_ADMIN_TOKEN's checks (the bearer header, the token sign-in form), the session
    cookie's attributes, and the one Slowdown every failed sign-in waits in: a wrong token,
    a wrong name or password, a dead one-time link."""

    def __init__(self, token: str | None) -> None:
        self.token = token.encode() if token else None
        self.slowdown = Slowdown()

    def right(self, presented: str) -> bool:
        """The token, as presented (a header's bytes that are not UTF-8 are kept as
        surrogates: not the token, never an error). No token set: nothing is right."""
        if self.token is None:
            return False
        try:
            return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"),
                                       self.token)
        except UnicodeEncodeError:  # a lone surrogate no bytes were read as
            return False

    def bearer(self, request: web.Request) -> str | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    def set_cookie(self, request: web.Request, response: web.StreamResponse,
                   value: str) -> None:
        response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_TTL, path="/",
                            httponly=True, samesite="Strict", secure=behind_https(request))

    async def allowed(self, request: web.Request) -> bool:
        """True for a right bearer token. A wrong one counts as a failure (slowed down) and
        answers False; none answers False at once."""
        presented = self.bearer(request)
        if presented is None:
            return False
        if self.right(presented):
            return True
        await self.slowdown.fail(request)
        return False

    async def sign_in(self, request: web.Request, presented: str) -> bool:
        if self.right(presented):
            return True
        await self.slowdown.fail(request)
        return False


def unauthorized(text: str = "401: the admin token is needed (LEADBOT_ADMIN_TOKEN)"
                 ) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(text=text, headers={"WWW-Authenticate": 'Bearer realm="leadbot"'})


def same_origin(request: web.Request) -> bool:
    """A form POST from our own pages (the browser says where it came from); SameSite=Strict
    guards the cookie, this guards the sign-in and sign-out forms themselves."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return origin.split("://", 1)[-1] == request.host
