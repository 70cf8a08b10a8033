"""Who may see /admin and /metrics (LEADBOT_ADMIN_TOKEN), and the headers every such page
carries.

- The token: `Authorization: Bearer <token>` (scripts, Prometheus) or a session cookie set
  by the sign-in form (people). Compared with hmac.compare_digest (constant time).
- The session cookie is signed, not stored: `<expiry>.<nonce>.<HMAC>` with a key derived from
  the token (a new token signs everybody out), HttpOnly, SameSite=Strict, Secure behind
  https, expiring after SESSION_TTL. Signing out remembers the nonce until its expiry
  (bounded), so a copied cookie dies with the sign-out too.
- Repeated failures from one client address are slowed down: each wrong token past the
  first FREE_FAILURES waits longer before its 401 (up to MAX_DELAY). A right token is never
  delayed, so an attacker cannot lock the operator out; addresses are remembered in a bounded
  LRU that forgets them after FORGET_AFTER, and only WAITING_ROOM failures wait at once (more
  get 429 at once), so memory stays bounded whatever an attacker sends.

May import: aiohttp, the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

SESSION_COOKIE = "leadbot_session"
SESSION_TTL = 12 * 3600
FREE_FAILURES = 3
BASE_DELAY = 0.5
MAX_DELAY = 8.0
FORGET_AFTER = 900.0  # seconds without a failure: the address starts afresh
ADDRESSES = 10_000  # remembered at most (the oldest forgotten)
WAITING_ROOM = 64  # failed requests waiting at once, at most
SIGNED_OUT = 10_000  # nonces of signed-out sessions remembered at most

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
    """LEADBOT_ADMIN_TOKEN's checks: bearer header, session cookie, sign-in, sign-out."""

    def __init__(self, token: str, clock: Callable[[], float] = time.time) -> None:
        self.token = token.encode()
        self.key = hmac.new(self.token, b"leadbot admin session", hashlib.sha256).digest()
        self.clock = clock
        self.slowdown = Slowdown()
        self.signed_out: OrderedDict[str, int] = OrderedDict()

    def right(self, presented: str) -> bool:
        """The token, as presented (a header's bytes that are not UTF-8 are kept as
        surrogates: not the token, never an error)."""
        try:
            return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"),
                                       self.token)
        except UnicodeEncodeError:  # a lone surrogate no bytes were read as
            return False

    def bearer(self, request: web.Request) -> str | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None

    # -- sessions --------------------------------------------------------------------------

    def _signature(self, body: str) -> str:
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        body = f"{int(self.clock()) + SESSION_TTL}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._signature(body)}"

    def session_valid(self, cookie: str | None) -> bool:
        if not cookie or cookie.count(".") != 2:
            return False
        if not cookie.isascii():  # no cookie of ours (compare_digest refuses such a str)
            return False
        expiry, nonce, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._signature(f"{expiry}.{nonce}")):
            return False
        return (expiry.isdigit() and int(expiry) > self.clock()
                and nonce not in self.signed_out)

    def sign_out(self, cookie: str | None) -> None:
        if not self.session_valid(cookie):
            return
        assert cookie is not None
        expiry, nonce, _ = cookie.split(".")
        self.signed_out[nonce] = int(expiry)
        now = self.clock()
        for old in [n for n, until in self.signed_out.items() if until <= now]:
            del self.signed_out[old]
        while len(self.signed_out) > SIGNED_OUT:
            self.signed_out.popitem(last=False)

    def set_cookie(self, request: web.Request, response: web.StreamResponse) -> None:
        response.set_cookie(SESSION_COOKIE, self.new_session(), max_age=SESSION_TTL,
                            path="/", httponly=True, samesite="Strict",
                            secure=behind_https(request))

    # -- the check ---------------------------------------------------------------------------

    async def allowed(self, request: web.Request) -> bool:
        """True for a right bearer token or a live session. A wrong bearer token counts as
        a failure (slowed down) and answers False; no credentials answer False at once."""
        presented = self.bearer(request)
        if presented is not None:
            if self.right(presented):
                return True
            await self.slowdown.fail(request)
            return False
        return self.session_valid(request.cookies.get(SESSION_COOKIE))

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
