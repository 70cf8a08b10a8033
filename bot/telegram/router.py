"""The aiogram router: thin handlers that turn Telegram updates into the service's intents
(bot/service/intents.py), button data read by the one codec (bot/service/callbacks.py).
They translate; they do not decide."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

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
    Event,
    OtherMessage,
    Restart,
    Tap,
    TextMessage,
)

PRIVATE = F.chat.type == ChatType.PRIVATE


def incoming(kind: type[Intent], update: Update, message: Message, **fields: object) -> Intent:
    user = message.from_user
    assert user is not None
    return kind(update_id=update.update_id, user_id=user.id, chat_id=message.chat.id,
                language_code=user.language_code, **fields)  # type: ignore[arg-type]


def build_router(service: Service) -> Router:
    router = Router(name="prospects")
    router.message.filter(PRIVATE)

    @router.message(lambda message: message.from_user is None)
    async def anonymous(message: Message, event_update: Update) -> None:
        service.ignore(event_update.update_id, "a private message without a sender")

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject, event_update: Update) -> None:
        await service.handle(incoming(Begin, event_update, message, payload=command.args or ""))

    @router.message(Command("restart"))
    async def restart(message: Message, event_update: Update) -> None:
        await say(message, event_update, Restart())

    @router.message(Command("back"))
    async def back(message: Message, event_update: Update) -> None:
        await say(message, event_update, Back())

    @router.message(Command(*rights.COMMANDS, *rights.ALIASES))
    async def right(message: Message, command: CommandObject, event_update: Update) -> None:
        await service.handle(incoming(RightsCommand, event_update, message,
                                      command=command.command.lower()))

    @router.message(Command("lang", "language"))
    async def language(message: Message, command: CommandObject, event_update: Update) -> None:
        await say(message, event_update, ChangeLanguage((command.args or "").strip()))

    @router.message(F.contact)
    async def contact(message: Message, event_update: Update) -> None:
        shared = message.contact
        sender = message.from_user
        assert shared is not None and sender is not None
        await say(message, event_update, ContactShared(
            phone=shared.phone_number, sender_user_id=sender.id,
            contact_user_id=shared.user_id))

    @router.message(F.text)
    async def text(message: Message, event_update: Update) -> None:
        user = message.from_user
        await service.handle(incoming(
            Say, event_update, message, event=TextMessage(
                message.text or "", forwarded=message.forward_origin is not None),
            reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
            sender_name=" ".join(p for p in (user.first_name, user.last_name) if p)
            if user else ""))

    @router.message()
    async def other(message: Message, event_update: Update) -> None:
        await say(message, event_update, OtherMessage(str(message.content_type)))

    @router.callback_query(F.data.func(callbacks.is_managers))
    async def manager(query: CallbackQuery, event_update: Update) -> None:
        user = query.from_user
        chat_id = query.message.chat.id if query.message else user.id
        name = " ".join(p for p in (user.first_name, user.last_name) if p)
        await service.handle(ManagerTap(
            update_id=event_update.update_id, user_id=user.id, chat_id=chat_id,
            language_code=user.language_code, name=name, data=query.data or "",
            query_id=query.id, message_id=query.message.message_id if query.message else None))

    @router.callback_query(F.message.chat.type == ChatType.PRIVATE)
    async def tap(query: CallbackQuery, event_update: Update) -> None:
        user = query.from_user
        common = {"update_id": event_update.update_id, "user_id": user.id,
                  "chat_id": query.message.chat.id if query.message else user.id,
                  "language_code": user.language_code}
        press = callbacks.decode(query.data or "")
        intent: Intent
        if isinstance(press, callbacks.MenuPick):
            intent = PickFlow(**common, flow_id=press.flow_id, query_id=query.id)
        elif isinstance(press, callbacks.RightsAnswer):
            intent = RightsTap(**common, press=press, query_id=query.id,
                               message_id=query.message.message_id if query.message else None)
        elif isinstance(press, callbacks.BroadcastPress):
            intent = BroadcastTap(**common, press=press, query_id=query.id,
                                  message_id=query.message.message_id if query.message else None)
        else:  # an answer in a flow; anything unreadable is a tap no step matches
            event = press if isinstance(press, Tap) else Tap("", 0, "", "")
            intent = Say(**common, event=event, query_id=query.id,
                         message_id=query.message.message_id if query.message else None)
        await service.handle(intent)

    @router.my_chat_member(F.chat.type == ChatType.PRIVATE)
    async def membership(change: ChatMemberUpdated, event_update: Update) -> None:
        await service.handle(Membership(
            update_id=event_update.update_id, user_id=change.from_user.id,
            chat_id=change.chat.id, language_code=change.from_user.language_code,
            blocked=change.new_chat_member.status == "kicked"))

    async def say(message: Message, update: Update, event: Event) -> None:
        await service.handle(incoming(Say, update, message, event=event))

    return router
