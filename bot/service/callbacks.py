"""Button data, every kind in one place: what the bot writes into a button, and what a tap
brings back, read into a typed value. Every transport decodes taps here, so a forged or
stale button is recognised the same way whichever library received it.

Telegram gives a button 64 bytes (InlineKeyboardButton.callback_data). The kinds:

| data | what |
| --- | --- |
| `FLOW:VERSION:STEP:OPTION` | a prospect's answer (dialogs.engine.callback) |
| `menu:FLOW` | a flow picked from the menu |
| `rights:COMMAND:yes` / `:no` | the confirmation of /mydata, /stop, /forget |
| `rights:unsubscribe` | the one-tap unsubscribe under a marketing message |
| `claim:ID` | a manager claims a lead's hand-off |
| `lead:ID:STATUS[:REASON]` | a manager's status for their lead |
| `relay:end:ID` | the end of a manager-prospect chat |
| `bc:ID:INDEX` | a broadcast's button: a flow to start, or a question's answer |

Ids are read only as decimal numbers within the database's integer range: anything else
is Unreadable, answered politely and never sent to the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.engine import callback
from dialogs.engine.events import Tap

MENU, RIGHTS, CLAIM, STATUS, RELAY_END = "menu:", "rights:", "claim:", "lead:", "relay:end:"
BROADCAST = "bc:"
UNSUBSCRIBE = f"{RIGHTS}unsubscribe"  # no second question: the button was the question
MANAGER_PREFIXES = (CLAIM, STATUS, "relay:")  # any relay data: a manager's, answered there
MAX_ID = 2**31 - 1  # PostgreSQL's integer: handoffs.id


@dataclass(frozen=True)
class MenuPick:
    flow_id: str


@dataclass(frozen=True)
class RightsAnswer:
    command: str
    answer: str  # "yes", "no"; "" for unsubscribe (else: answered "use the buttons")


@dataclass(frozen=True)
class Claim:
    handoff_id: int


@dataclass(frozen=True)
class SetStatus:
    handoff_id: int
    status: str
    reason: str | None = None


@dataclass(frozen=True)
class EndRelay:
    handoff_id: int


@dataclass(frozen=True)
class BroadcastPress:
    broadcast_id: int
    index: int  # the button's, from 0


@dataclass(frozen=True)
class Unreadable:
    """Data no button of ours carries (forged, or from a bot version long gone)."""

    data: str


Pressed = (Tap | MenuPick | RightsAnswer | Claim | SetStatus | EndRelay | BroadcastPress
           | Unreadable)
ManagerPress = Claim | SetStatus | EndRelay


def decode(data: str) -> Pressed:
    if data.startswith(CLAIM):
        handoff_id = _id(data.removeprefix(CLAIM))
        return Claim(handoff_id) if handoff_id is not None else Unreadable(data)
    if data.startswith(STATUS):
        parts = data.removeprefix(STATUS).split(":")
        handoff_id = _id(parts[0])
        if handoff_id is None or len(parts) not in (2, 3) or not parts[1]:
            return Unreadable(data)
        return SetStatus(handoff_id, parts[1], parts[2] if len(parts) == 3 else None)
    if data.startswith(RELAY_END):
        handoff_id = _id(data.removeprefix(RELAY_END))
        return EndRelay(handoff_id) if handoff_id is not None else Unreadable(data)
    if data.startswith(MENU):
        return MenuPick(data.removeprefix(MENU))
    if data.startswith(BROADCAST):
        number, _, index = data.removeprefix(BROADCAST).partition(":")
        broadcast_id = _id(number)
        if broadcast_id is None or not (index.isascii() and index.isdigit()) or len(index) > 2:
            return Unreadable(data)
        return BroadcastPress(broadcast_id, int(index))
    if data.startswith(RIGHTS):
        command, _, answer = data.removeprefix(RIGHTS).partition(":")
        return RightsAnswer(command, answer)
    return callback.unpack(data)  # a tap nothing matches when it is not a flow's either


def is_managers(data: str) -> bool:
    """A manager's button (pressed in the managers' group or a manager's private chat)."""
    return data.startswith(MANAGER_PREFIXES)


def _id(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def menu(flow_id: str) -> str:
    return f"{MENU}{flow_id}"


def rights(command: str, answer: str) -> str:
    return f"{RIGHTS}{command}:{answer}"


def claim(handoff_id: int) -> str:
    return f"{CLAIM}{handoff_id}"


def status(handoff_id: int, status: str, reason: str | None = None) -> str:
    return f"{STATUS}{handoff_id}:{status}" + (f":{reason}" if reason else "")


def end_relay(handoff_id: int) -> str:
    return f"{RELAY_END}{handoff_id}"


def broadcast(broadcast_id: int, index: int) -> str:
    return f"{BROADCAST}{broadcast_id}:{index}"
