"""The dashboard's people, their one-time sign-in links and their sessions
(storage/schema/people.py): what `leadbot admin` and the sign-in (bot/web/accounts.py) read
and write. Functions take the session of a transaction the caller commits, and `now`.

Tokens are made here and given back once; only their SHA-256 is stored. A name is matched
ignoring case (Olga signs in as olga too), and two people's names never differ only in case.

Imports storage.schema only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.schema.people import ROLES, AdminLink, AdminPerson, AdminSession

LINK_TTL = timedelta(hours=72)  # a one-time link's life
SESSION_TTL = timedelta(hours=12)  # a session's life, however busy
SESSION_IDLE = timedelta(hours=2)  # ... and without a page asked for
TOUCH_EVERY = timedelta(minutes=1)  # seen_at written at most this often (a write per page)
# a name: letters of any script, digits, and . _ - or a space inside; 1 to 64 characters
NAME = re.compile(r"^\w(?:[\w. -]{0,62}[\w.])?\Z")
RESERVED = ("admin token", "cli")  # what the contacts log records for the token, the CLI


class PeopleError(ValueError):
    """A name or role that cannot be, said in one line for the operator."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str
    has_password: bool
    created_at: datetime


@dataclass(frozen=True)
class Signed:
    """Whose a live session is: a person's (`person` set) or the token holder's."""
    person: Person | None
    token_mark: str | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _person(row: AdminPerson) -> Person:
    assert row.id is not None
    return Person(row.id, row.name, row.role, row.password_hash is not None, row.created_at)


def checked_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise PeopleError(f"{name!r} is not a name: 1 to 64 letters or digits (a space, "
                          ". _ - inside)")
    if name.casefold() in RESERVED:
        raise PeopleError(f"{name!r} is not a name: the contacts log says so of the token")
    return name


def checked_role(role: str) -> str:
    if role not in ROLES:
        raise PeopleError(f"{role!r} is not a role: {', '.join(ROLES)}")
    return role


async def _present(session: AsyncSession) -> list[AdminPerson]:
    return list((await session.execute(
        select(AdminPerson).where(AdminPerson.removed_at.is_(None))  # type: ignore[union-attr]
        .order_by(AdminPerson.name))).scalars())


async def _row(session: AsyncSession, name: str) -> AdminPerson | None:
    wanted = name.strip().casefold()
    return next((row for row in await _present(session) if row.name.casefold() == wanted),
                None)


async def people(session: AsyncSession) -> list[Person]:
    """Everyone who may sign in (not removed), by name."""
    return [_person(row) for row in await _present(session)]


async def anyone(session: AsyncSession) -> bool:
    return (await session.execute(select(AdminPerson.id).where(
        AdminPerson.removed_at.is_(None)).limit(1))).first() is not None  # type: ignore[union-attr]


async def find(session: AsyncSession, name: str) -> tuple[Person, str | None] | None:
    """(the person, their password's hash) by name, ignoring case."""
    row = await _row(session, name)
    return None if row is None else (_person(row), row.password_hash)


async def add(session: AsyncSession, name: str, role: str, now: datetime) -> Person:
    """A new person (or a removed one back, with the new role and no password)."""
    name, role = checked_name(name), checked_role(role)
    if await _row(session, name) is not None:
        raise PeopleError(f"{name!r} is there already (`leadbot admin link {name}` gives "
                          "them a new sign-in link)")
    row = (await session.execute(select(AdminPerson).where(AdminPerson.name == name))
           ).scalar_one_or_none()
    if row is None:
        row = AdminPerson(name=name, role=role, created_at=now)
        session.add(row)
    else:
        row.role, row.password_hash, row.removed_at, row.created_at = role, None, None, now
    await session.flush()
    return _person(row)


async def remove(session: AsyncSession, name: str, now: datetime) -> Person | None:
    """Marks the person removed and ends their sessions and links (None: no such person)."""
    row = await _row(session, name)
    if row is None:
        return None
    row.removed_at, row.password_hash = now, None
    await _forget(session, row.id)
    await session.flush()
    return _person(row)


async def _forget(session: AsyncSession, person_id: int | None) -> None:
    await session.execute(delete(AdminSession).where(AdminSession.person_id == person_id))
    await session.execute(delete(AdminLink).where(AdminLink.person_id == person_id))


async def new_link(session: AsyncSession, person: Person, now: datetime) -> str:
    """A one-time link's token for `person`; their earlier links die."""
    await session.execute(delete(AdminLink).where(AdminLink.person_id == person.id))
    token = secrets.token_urlsafe(32)
    session.add(AdminLink(token_hash=digest(token), person_id=person.id, created_at=now,
                          expires_at=now + LINK_TTL))
    await session.flush()
    return token


async def link_person(session: AsyncSession, token: str, now: datetime) -> Person | None:
    """Whose unused, unexpired link `token` is (None: none, used or expired)."""
    found = (await session.execute(
        select(AdminPerson).join(AdminLink, AdminLink.person_id == AdminPerson.id)
        .where(AdminLink.token_hash == digest(token), AdminLink.used_at.is_(None),  # type: ignore[union-attr]
               AdminLink.expires_at > now,
               AdminPerson.removed_at.is_(None)))).scalar_one_or_none()  # type: ignore[union-attr]
    return None if found is None else _person(found)


async def use_link(session: AsyncSession, token: str, password_hash: str, now: datetime
                   ) -> Person | None:
    """Sets the password of the link's person and spends the link (once: a second use, or
    one racing it on another process, finds it used and changes nothing)."""
    person = await link_person(session, token, now)
    if person is None:
        return None
    spent = await session.execute(
        update(AdminLink).where(AdminLink.token_hash == digest(token),
                                AdminLink.used_at.is_(None)).values(used_at=now))  # type: ignore[union-attr]
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.execute(update(AdminPerson).where(AdminPerson.id == person.id)
                          .values(password_hash=password_hash))
    await session.execute(delete(AdminSession).where(AdminSession.person_id == person.id))
    return Person(person.id, person.name, person.role, True, person.created_at)


async def open_session(session: AsyncSession, person: Person | None, now: datetime,
                       token_mark: str | None = None) -> str:
    """A new session's cookie value (a person's, or the token holder's with its mark)."""
    token = secrets.token_urlsafe(32)
    session.add(AdminSession(token_hash=digest(token), person_id=person.id if person else None,
                             token_mark=token_mark, created_at=now, seen_at=now,
                             expires_at=now + SESSION_TTL))
    # the expired ones go as new ones come: the table stays the size of the live ones
    await session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
    return token


async def signed(session: AsyncSession, token: str, now: datetime) -> Signed | None:
    """Whose live session `token` is (None: none, expired, idle too long, or its person
    removed); a session in use is kept alive (seen_at)."""
    found = (await session.execute(
        select(AdminSession, AdminPerson)
        .outerjoin(AdminPerson, AdminPerson.id == AdminSession.person_id)
        .where(AdminSession.token_hash == digest(token)))).first()
    if found is None:
        return None
    row, person = found
    if row.expires_at <= now or row.seen_at + SESSION_IDLE <= now:
        return None
    if row.person_id is not None and (person is None or person.removed_at is not None):
        return None
    if now - row.seen_at >= TOUCH_EVERY:
        await session.execute(update(AdminSession).where(AdminSession.token_hash == row.token_hash)
                              .values(seen_at=now))
    return Signed(_person(person) if person is not None else None, row.token_mark)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(AdminSession).where(AdminSession.token_hash == digest(token)))
