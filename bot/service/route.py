"""A Telegram update into the service's intent (bot/service/intents.py), for either transport:
private messages by kind and command, button taps by whose buttons they are
(bot/service/callbacks.py), a private chat's membership (blocked or not). It translates; it
does not decide.

It reads an update by the Bot API's own field names, which aiogram's and python-telegram-
bot's objects share (`update.message.from_user`, `query.message.chat.type`, ...), so it
imports neither. Neither library's dispatch is used: PTB's Application comes with its own
update queue and acknowledgement, and aiogram's Dispatcher ran its middlewares, observers
and filters on every update for this one choice (about a tenth of the bot's busy time
under a crowd: docs/performance.md). The neutral loops (bot/transport/) call `route`.

May import: bot.service, dialogs.
"""

from __future__ import annotations

from typing import Any

from bot.service import callbacks, rights
from bot.service.core import Service
from bot.service.intents import (
    Begin,
    BroadcastTap,
    Intent,
    ManagerTap,
    Membership,
    PickFlow,
    RightsCommand,
    RightsTap,
    Say,
)
from dialogs.engine.events import (
    Back,
    ChangeLanguage,
    ContactShared,
    OtherMessage,
    Restart,
    Tap,
    TextMessage,
)

PRIVATE = "private"  # a chat's type (both libraries' PRIVATE equals it)
RIGHTS = {*rights.COMMANDS, *rights.ALIASES}
# what a message holds, in the order aiogram's Message.content_type looks (its names), so
# both transports tell the engine the same kind of "other" message
CONTENT = ("text", "animation", "audio", "document", "photo", "sticker", "story", "video",
           "video_note", "voice", "contact", "dice", "game", "poll", "venue", "location",
           "new_chat_members", "left_chat_member", "invoice", "successful_payment",
           "users_shared", "chat_shared", "giveaway", "paid_media", "checklist")


def content_type(message: Any) -> str:
    """The kind of a message the engine cannot read: "photo", "sticker", ..."""
    for kind in CONTENT:
        if getattr(message, kind, None):
            return kind
    return "unknown"


def command_of(message: Any, username: str) -> tuple[str, str | None] | None:
    """(command, its arguments) when the message is a /command for this bot, as aiogram's
    Command filter reads one: the text (or caption) starts with "/", "/cmd@otherbot" is not
    ours, the arguments are what follows the first space."""
    text = message.text or message.caption
    if not text or not text.startswith("/"):
        return None
    head, *rest = text.split(maxsplit=1)
    name, _, mention = head[1:].partition("@")
    if mention and mention.lower() != username.lower():
        return None
    return name, rest[0] if rest else None


async def route(update: Any, service: Service, username: str) -> None:
    """Hands the update to the service as its intent; returns after the commit."""
    if update.message is not None:
        if update.message.chat.type == PRIVATE:
            await on_message(update, update.message, service, username)
    elif update.callback_query is not None:
        await on_tap(update, update.callback_query, service)
    elif update.my_chat_member is not None:
        change = update.my_chat_member
        if change.chat.type == PRIVATE:
            await service.handle(Membership(
                update_id=update.update_id, user_id=change.from_user.id,
                chat_id=change.chat.id, language_code=change.from_user.language_code,
                blocked=change.new_chat_member.status == "kicked"))


def incoming(kind: type[Intent], update: Any, message: Any, **fields: object) -> Intent:
    user = message.from_user
    assert user is not None
    return kind(update_id=update.update_id, user_id=user.id, chat_id=message.chat.id,
                language_code=user.language_code, **fields)  # type: ignore[arg-type]


async def on_message(update: Any, message: Any, service: Service,
                     username: str) -> None:
    if message.from_user is None:
        service.ignore(update.update_id, "a private message without a sender")
        return
    command = command_of(message, username)
    name, args = command or ("", None)
    if name == "start":
        await service.handle(incoming(Begin, update, message, payload=args or ""))
    elif name == "restart":
        await say(update, message, service, Restart())
    elif name == "back":
        await say(update, message, service, Back())
    elif name in RIGHTS:
        await service.handle(incoming(RightsCommand, update, message, command=name.lower()))
    elif name in ("lang", "language"):
        await say(update, message, service, ChangeLanguage((args or "").strip()))
    elif message.contact is not None:
        shared = message.contact
        await say(update, message, service, ContactShared(
            phone=shared.phone_number, sender_user_id=message.from_user.id,
            contact_user_id=shared.user_id))
    elif message.text:
        user = message.from_user
        await service.handle(incoming(
            Say, update, message, event=TextMessage(
                message.text, forwarded=message.forward_origin is not None),
            reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
            sender_name=" ".join(p for p in (user.first_name, user.last_name) if p)))
    else:
        await say(update, message, service, OtherMessage(content_type(message)))


async def say(update: Any, message: Any, service: Service, event: object) -> None:
    await service.handle(incoming(Say, update, message, event=event))


async def on_tap(update: Any, query: Any, service: Service) -> None:
    user = query.from_user
    message = query.message  # a Message, or an InaccessibleMessage (it has the chat)
    data = query.data or ""
    if callbacks.is_managers(data):
        await service.handle(ManagerTap(
            update_id=update.update_id, user_id=user.id,
            chat_id=message.chat.id if message else user.id, language_code=user.language_code,
            name=" ".join(p for p in (user.first_name, user.last_name) if p), data=data,
            query_id=query.id, message_id=message.message_id if message else None))
        return
    if message is None or message.chat.type != PRIVATE:
        return  # a prospect's buttons are only ever in their private chat
    common = {"update_id": update.update_id, "user_id": user.id, "chat_id": message.chat.id,
              "language_code": user.language_code}
    press = callbacks.decode(data)
    intent: Intent
    if isinstance(press, callbacks.MenuPick):
        intent = PickFlow(**common, flow_id=press.flow_id, query_id=query.id)
    elif isinstance(press, callbacks.RightsAnswer):
        intent = RightsTap(**common, press=press, query_id=query.id,
                           message_id=message.message_id)
    elif isinstance(press, callbacks.BroadcastPress):
        intent = BroadcastTap(**common, press=press, query_id=query.id,
                              message_id=message.message_id)
    else:  # an answer in a flow; anything unreadable is a tap no step matches
        event = press if isinstance(press, Tap) else Tap("", 0, "", "")
        intent = Say(**common, event=event, query_id=query.id, message_id=message.message_id)
    await service.handle(intent)
