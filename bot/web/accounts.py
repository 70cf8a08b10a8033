"""Who is signed in to /admin: people (`leadbot admin add`, storage/work/people.py) with a
password, and the holder of LEADBOT_ADMIN_TOKEN (who acts as the owner).

- Passwords are kept as argon2id hashes (argon2-cffi's PasswordHasher, its RFC 9106
  defaults: a salt each, 64 MiB and three passes, the cost written in the hash). Hashing
  takes a good part of a second of CPU and that memory on purpose: it runs in a thread, off
  the loop, at most HASHING at once (a flood of guesses queues; it cannot eat the memory).
- A sign-in opens a session row; the cookie holds its token (the row only the SHA-256), so
  a sign-out or a removal on one process ends it on every process. Sessions end after
  SESSION_TTL, or SESSION_IDLE without a page asked for.
- A wrong name or password waits like a wrong token (bot/web/security.py Slowdown), and an
  unknown name costs the same hashing time as a known one: the answer says nothing of
  which names exist.

May import: aiohttp, argon2, bot.web, storage (through the app's sessions).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.viewer import TOKEN_HOLDER, Viewer
from storage.work import people
from storage.work.people import SESSION_IDLE, SESSION_TTL, Person

__all__ = ["MIN_PASSWORD", "SESSION_IDLE", "SESSION_TTL", "Accounts", "password_problem"]

MIN_PASSWORD = 10  # characters
MAX_PASSWORD = 1024  # characters: argon2 takes any length, a megabyte of form is no password
HASHING = 2  # argon2 computations at once, per process
HASHER = PasswordHasher()
# an unknown name is checked against this, so it takes as long as a known one
_NOBODY = HASHER.hash("no such person: the same work as a real check")


def now_utc() -> datetime:
    return datetime.now(UTC)


def password_problem(password: str, again: str) -> str | None:
    """The i18n key of what is wrong with a new password (None: it will do)."""
    if password != again:
        return "passwords_differ"
    if len(password) < MIN_PASSWORD:
        return "password_short"
    if len(password) > MAX_PASSWORD:
        return "password_long"
    return None


def _verify(hashed: str | None, password: str) -> bool:
    try:
        return HASHER.verify(hashed or _NOBODY, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


class Accounts:
    """Sessions and passwords, over the app's database. `token`: LEADBOT_ADMIN_TOKEN (or
    None); `clock`: now, in UTC (tests move it)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], token: str | None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        self.sessions, self.clock = sessions, clock
        self.hashing = asyncio.Semaphore(HASHING)
        # which token a token holder's session was opened with (not the token: a hash)
        self.mark = (hashlib.sha256(b"leadbot admin session " + token.encode()).hexdigest()[:16]
                     if token else None)

    async def anyone(self) -> bool:
        """Somebody may sign in with a name (else, without a token, /admin is not there)."""
        async with self.sessions() as session:
            return await people.anyone(session)

    async def who(self, cookie: str | None) -> Viewer | None:
        """The viewer of a live session cookie (None: no cookie, or a dead one)."""
        if not cookie or len(cookie) > 100:
            return None
        async with self.sessions() as session, session.begin():
            found = await people.signed(session, cookie, self.clock())
        if found is None:
            return None
        if found.person is None:
            return TOKEN_HOLDER if self.mark and found.token_mark == self.mark else None
        return Viewer(found.person.name, found.person.role)

    async def open_for_token_holder(self) -> str:
        async with self.sessions() as session, session.begin():
            return await people.open_session(session, None, self.clock(), self.mark)

    async def sign_in(self, name: str, password: str) -> str | None:
        """A new session's cookie for the right name and password (None: wrong)."""
        if len(password) > MAX_PASSWORD or len(name) > 200:
            return None
        async with self.sessions() as session:
            found = await people.find(session, name)
        person, hashed = found if found is not None else (None, None)
        async with self.hashing:
            right = await asyncio.to_thread(_verify, hashed, password)
        if not right or person is None:
            return None
        async with self.sessions() as session, session.begin():
            return await people.open_session(session, person, self.clock())

    async def link_person(self, token: str) -> Person | None:
        if len(token) > 100:
            return None
        async with self.sessions() as session:
            return await people.link_person(session, token, self.clock())

    async def set_password(self, token: str, password: str) -> str | None:
        """Spends the one-time link `token` on the password; a new session's cookie (None:
        the link is no good any more)."""
        if await self.link_person(token) is None:
            return None
        async with self.hashing:
            hashed = await asyncio.to_thread(HASHER.hash, password)
        async with self.sessions() as session, session.begin():
            now = self.clock()
            person = await people.use_link(session, token, hashed, now)
            if person is None:
                return None
            return await people.open_session(session, person, now)

    async def sign_out(self, cookie: str | None) -> None:
        if cookie and len(cookie) <= 100:
            async with self.sessions() as session, session.begin():
                await people.close_session(session, cookie)
