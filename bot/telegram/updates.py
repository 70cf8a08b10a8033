"""Updates as they arrive, before the dispatcher, for polling and the webhook alike.

Each update is read on its own: one that cannot be read (a field aiogram requires missing,
nesting no update has) is logged by its id, counted and skipped, never allowed to hold up
the others. NUL characters are taken out of every string (PostgreSQL refuses them in text;
no prospect means one). An update that keeps failing for a bug is skipped after
MAX_FAILURES tries; an outage (the database or the network away) is not the update's fault
and is waited out instead. A skipped button tap is still answered, so it stops spinning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetUpdates
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.texts import TAP_FAILED, language_of

log = logging.getLogger(__name__)
MAX_FAILURES = 3  # an update whose handling hits a bug is skipped after this many tries
MAX_DEPTH = 32  # Telegram's updates nest a few levels (a reply in a message); no more
# SQLSTATE classes that mean the database is away or busy, not that the statement is bad:
# connection (08), transaction rollback (40: serialization, deadlock), insufficient
# resources (53), operator intervention (57: shut down, restarting), system error (58).
OUTAGE_SQLSTATES = ("08", "40", "53", "57", "58", "55P03")


@dataclass
class Counters:
    """Updates not handled on purpose, for the operator (logged as well)."""

    unreadable: int = 0  # could not be parsed: skipped at once
    skipped: int = 0  # failed MAX_FAILURES times for a bug: skipped


class GetRawUpdates(GetUpdates):
    """getUpdates whose updates stay plain JSON, to be parsed one by one: aiogram's own
    method fails the whole batch for one update it cannot parse, and then again, forever."""

    __returning__ = list[dict[str, Any]]


def is_outage(error: BaseException) -> bool:
    """The database or the network away (retry for as long as it takes), as opposed to a
    statement the database refuses (a bug, or input that got past validation: skip after
    MAX_FAILURES tries)."""
    if isinstance(error, OSError | TimeoutError | PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if state:
        return str(state).startswith(OUTAGE_SQLSTATES)
    return isinstance(error, OperationalError | InterfaceError)  # SQLite: locked, I/O


def clean(value: Any, depth: int = 0) -> Any:
    """The update's JSON without NUL characters or lone surrogates in any string; ValueError
    when it nests deeper than any update does or holds a number no id column takes (Telegram's
    ids fit in 64 bits)."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deep")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError("a number past 64 bits")
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no database takes it
            value = value.encode(errors="replace").decode()
        return value
    if isinstance(value, dict):
        return {key: clean(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [clean(item, depth + 1) for item in value]
    return value


def update_id_of(raw: Any) -> int | None:
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    return update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else None


def parse(raw: Any, bot: Bot, counters: Counters) -> Update | None:
    """The update, cleaned; None (logged and counted) when it cannot be read."""
    try:
        return Update.model_validate(clean(raw), context={"bot": bot})
    except (ValidationError, ValueError, RecursionError) as error:
        counters.unreadable += 1
        kinds = sorted(k for k in raw if k != "update_id") if isinstance(raw, dict) else []
        reason = (f"{error.error_count()} fields wrong or missing"
                  if isinstance(error, ValidationError) else str(error) or type(error).__name__)
        log.error("update %s (%s) cannot be read (%s); skipped (%s so far)",
                  update_id_of(raw), ", ".join(kinds) or "?", reason, counters.unreadable)
        return None


class Tries:
    """How often each update failed for a bug; it is skipped after MAX_FAILURES."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.failures: dict[int, int] = {}

    def failed(self, update: Update) -> bool:
        """Logs the failure (the exception being handled); True when the update is given up."""
        count = self.failures[update.update_id] = self.failures.get(update.update_id, 0) + 1
        log.exception("update %s failed (try %s of %s)", update.update_id, count, MAX_FAILURES)
        if count < MAX_FAILURES:
            return False
        self.failures.pop(update.update_id, None)
        self.counters.skipped += 1
        log.error("update %s skipped after %s failures (%s so far)", update.update_id, count,
                  self.counters.skipped)
        return True

    def done(self, update: Update) -> None:
        self.failures.pop(update.update_id, None)


async def answer_skipped(bot: Bot, update: Update) -> None:
    """A tap given up on is answered all the same (a sorry, in the tapper's language):
    a button never answered spins until Telegram's client gives up."""
    query = update.callback_query
    if query is None:
        return
    try:
        await bot.answer_callback_query(
            query.id, text=TAP_FAILED[language_of(query.from_user.language_code)])
    except (TelegramAPIError, OSError) as error:  # too late (15 s), or Telegram away
        log.warning("could not answer the skipped tap of update %s: %s", update.update_id,
                    type(error).__name__)
