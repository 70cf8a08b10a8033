"""What both transports check with Telegram before taking updates, without a Telegram
library: which chats cards go to, and the refusal when one is out of reach.

A chat Telegram refuses (400 chat not found, 403 the bot is not a member) is a setting to
fix; Telegram itself failing (a 5xx, a 429, the network) is not: each chat is asked again a
few times, then the start stops with "Telegram is unavailable", not "add the bot".

May import: bot.transport (the hand-off's settings only as a type).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.transport.errors import TelegramRefused

if TYPE_CHECKING:
    from bot.handoff.handoffs import HandoffConfig

log = logging.getLogger(__name__)
OUTAGE_TRIES = 3  # a 5xx or the network away: asked again, after 1 s then 2 s
OUTAGE_PAUSE = 1.0


def managers_chats(config: HandoffConfig) -> list[tuple[str, int]]:
    """(the setting that names it, chat id) of every chat a card may go to: a card sent to a
    chat the bot is not in is a lead nobody calls."""
    chats = {("LEADBOT_MANAGERS_CHAT_ID", config.chat_id),
             ("LEADBOT_ESCALATION_CHAT_ID", config.escalation_chat_id)}
    chats |= {(f"route '{r.name}' in LEADBOT_ROUTING_FILE", r.chat_id)
              for r in config.routing.routes}
    return [(setting, chat_id) for setting, chat_id in sorted(chats, key=str)
            if chat_id is not None]


def unreachable(setting: str, chat_id: int, error: BaseException) -> TelegramRefused:
    """The one line that stops the start when a managers' chat is out of the bot's reach."""
    return TelegramRefused(f"{setting}: the bot cannot reach chat {chat_id} (add the bot to "
                           f"the group; ids of groups are negative): {error}")


def unavailable(setting: str, chat_id: int, error: BaseException) -> TelegramRefused:
    """The one line that stops the start when Telegram itself kept failing."""
    return TelegramRefused(f"Telegram is unavailable: getChat for {setting} (chat {chat_id}) "
                           f"failed {OUTAGE_TRIES} times ({error}); nothing to fix in the "
                           "settings, start again once Telegram answers")


async def check_chat(setting: str, chat_id: int, get_chat: Callable[[int], Awaitable[object]],
                     errors: tuple[type[BaseException], ...],
                     outage: Callable[[BaseException], bool]) -> None:
    """getChat (`get_chat`, the transport's) until it answers. Of `errors` (what the
    library raises), one `outage` says is Telegram failing is asked again, then
    TelegramRefused says Telegram is unavailable after OUTAGE_TRIES; any other is Telegram
    refusing the chat: TelegramRefused naming the setting."""
    for attempt in range(1, OUTAGE_TRIES + 1):
        try:
            await get_chat(chat_id)
            return
        except errors as error:
            if not outage(error):
                raise unreachable(setting, chat_id, error) from None
            if attempt == OUTAGE_TRIES:
                raise unavailable(setting, chat_id, error) from None
            log.warning("getChat for %s failed (%s); asking again", setting, error)
            await asyncio.sleep(OUTAGE_PAUSE * 2 ** (attempt - 1))
