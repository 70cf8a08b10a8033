"""Updates as they arrive, whatever the library: read one by one, outages told from bugs.

Each update is read on its own: one that cannot be read (a field Telegram always sends
missing, nesting no update has) is logged by its id, counted and skipped, never allowed to
hold up the others. NUL characters are taken out of every string (PostgreSQL refuses them in
text; no prospect means one). An update that keeps failing for a bug is skipped after
MAX_FAILURES tries; an outage (the database or the network away) is not the update's fault
and is waited out instead. A skipped button tap is still answered, so it stops spinning
(each transport's answer_skipped).

May import: SQLAlchemy's errors, bot.texts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
MAX_FAILURES = 3  # an update whose handling hits a bug is skipped after this many tries
MAX_DEPTH = 32  # Telegram's updates nest a few levels (a reply in a message); no more
# SQLSTATE classes that mean the database is away or busy, not that the statement is bad:
# connection (08), transaction rollback (40: serialization, deadlock), insufficient
# resources (53), operator intervention (57: shut down, restarting), system error (58).
OUTAGE_SQLSTATES = ("08", "40", "53", "57", "58", "55P03")
U = TypeVar("U")


@dataclass
class Counters:
    """Updates not handled on purpose, for the operator (logged as well)."""

    unreadable: int = 0  # could not be parsed: skipped at once
    skipped: int = 0  # failed MAX_FAILURES times for a bug: skipped


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


def read(raw: Any, counters: Counters, build: Callable[[Any], U],
         describe: Callable[[BaseException], str]
         = lambda error: str(error) or type(error).__name__) -> U | None:
    """`build` (the library's parser) applied to the cleaned update; None, logged and
    counted, when it raises (or the update is too deep or too big). A parser does no I/O, so
    whatever it raises is the update's fault, never an outage: a `date` no datetime holds
    raises OSError or OverflowError in python-telegram-bot, a field missing TypeError in one
    library and ValidationError in the other. Skipped, the update is acknowledged (polling's
    offset moves past it, the webhook answers 200) and never comes back."""
    try:
        return build(clean(raw))
    except Exception as error:  # any parser's refusal: see above
        counters.unreadable += 1
        kinds = sorted(k for k in raw if k != "update_id") if isinstance(raw, dict) else []
        log.error("update %s (%s) cannot be read (%s); skipped (%s so far)",
                  update_id_of(raw), ", ".join(kinds) or "?", describe(error),
                  counters.unreadable)
        return None


class Tries:
    """How often each update failed for a bug; it is skipped after MAX_FAILURES. Updates are
    any library's: each has an `update_id`."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.failures: dict[int, int] = {}

    def failed(self, update: Any) -> bool:
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

    def done(self, update: Any) -> None:
        self.failures.pop(update.update_id, None)
