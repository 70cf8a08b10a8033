"""The dashboard's people (`leadbot admin add`), their one-time sign-in links and their
sessions. Secrets are never stored: a link or a session is kept as the SHA-256 of its token
(the token itself lives only in the link given out or the browser's cookie), a password as
its argon2 hash (bot/web/accounts.py). Sessions are rows, so every bot process on one
PostgreSQL sees the same sign-ins and sign-outs.

A removed person's row stays (`removed_at`): the contacts log names who looked, and the
name may be added again later (the row comes back with a new role and no password).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.schema.columns import UTCDateTime
from storage.schema.tables import utcnow

ROLES = ("marketer", "sales", "owner")


class AdminPerson(SQLModel, table=True):
    __tablename__ = "admin_people"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)  # one of ROLES
    password_hash: str | None = Field(default=None, max_length=255)  # None: not set yet
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AdminLink(SQLModel, table=True):
    """A one-time sign-in link: the person sets a password with it, once, before expiry."""

    __tablename__ = "admin_links"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="admin_people.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AdminSession(SQLModel, table=True):
    """A signed-in browser: a person's, or the admin token holder's (`person_id` None,
    `token_mark` naming which token: a new LEADBOT_ADMIN_TOKEN signs its holder out)."""

    __tablename__ = "admin_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int | None = Field(default=None, foreign_key="admin_people.id", index=True)
    token_mark: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)  # the absolute end
