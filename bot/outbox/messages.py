"""Messages as outbox rows, the one place they are built: `send`, `edit` and `answer` for
every part of the bot (the service, the prospect's rights, the hand-off, the jobs), and
`render` for the engine's actions. Each row is staged in the caller's transaction and sent by
bot/outbox/sender.py after the commit.

Plain text, no parse_mode: flow texts are written by marketers and must never break on a
stray '<' or '*'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dialogs.engine.actions import (
    Action,
    AnswerTap,
    EditMessage,
    Keyboard,
    ReplyKeyboard,
    SendMessage,
)
from storage.schema.tables import Conversation, OutboxMessage
from storage.work.uow import UnitOfWork

NO_PREVIEW = {"is_disabled": True}


def send(uow: UnitOfWork, chat_id: int, text: str, buttons: Keyboard = (), *,
         entities: list[dict[str, Any]] | None = None, preview: bool = True,
         markup: dict[str, Any] | None = None, **row: Any) -> None:
    """A sendMessage row. `row`: the outbox columns that say what it is about
    (conversation_id, lead_id, purpose, marketing)."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if entities is not None:
        payload["entities"] = entities
    if markup is not None or buttons:
        payload["reply_markup"] = markup if markup is not None else inline_markup(buttons)
    if not preview:
        payload["link_preview_options"] = NO_PREVIEW
    uow.stage(OutboxMessage, chat_id=chat_id, method="sendMessage", payload=payload, **row)


def edit(uow: UnitOfWork, chat_id: int, message_id: int | None, text: str,
         buttons: Keyboard | None = None, **row: Any) -> None:
    """An editMessageText row for a message whose Telegram id is known (a tapped one);
    nothing when it is not."""
    if message_id is None:
        return
    payload: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
    if buttons is not None:
        payload["reply_markup"] = inline_markup(buttons)
    uow.stage(OutboxMessage, chat_id=chat_id, method="editMessageText", payload=payload,
              **row)


def answer(uow: UnitOfWork, chat_id: int, query_id: str | None, text: str | None = None,
           alert: bool | None = None) -> None:
    """The answer to a tap, in the fast lane (a button never spins behind a queue)."""
    if query_id is None:
        return
    payload: dict[str, Any] = {"callback_query_id": query_id}
    if text:
        payload["text"] = text
        if alert is not None:
            payload["show_alert"] = alert
    uow.stage(OutboxMessage, chat_id=chat_id, lane="tap", method="answerCallbackQuery",
              payload=payload)


def inline_markup(keyboard: Keyboard) -> dict[str, Any]:
    rows = []
    for row in keyboard:
        rows.append([{"text": b.text, "url": b.url} if b.url
                     else {"text": b.text, "callback_data": b.data} for b in row])
    return {"inline_keyboard": rows}


def reply_markup(message: SendMessage) -> dict[str, Any] | None:
    if message.buttons:
        return inline_markup(message.buttons)
    if message.reply_keyboard is not None:
        return contact_keyboard(message.reply_keyboard)
    if message.remove_keyboard:
        return {"remove_keyboard": True}
    return None


def contact_keyboard(keyboard: ReplyKeyboard) -> dict[str, Any]:
    rows = [[{"text": keyboard.request_contact, "request_contact": True}]]
    if keyboard.skip:
        rows.append([{"text": keyboard.skip}])
    return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}


def send_payload(message: SendMessage, chat_id: int, base_dir: Path) -> tuple[str, dict]:
    payload: dict[str, Any] = {"chat_id": chat_id}
    markup = reply_markup(message)
    if markup is not None:
        payload["reply_markup"] = markup
    if message.file:
        payload["document"] = {"path": str((base_dir / message.file).resolve())}
        payload["caption"] = message.text
        return "sendDocument", payload
    payload["text"] = message.text
    payload["link_preview_options"] = {"is_disabled": True}
    return "sendMessage", payload


async def render(uow: UnitOfWork, conversation: Conversation, actions: list[Action],
                 callback_query_id: str | None, base_dir: Path) -> int:
    """Adds an outbox row for each message; returns how many."""
    count = 0
    chat_id = conversation.chat_id
    for action in actions:
        row: dict | None = None
        if isinstance(action, SendMessage):
            method, payload = send_payload(action, chat_id, base_dir)
            row = {"method": method, "payload": payload, "step": action.step}
        elif isinstance(action, EditMessage):
            # Which message to edit is decided by the sender: the latest one sent for this
            # step (bot/outbox/sender.py), so a reminder that never went out is never the target.
            payload = {"chat_id": chat_id, "text": action.text,
                       "reply_markup": inline_markup(action.buttons)}
            row = {"method": "editMessageText", "payload": payload, "step": action.step}
        elif isinstance(action, AnswerTap) and callback_query_id:
            payload = {"callback_query_id": callback_query_id}
            if action.text:
                payload |= {"text": action.text, "show_alert": action.alert}
            row = {"method": "answerCallbackQuery", "payload": payload, "lane": "tap"}
        if row is not None:  # inserted with the others at commit, in this order
            uow.stage(OutboxMessage, chat_id=chat_id, conversation_id=conversation.id, **row)
            count += 1
    return count
