"""No personal data in logs, by three means, none of which needs to know anyone's name:

1. Parameters are never logged at their source: SQLAlchemy hides statement parameters
   (`hide_parameters`, storage/db/engine.py), the database drivers' own loggers (aiosqlite logs
   every statement with its parameters at DEBUG, around SQLAlchemy) are kept at WARNING and
   their records below it dropped, and so are SQLAlchemy's result rows (DEBUG) should an
   operator switch its statement log on. Our own code logs ids, never values.
2. A filter masks by shape in every record (message, arguments, exception, stack), whatever
   logger wrote it: phone-shaped and email-shaped text, and text escaped out of the
   readable (`\\u041e\\u043b...` from JSON, `\\xd0\\x9e...` from bytes), which is how
   Cyrillic names reach a log line.
3. As a last net, the words of the names the bot has accepted (`remember`) are masked: a
   bounded set of short words looked up per word of a line, so memory and the cost of a
   line stay bounded whatever prospects type. It is empty after a restart; the first two
   do not depend on it.

Installed on the handlers by `configure_logging`, so a record is masked before any handler
formats it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections import OrderedDict
from typing import TextIO

# pymorphy3 (typed answers) says "Loading dictionaries from …" at INFO: not the bot's news,
# and commands whose refusals are one line would print five
logging.getLogger("pymorphy3").setLevel(logging.WARNING)

MASK = "[hidden]"
# (Matches start only where a word starts: a long word costs its length, not its square.)
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone-shaped: a run of digits with maybe a leading + and spaces, dashes, dots or brackets
# between. Masked when it has a + or separators and 7+ digits, or 10+ digits in a row; so
# update and message ids (up to 9 digits) and dates stay readable.
PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){6,16}(?!\w)")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# A word with characters escaped as \uXXXX (JSON, repr) or a run of \xNN bytes (UTF-8 in a
# bytes repr): the whole word goes, letters around the escapes included.
ESCAPED = re.compile(r"(?<![^\W_])[^\W_]*(?:\\u[0-9a-fA-F]{4}[^\W_]*)+"
                     r"|(?:\\x[0-9a-fA-F]{2}){2,}")
WORD = re.compile(r"[^\W\d_]{2,}")  # letters only
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that write personal data below a level: the drivers log statements with their
# parameters; SQLAlchemy logs result rows at DEBUG (its INFO statements hide parameters).
# python-telegram-bot (`telegram`) logs every call's parameters and answer at DEBUG (texts,
# names, phones); httpx logs each request's URL at INFO, and that URL holds the bot's token.
QUIET = {"aiosqlite": logging.WARNING, "asyncpg": logging.WARNING,
         "sqlalchemy.engine": logging.INFO, "sqlalchemy.pool": logging.INFO,
         "telegram": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING}
# `extra={SETTINGS_ONLY: True}`: a record made of settings alone (`leadbot run`'s first line,
# its password hidden), which nobody's data can reach: not masked
SETTINGS_ONLY = "leadbot_settings_only"
MAX_WORD = 30  # longer "words" are nobody's name: not remembered
# Shorter words are not remembered either: "Jo Be" must not hide "be", "to", "no", "на" from
# every log line after it (a short name alone identifies nobody; the shapes above still go).
MIN_WORD = 3
CAPACITY = 20_000  # words remembered at most (the oldest forgotten first)


class PersonalDataFilter(logging.Filter):
    def __init__(self, capacity: int = CAPACITY) -> None:
        super().__init__()
        self._words: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def remember(self, *names: str | None) -> None:
        """Accepted names: their words are masked from now on (a last net, see above)."""
        for name in names:
            for word in WORD.findall((name or "")[:100])[:8]:  # a name has a few words
                if MIN_WORD <= len(word) <= MAX_WORD:
                    self._words[word] = None
                    self._words.move_to_end(word)
        while len(self._words) > self._capacity:
            self._words.popitem(last=False)

    def forget(self) -> None:
        self._words.clear()

    def footprint(self) -> tuple[int, int]:
        """What is remembered: (words, characters). Bounded by capacity and MAX_WORD."""
        return len(self._words), sum(map(len, self._words))

    def mask(self, text: str) -> str:
        text = EMAIL.sub(MASK, text)
        text = PHONE.sub(_phone, text)
        text = ESCAPED.sub(MASK, text)
        if self._words:  # one look-up per word of the line, however many are remembered
            words = self._words
            text = WORD.sub(lambda m: MASK if m.group(0) in words else m.group(0), text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < _quiet_below(record.name):
            return False  # a statement's parameters or a result row: personal data
        if getattr(record, SETTINGS_ONLY, False):
            return True  # the operator's own settings (a database URL is email-shaped)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, masked
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def _quiet_below(name: str) -> int:
    while name:
        if name in QUIET:
            return QUIET[name]
        name = name.rpartition(".")[0]
    return 0


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(c.isdigit() for c in found)
    if DATE.match(found):
        return found
    return MASK if digits >= 10 or (digits >= 7 and not found.isdigit()) else found


FILTER = PersonalDataFilter()


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the moment (not the one at set-up)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


_installed: logging.Handler | None = None


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """The process's logging: one handler on the root logger, masked (configured again, it
    replaces the one before). Returns the handler."""
    global _installed
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(FILTER)
    root = logging.getLogger()
    for name in ("aiosqlite", "asyncpg", "telegram", "httpx", "httpcore"):  # never even made
        logging.getLogger(name).setLevel(QUIET[name])
    if _installed is not None:
        root.removeHandler(_installed)
    root.addHandler(handler)
    root.setLevel(level.upper())
    _installed = handler
    return handler
