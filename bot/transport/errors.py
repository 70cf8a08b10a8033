"""What a transport tells the rest of the bot when Telegram says no, without a Telegram
library's exception classes: bot/app.py turns a refusal at start into its StartupError,
and `leadbot run` (bot/cli/run.py) stops with one line when the token is revoked.

May import: nothing (the standard library only).
"""

from __future__ import annotations


class TelegramRefused(Exception):
    """Why Telegram does not let the bot start, in one line for the operator."""


class CallLater(Exception):
    """Telegram answered 429 to a call made once at start (setWebhook: N processes start
    together and each sets it): try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class TokenRevoked(Exception):
    """Telegram refused the bot's token while it was running (revoked, most likely)."""


class FetchRetryAfter(Exception):
    """getUpdates answered 429: poll again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class FetchFailed(Exception):
    """getUpdates failed for the network, a 5xx or a conflict: poll again after a back-off."""
