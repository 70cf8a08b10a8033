"""No personal data in logs: a filter that masks phone numbers, emails and prospects' names
in every record (its message, its arguments, its exception and stack), whatever logger wrote
it — ours, aiogram's, SQLAlchemy's, asyncio's.

Phones and emails are found by their shape. Names have no shape, so the service tells the
filter each name it sees (`remember`): a bounded set kept in memory only, never written.
Installed on the handlers by `configure_logging`, so a record is masked before any handler
formats it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections import OrderedDict
from typing import TextIO

MASK = "[hidden]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone-shaped: a run of digits with maybe a leading + and spaces, dashes, dots or brackets
# between. Masked when it has a + or separators and 7+ digits, or 10+ digits in a row; so
# update and message ids (up to 9 digits) and dates stay readable.
PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){6,16}(?!\w)")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PersonalDataFilter(logging.Filter):
    def __init__(self, capacity: int = 100_000) -> None:
        super().__init__()
        self._names: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity
        self._pattern: re.Pattern[str] | None = None

    def remember(self, *names: str | None) -> None:
        """Names (and any other personal words) to mask from now on."""
        for name in names:  # words with letters: masking digits would hide ids and times
            if name and len(name.strip()) >= 2 and any(c.isalpha() for c in name):
                self._names[name.strip()] = None
                self._names.move_to_end(name.strip())
                self._pattern = None
        while len(self._names) > self._capacity:
            self._names.popitem(last=False)

    def mask(self, text: str) -> str:
        text = EMAIL.sub(MASK, text)
        text = PHONE.sub(_phone, text)
        if self._names:
            if self._pattern is None:
                words = sorted(self._names, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, words)))
            text = self._pattern.sub(MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
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
    if _installed is not None:
        root.removeHandler(_installed)
    root.addHandler(handler)
    root.setLevel(level.upper())
    _installed = handler
    return handler
