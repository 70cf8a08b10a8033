"""The aiogram adapter: thin handlers that turn Telegram updates into engine events and hand
them to the service. They translate; they do not decide."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, Update

from bot.handoff.handoffs import CLAIM, RELAY, STATUS, ManagerTap
from bot.service import rights
from bot.service.core import MENU_PREFIX, Incoming, Service
from dialogs.engine import callback
from dialogs.engine.events import (
    Back,
    ChangeLanguage,
    ContactShared,
    Event,
    OtherMessage,
    Restart,
    TextMessage,
)

PRIVATE = F.chat.type == ChatType.PRIVATE


def incoming(update: Update, message: Message, **fields: object) -> Incoming:
    user = message.from_user
    assert user is not None
    return Incoming(update_id=update.update_id, user_id=user.id, chat_id=message.chat.id,
                    language_code=user.language_code, **fields)  # type: ignore[arg-type]


def build_router(service: Service) -> Router:
    router = Router(name="prospects")
    router.message.filter(PRIVATE)

    @router.message(lambda message: message.from_user is None)
    async def anonymous(message: Message, event_update: Update) -> None:
        service.ignore(event_update.update_id, "a private message without a sender")

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject, event_update: Update) -> None:
        await service.handle(incoming(event_update, message, start_payload=command.args or ""))

    @router.message(Command("restart"))
    async def restart(message: Message, event_update: Update) -> None:
        await say(message, event_update, Restart())

    @router.message(Command("back"))
    async def back(message: Message, event_update: Update) -> None:
        await say(message, event_update, Back())

    @router.message(Command(*rights.COMMANDS, *rights.ALIASES))
    async def right(message: Message, command: CommandObject, event_update: Update) -> None:
        await service.handle(incoming(event_update, message, command=command.command.lower()))

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
            event_update, message, event=TextMessage(
                message.text or "", forwarded=message.forward_origin is not None),
            reply_to=message.reply_to_message.message_id if message.reply_to_message else None,
            sender_name=" ".join(p for p in (user.first_name, user.last_name) if p)
            if user else ""))

    @router.message()
    async def other(message: Message, event_update: Update) -> None:
        await say(message, event_update, OtherMessage(str(message.content_type)))

    @router.callback_query(F.data.startswith(CLAIM) | F.data.startswith(STATUS)
                           | F.data.startswith(RELAY))
    async def manager(query: CallbackQuery, event_update: Update) -> None:
        user = query.from_user
        chat_id = query.message.chat.id if query.message else user.id
        name = " ".join(p for p in (user.first_name, user.last_name) if p)
        await service.handle(Incoming(
            update_id=event_update.update_id, user_id=user.id, chat_id=chat_id,
            manager_tap=ManagerTap(
                update_id=event_update.update_id, user_id=user.id, chat_id=chat_id,
                name=name, data=query.data or "", query_id=query.id,
                message_id=query.message.message_id if query.message else None,
                language_code=user.language_code)))

    @router.callback_query(F.message.chat.type == ChatType.PRIVATE)
    async def tap(query: CallbackQuery, event_update: Update) -> None:
        data = query.data or ""
        fields: dict[str, object] = {"callback_query_id": query.id}
        if data.startswith(MENU_PREFIX):
            fields["menu_flow"] = data.removeprefix(MENU_PREFIX)
        elif data.startswith(rights.PREFIX):
            fields["rights_data"] = data
            fields["message_id"] = query.message.message_id if query.message else None
        else:
            fields["event"] = callback.unpack(data)
        chat_id = query.message.chat.id if query.message else query.from_user.id
        await service.handle(Incoming(
            update_id=event_update.update_id, user_id=query.from_user.id, chat_id=chat_id,
            language_code=query.from_user.language_code, **fields))  # type: ignore[arg-type]

    @router.my_chat_member(F.chat.type == ChatType.PRIVATE)
    async def membership(change: ChatMemberUpdated, event_update: Update) -> None:
        await service.handle(Incoming(
            update_id=event_update.update_id, user_id=change.from_user.id,
            chat_id=change.chat.id, language_code=change.from_user.language_code,
            blocked=change.new_chat_member.status == "kicked"))

    async def say(message: Message, update: Update, event: Event) -> None:
        await service.handle(incoming(update, message, event=event))

    return router
