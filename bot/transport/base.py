"""The shape of a transport, as the app (bot/app.py) and the neutral loops see it.

A transport is one Telegram library behind these methods: the app builds it from the
settings (bot/transport/__init__.py open_transport), attaches the service, checks Telegram,
then polls or serves the webhook route; the outbox sender delivers through its `delivery`.

May import: the standard library, bot.outbox, bot.transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.handoff.handoffs import Handoffs
    from bot.outbox.port import Delivery
    from bot.service.core import Service
    from bot.settings import Settings
    from bot.transport.updates import Counters


class Wire(Protocol):
    """One library's side of the neutral polling loop and webhook route."""

    async def fetch(self, offset: int | None, timeout: int,
                    allowed_updates: list[str]) -> list[Any]:
        """getUpdates, its updates as plain JSON. Raises TokenRevoked when the token is
        refused, FetchRetryAfter on a 429, FetchFailed for the network, a 5xx or a conflict;
        anything else is logged with its traceback and retried."""
        ...

    def parse(self, raw: Any, counters: Counters) -> Any | None:
        """The library's update, cleaned; None (logged, counted) when it cannot be read."""
        ...

    def chat_of(self, update: Any) -> int: ...

    async def feed(self, update: Any) -> None:
        """Hands the update to the service; returns after its commit, raises what it raised."""
        ...

    async def answer_skipped(self, update: Any) -> None:
        """A tap given up on is still answered, so its button stops spinning."""
        ...


class Transport(Wire, Protocol):
    name: str
    bot: Any

    def attach(self, service: Service) -> None:
        """Updates go to `service` from now on."""
        ...

    @property
    def delivery(self) -> Delivery: ...

    async def check(self, settings: Settings, handoffs: Handoffs) -> None:
        """The token (getMe), the managers' chats, the menu of commands; TelegramRefused."""
        ...

    async def delete_webhook(self) -> None:
        """Before polling (Telegram allows one or the other); TelegramRefused."""
        ...

    async def set_webhook(self, url: str, secret: str, allowed_updates: list[str]) -> None:
        """TelegramRefused, in one line, when Telegram will not post to `url`."""
        ...

    async def close(self) -> None: ...
