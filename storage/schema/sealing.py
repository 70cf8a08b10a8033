"""Personal data encrypted at rest when LEADBOT_PII_KEY is set (Telegram's Bot Platform
Developer Terms ask for it; GDPR Art. 32 names it).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) on the name, phone and email columns
and on the contact details kept in a conversation's state. A stored value is either plain
text or `enc1:<token>`; the prefix says which, so a database can be encrypted in place
(`leadbot db rotate-key`) and a value is never decrypted by guess.

LEADBOT_PII_KEY holds one or more Fernet keys separated by commas, newest first: new values
are encrypted with the first, every listed key can decrypt. Key rotation: put the new key
first, keep the old one after it, run `leadbot db rotate-key` (re-encrypts every value with
the new key), then drop the old key.

Lookups by phone use a keyed hash (HMAC-SHA256 with a key derived from the newest key), so the
phone can be found without being readable.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "enc1:"


class PiiKeyError(Exception):
    """The personal data cannot be read with the key given (or without one): one line for
    the operator."""


class Cipher:
    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise PiiKeyError("LEADBOT_PII_KEY is empty")
        try:
            fernets = [Fernet(part.encode()) for part in parts]
        except (ValueError, TypeError):
            raise PiiKeyError("LEADBOT_PII_KEY is not a Fernet key (32 url-safe base64 bytes; "
                              "make one with `leadbot db new-key`)") from None
        self._fernet = MultiFernet(fernets)
        self._newest = fernets[0]
        self._hash_key = hashlib.sha256(b"leadbot-lookup:" + parts[0].encode()).digest()

    def encrypt(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        if not value.startswith(PREFIX):
            return value  # stored before the key was set; `leadbot db rotate-key` encrypts it
        try:
            return self._fernet.decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise PiiKeyError("LEADBOT_PII_KEY does not decrypt the personal data stored "
                              "(a wrong key, or the old key dropped before "
                              "`leadbot db rotate-key`)") from None

    def rotate(self, value: str) -> str:
        """The value encrypted with the newest key (plain text gets encrypted too)."""
        return self.encrypt(self.decrypt(value))

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()


_cipher: Cipher | None = None


def configure(keys: str | None) -> Cipher | None:
    """Process-wide, set once at start (the column types below use it)."""
    global _cipher
    _cipher = Cipher(keys) if keys else None
    return _cipher


def current() -> Cipher | None:
    return _cipher


def seal(value: str | None) -> str | None:
    if value is None or _cipher is None:
        return value
    return _cipher.encrypt(value)


def unseal(value: str | None) -> str | None:
    if value is None or not value.startswith(PREFIX):
        return value
    if _cipher is None:
        raise PiiKeyError("the database holds encrypted personal data but LEADBOT_PII_KEY "
                          "is not set")
    return _cipher.decrypt(value)


def lookup_hash(value: str | None) -> str | None:
    """The keyed hash of a phone (None without a key: the plain column is searchable)."""
    if value is None or _cipher is None:
        return None
    return _cipher.lookup_hash(value)


def new_key() -> str:
    return Fernet.generate_key().decode()
