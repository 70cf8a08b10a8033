"""Typed text kept for the marketer (an unmatched question) with what could identify a
person masked. THE INTERFACE (issue 26): `mask(text)`.

Masked: emails, Telegram @usernames and links, phone-like runs of digits (five or more
digits, with spaces, brackets, dots or dashes between them), and the words after a name
introduction («меня зовут …», «мене звати …», "my name is …", «я — …», "I'm …", "this is …")
up to the end of that sentence or clause."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+|\S+@\S+")
_HANDLE = re.compile(r"(?<!\w)@\w{3,}")
_LINK = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)
_DIGITS = re.compile(r"\+?\d[\d\s().\-]{3,}\d")
_NAME = re.compile(
    r"(?P<intro>\b(?:меня\s+зовут|мене\s+звати|моё\s+имя|мое\s+имя|моє\s+ім['’]я|my\s+name\s+is"
    r"|(?:i\s+am|i['’]m|this\s+is|it['’]s)\s+(?=(?-i:[A-Z]))|я\s*[—–-]\s*|это\s+(?=(?-i:[А-ЯЁ]))"
    r"|це\s+(?=(?-i:[А-ЯІЇЄҐ])))\s*)(?P<name>[^.,!?;:\n]+)",
    re.IGNORECASE)


def mask(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _LINK.sub("[link]", text)
    text = _HANDLE.sub("[username]", text)
    text = _DIGITS.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= 5
                       else m.group(), text)
    return _NAME.sub(lambda m: m.group("intro") + "[name]", text)
