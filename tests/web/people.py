"""A person signed in, as `leadbot admin add` and the link's first visit make one: their
session cookie, straight from the bot's database (tests of what each role may see)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.web.security import SESSION_COOKIE
from storage.work import people


async def signed_in(sessions, name: str, role: str) -> dict[str, str]:
    """The request headers of `name` (`role`) signed in: a real session of the database."""
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        found = await people.find(session, name)
        person = found[0] if found is not None else await people.add(session, name, role, now)
        cookie = await people.open_session(session, person, now)
    return {"Cookie": f"{SESSION_COOKIE}={cookie}"}
