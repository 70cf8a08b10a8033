"""What both transports check with Telegram before taking updates, without a Telegram
library: which chats cards go to, and the refusal when one is out of reach.

May import: bot.transport (the hand-off's settings only as a type).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.transport.errors import TelegramRefused

if TYPE_CHECKING:
    from bot.handoff.handoffs import HandoffConfig


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
