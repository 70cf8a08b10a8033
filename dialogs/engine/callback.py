"""Button data: flow, version, step and option, so a stale or replayed tap is recognised.

Telegram limits callback data to 64 bytes (Bot API, InlineKeyboardButton); the linter
checks every button of every flow against it at load time.
"""

from __future__ import annotations

from dialogs.engine.events import Tap

MAX_CALLBACK_BYTES = 64

# Buttons the engine adds itself; '~' cannot start an option id, so they never collide.
DONE, SKIP, BACK, CONTINUE = "~done", "~skip", "~back", "~go"
ACCEPT, DECLINE, MARKETING_YES, MARKETING_NO = "~yes", "~no", "~mkyes", "~mkno"
ENGINE_OPTIONS = (DONE, SKIP, BACK, CONTINUE, ACCEPT, DECLINE, MARKETING_YES, MARKETING_NO)
# Nurture: the reminder's Continue (any step), a follow-up's file; a follow-up's buttons
# carry the step `~MESSAGE_ID` (no step id starts with '~').
RESUME, FILE = "~resume", "~file"
NURTURE_STEP = "~"


def pack(flow_id: str, version: int, step: str, option: str) -> str:
    return f"{flow_id}:{version}:{step}:{option}"


def unpack(data: str) -> Tap:
    """Button data back into a tap; data that is not ours becomes a tap nothing matches."""
    parts = data.split(":")
    if len(parts) == 4 and parts[1].isascii() and parts[1].isdigit():  # not "²": int() fails
        return Tap(flow_id=parts[0], flow_version=int(parts[1]), step=parts[2], option=parts[3])
    return Tap(flow_id="", flow_version=0, step="", option="")
