"""The real bot (bootstrap + serve: long polling, the sender) against the fake Bot API.

Scenario helpers read like a user session: `await prospect.start("kitchen-quiz")`,
`await prospect.tap("In the city")`, `await prospect.share_contact()`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import App
from bot.transport.webhook import SECRET_HEADER, WEBHOOK_PATH
from storage.schema.tables import OutboxMessage
from tests.fakes.telegram import FakeTelegram

NAMES = {"ru": "Иван", "uk": "Олена", "en": "Olivia"}
REDELIVERIES = 5


async def eventually(condition, timeout: float = 60.0, what: str = "condition") -> None:
    """Wait for a condition (not a timed assertion: only the upper bound is a failure, and it
    is generous: a loaded 2-core CI machine can take many seconds for what takes one here)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Running:
    """The bot running against the fake; counts every update pushed to it."""

    app: App
    telegram: FakeTelegram
    pushed: int = 0
    answered: bool = False  # each update handled before deliver() returns (the webhook)

    def prospect(self, user_id: int, language: str = "en") -> Prospect:
        return Prospect(self, user_id, language)

    async def deliver(self, update: dict[str, Any], update_id: int | None = None) -> int:
        """Long polling: the update waits in the fake for getUpdates. `update_id` given: a
        redelivery of that update."""
        if update_id is not None:
            self.telegram.updates.append({"update_id": update_id, **update})
            self.telegram._arrived.set()
        else:
            update_id = self.telegram.push(update)
        self.pushed += 1
        return update_id

    async def settle(self) -> None:
        """Until the bot has handled everything pushed and sent everything queued: no row
        `pending`, nor `sending` (a broadcast's message is marked so, committed, before its
        call: bot/outbox/bulk.py; its mark after the call ends it)."""
        service = self.app.service

        async def done() -> bool:
            counters = self.app.counters
            done_with = (service.handled + service.duplicates + service.ignored
                         + counters.unreadable + counters.skipped)
            if not self.answered and done_with < self.pushed:
                return False
            async with self.app.sessions() as session:
                pending = await session.scalar(select(func.count()).where(
                    OutboxMessage.status.in_(("pending", "sending"))))
            return pending == 0

        await eventually(done, what=f"the bot to handle {self.pushed} updates")


@dataclass
class WebhookRunning(Running):
    """The bot in webhook mode: each update is POSTed as Telegram does, and the answer (200
    only after the commit) is kept in `statuses`."""

    client: TestClient | None = None
    secret: str = ""
    statuses: list[int] = field(default_factory=list)
    answered: bool = True

    async def deliver(self, update: dict[str, Any], update_id: int | None = None) -> int:
        assert self.client is not None
        if update_id is None:
            update_id = next(self.telegram._update_ids)
        self.pushed += 1
        for _ in range(REDELIVERIES):  # Telegram sends it again after a 5xx
            response = await self.client.post(
                WEBHOOK_PATH, json={"update_id": update_id, **update},
                headers={SECRET_HEADER: self.secret})
            self.statuses.append(response.status)
            if response.status < 500:
                break
        return update_id


@dataclass
class Prospect:
    running: Running
    user_id: int
    language: str = "en"
    messages: int = 0

    @property
    def telegram(self) -> FakeTelegram:
        return self.running.telegram

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": NAMES[self.language],
                "language_code": self.language}

    def message(self, **content: Any) -> dict[str, Any]:
        self.messages += 1
        return {"message_id": self.messages, "date": int(time.time()),
                "chat": {"id": self.user_id, "type": "private"}, "from": self.user, **content}

    async def push(self, update: dict[str, Any], update_id: int | None = None,
                   settle: bool = True) -> int:
        update_id = await self.running.deliver(update, update_id)
        if settle:
            await self.running.settle()
        return update_id

    async def command(self, text: str) -> int:
        name = text.split()[0]
        return await self.push({"message": self.message(
            text=text, entities=[{"type": "bot_command", "offset": 0, "length": len(name)}])})

    async def start(self, payload: str = "") -> int:
        return await self.command(f"/start {payload}".strip())

    async def send(self, text: str) -> int:
        return await self.push({"message": self.message(text=text)})

    async def sticker(self) -> int:
        return await self.push({"message": self.message(sticker={
            "file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False})})

    async def share_contact(self, phone: str = "+380671234567", own: bool = True) -> int:
        owner = self.user_id if own else self.user_id + 1
        return await self.push({"message": self.message(contact={
            "phone_number": phone.lstrip("+"), "first_name": "Me", "user_id": owner})})

    def keyboards(self) -> list[tuple[int | None, list[dict]]]:
        """Every inline keyboard the bot showed this prospect, oldest first."""
        found = []
        for call in self.telegram.sent(self.user_id):
            markup = call.params.get("reply_markup") or {}
            buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
            if buttons:
                found.append((call.params.get("message_id"), buttons))
        return found

    def button(self, label: str | None = None, option: str | None = None) -> dict:
        for _, buttons in reversed(self.keyboards()):
            for button in buttons:
                data = button.get("callback_data", "")
                if (label is not None and button["text"] == label) or (
                        option is not None and data.rsplit(":", 1)[-1] == option):
                    return button
        raise AssertionError(f"no button {label or option!r} in {self.keyboards()[-1:]}")

    async def tap(self, label: str | None = None, option: str | None = None,
                  data: str | None = None, settle: bool = True) -> int:
        data = data or self.button(label, option)["callback_data"]
        query = {"id": f"q{self.messages}-{self.user_id}", "from": self.user,
                 "chat_instance": "ci", "data": data,
                 "message": self.message(text="(the question)")}
        return await self.push({"callback_query": query}, settle=settle)

    async def block(self, blocked: bool = True) -> int:
        status = {"status": "kicked", "user": self.user, "until_date": 0} if blocked else {
            "status": "member", "user": self.user}
        old = {"status": "member", "user": self.user} if blocked else {
            "status": "kicked", "user": self.user, "until_date": 0}
        return await self.push({"my_chat_member": {
            "chat": {"id": self.user_id, "type": "private"}, "from": self.user,
            "date": int(time.time()), "old_chat_member": old, "new_chat_member": status}})

    def said(self) -> list[str]:
        return self.telegram.texts(self.user_id)

    def answers(self) -> list[str]:
        return [c.params.get("text", "") for c in self.telegram.sent(
            method="answerCallbackQuery") if c.params.get("callback_query_id", "").endswith(
            f"-{self.user_id}")]
