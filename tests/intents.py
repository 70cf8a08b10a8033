"""Tests and benchmarks drive the service as a transport would: `intent(update_id=..., ...,
start_payload="kitchen-quiz")` builds the record the router builds for such an update, so a
test says what happened in a word (start_payload, event, command, ...) without building
each intent by hand."""

from __future__ import annotations

from typing import Any

from bot.service import callbacks
from bot.service.intents import (
    Begin,
    Intent,
    ManagerTap,
    Membership,
    PickFlow,
    RightsCommand,
    RightsTap,
    Say,
)


def intent(*, update_id: int, user_id: int, chat_id: int, language_code: str | None = None,
           manager_tap: ManagerTap | None = None, blocked: bool | None = None,
           command: str | None = None, rights_data: str | None = None,
           menu_flow: str | None = None, start_payload: str | None = None,
           callback_query_id: str | None = None, message_id: int | None = None,
           **say: Any) -> Intent:
    common: dict[str, Any] = {"update_id": update_id, "user_id": user_id, "chat_id": chat_id,
                              "language_code": language_code}
    if manager_tap is not None:
        return manager_tap
    if blocked is not None:
        return Membership(**common, blocked=blocked)
    if command is not None:
        return RightsCommand(**common, command=command)
    if rights_data is not None:
        press = callbacks.decode(rights_data)
        assert isinstance(press, callbacks.RightsAnswer), rights_data
        return RightsTap(**common, press=press, query_id=callback_query_id,
                         message_id=message_id)
    if menu_flow is not None:
        return PickFlow(**common, flow_id=menu_flow, query_id=callback_query_id)
    if start_payload is not None:
        return Begin(**common, payload=start_payload)
    return Say(**common, query_id=callback_query_id, **say)
