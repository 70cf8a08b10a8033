"""What an update asks of the service, one small frozen record per intent. A transport
(bot/service/route.py, for either library's updates) builds one from each update it receives; the
service has one handler per kind (bot/service/core.py, HANDLERS). Transport-neutral: no
Telegram library.

| intent | from |
| --- | --- |
| Begin | /start, with its deep-link payload ("" for a plain /start) |
| Say | what the engine hears: text, an answer's tap, a contact, /back, /restart, /lang |
| PickFlow | a tap on the menu of flows |
| RightsCommand | /privacy, /mydata, /stop, /forget (and their aliases) |
| RightsTap | a tap on a rights confirmation, or the one-tap unsubscribe |
| Membership | the prospect blocked or unblocked the bot |
| ManagerTap | a manager's Claim, status or end-of-chat button |
| BroadcastTap | a broadcast's flow or question button |
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from bot.service import callbacks
from dialogs.engine.events import Event


@dataclass(frozen=True, kw_only=True)
class Intent:
    update_id: int
    user_id: int
    chat_id: int
    language_code: str | None = None  # Telegram's, of whoever sent the update


@dataclass(frozen=True, kw_only=True)
class Begin(Intent):
    payload: str = ""


@dataclass(frozen=True, kw_only=True)
class Say(Intent):
    event: Event
    query_id: str | None = None  # a tap's: answered whatever happens, or its button spins
    reply_to: int | None = None  # the message a text replies to (a manager's relay)
    sender_name: str = ""  # first and last name, for a manager's relayed words
    message_id: int | None = None  # a tap's: the message whose button it was (the ledger's)


@dataclass(frozen=True, kw_only=True)
class PickFlow(Intent):
    flow_id: str
    query_id: str | None = None
    source: str | None = None  # where the pick came from ("broadcast:NAME"); None: the menu


@dataclass(frozen=True, kw_only=True)
class BroadcastTap(Intent):
    press: callbacks.BroadcastPress
    query_id: str | None = None
    message_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class RightsCommand(Intent):
    command: str


@dataclass(frozen=True, kw_only=True)
class RightsTap(Intent):
    press: callbacks.RightsAnswer
    query_id: str | None = None
    message_id: int | None = None  # the confirmation tapped: edited to show the choice


@dataclass(frozen=True, kw_only=True)
class Membership(Intent):
    blocked: bool


@dataclass(frozen=True, kw_only=True)
class ManagerTap(Intent):
    """A manager's button: claim in a group, a status or the chat's end in private."""

    name: str  # the tapper's first and last name: who claimed, on the card
    data: str  # the button's data, read by the codec (bot/service/callbacks.py)
    query_id: str
    message_id: int | None = None

    @cached_property
    def press(self) -> callbacks.Pressed:
        return callbacks.decode(self.data)
