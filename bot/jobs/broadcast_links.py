"""A broadcast's link buttons, counted. Telegram opens a link button's URL without telling
the bot, so when the bot has a public address (LEADBOT_PUBLIC_URL) each recipient's link
button points at the bot's web server instead, `GET /b/<token>` (bot/web/taps.py), which
records the tap and answers 302 to the button's URL.

The token is `<broadcast id>.<button index>.<recipient id>.<signature>`: ids of leadbot's
own rows, nothing personal (no Telegram id, no name), and an HMAC-SHA256 of the three under
a key derived from the bot's token, so that nobody can count taps for another recipient by
changing a number. Where the visitor goes is always the URL of the broadcast's definition,
never anything the token says: the server is no open redirect. A new bot token makes the
signatures of earlier messages wrong: their links still lead on, their taps are no longer
counted.

May import: bot.settings, dialogs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from bot.settings import Settings
from dialogs.broadcasts.message import LARGEST_ID

PATH = "/b/{token}"
SIGNATURE = 16  # characters of the signature kept (96 bits)
TOKEN = re.compile(r"^([0-9]{1,10})\.([0-9]{1,2})\.([0-9]{1,10})\.([A-Za-z0-9_-]{16})\Z")


@dataclass(frozen=True)
class Tap:
    broadcast_id: int
    index: int
    recipient_id: int
    genuine: bool  # the signature is right: the tap may be counted


@dataclass(frozen=True)
class Links:
    """Makes each recipient's link address: the public one (LEADBOT_PUBLIC_URL)."""

    base: str  # the public address, no trailing slash
    key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> Links | None:
        """None without a public https address (links then go straight to their URL, not
        counted: a recipient's token never travels unencrypted)."""
        key = key_from_settings(settings)
        if not (settings.public_url or "").startswith("https://") or key is None:
            return None
        return cls(settings.public_url.rstrip("/"), key)

    def url(self, broadcast_id: int, index: int, recipient_id: int) -> str:
        return f"{self.base}/b/{token(self.key, broadcast_id, index, recipient_id)}"


def key_from_settings(settings: Settings) -> bytes | None:
    """The signatures' key; None without a bot token. /b/ is served whenever there is one,
    public address or not: links already sent keep leading on if it is unset later."""
    if settings.bot_token is None or not settings.bot_token.get_secret_value():
        return None
    return key_of(settings.bot_token.get_secret_value())


def key_of(bot_token: str) -> bytes:
    return hashlib.sha256(b"leadbot broadcast links\0" + bot_token.encode()).digest()


def token(key: bytes, broadcast_id: int, index: int, recipient_id: int) -> str:
    body = f"{broadcast_id}.{index}.{recipient_id}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).decode()[:SIGNATURE]}"


def read(key: bytes, given: str) -> Tap | None:
    """What a token says, or None if it is not one (ids past what the database holds
    included: PostgreSQL's integer would refuse them)."""
    found = TOKEN.fullmatch(given)
    if found is None:
        return None
    broadcast_id, index, recipient_id = (int(part) for part in found.groups()[:3])
    if not (1 <= broadcast_id <= LARGEST_ID and 1 <= recipient_id <= LARGEST_ID):
        return None
    expected = token(key, broadcast_id, index, recipient_id)
    return Tap(broadcast_id, index, recipient_id, hmac.compare_digest(expected, given))
