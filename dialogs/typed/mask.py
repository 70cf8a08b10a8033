"""Typed text kept for the marketer (an unmatched question) with what could identify a
person masked: emails, phone-like runs of digits. THE INTERFACE (issue 26): `mask(text)`.
This first version masks emails and runs of five or more digits."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\S+@\S+")
_DIGITS = re.compile(r"\+?\d[\d\s().\-]{3,}\d")


def mask(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    return _DIGITS.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= 5
                       else m.group(), text)
