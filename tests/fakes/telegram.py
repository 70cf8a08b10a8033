"""A fake Telegram Bot API served over HTTP on 127.0.0.1, for the real aiogram Bot to talk to.

It keeps what the bot sent, enforces Telegram's limits (64-byte callback data, 4096-character
texts, 1024-character captions, 200-character alerts, per-chat / per-bot / per-group rates)
and can be told to answer 429 with retry_after, 403, a 5xx or a timeout. Updates are queued
for getUpdates, or posted to a webhook.

Several bot processes can share one fake (tests/fleet/): each is given the fake's URL with a
path prefix of its own (`http://127.0.0.1:PORT/i3`), and every call is recorded with the
prefix it came by (`Call.via`), so the limits are enforced across all of them and each call
names the process that made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from bot.outbox.limits import Limits, RateLimiter

BOT_ID = 777000
IN_FLIGHT = 0.05  # requests arriving this soon after a 429 were already on their way
# A client that says when it sent a request (tests/conftest.py's `bot` does, same process and
# clock): then "already on its way" is exact, not a guess from the arrival time, which a
# loaded machine can put well after IN_FLIGHT for requests sent together with the first.
SENT_AT = "fake_sent_at"
# Parameters the Bot API reads as strings whatever they look like: a form (aiogram's
# multipart, python-telegram-bot's url-encoded form) carries every value as text, and a
# prospect's "42" or "[draft]" must reach the fake as the text it is, not a number or a list.
STRING_PARAMS = {"text", "caption", "callback_query_id", "parse_mode", "secret_token", "url",
                 "language_code", "description", "short_description", "name", "title",
                 "first_name", "last_name"}
QUERY_ANSWERED = ("Bad Request: query is too old and response timeout expired or query ID is "
                  "invalid")
MESSAGE_METHODS = {"sendMessage", "sendDocument", "sendPhoto", "editMessageText",
                   "editMessageCaption", "editMessageReplyMarkup"}


def utf16(text: str) -> int:
    return len(str(text).encode("utf-16-le")) // 2


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    via: str = ""  # the URL prefix the call came by ("" without one): which bot process
    result: Any = None  # what the fake answered when it accepted the call (the message)
    sent_at: float | None = None  # when the bot sent it, if its session says (SENT_AT)
    content_type: str = ""  # how its parameters came: application/json, or a form


@dataclass
class Fault:
    method: str | None  # None: any method
    status: int
    description: str
    retry_after: int | None = None
    delay: float = 0.0  # answer late (a timeout, seen from the bot)
    times: int = 1


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token_for-the-fake"
    limits: Limits = field(default_factory=Limits)
    calls: list[Call] = field(default_factory=list)
    updates: deque = field(default_factory=deque)
    faults: list[Fault] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, list] = field(default_factory=dict)
    confirmed_offset: int = 0
    violations: list[str] = field(default_factory=list)
    # users who never pressed Start: Telegram refuses to write to them first
    closed_chats: set[int] = field(default_factory=set)
    unknown_chats: set[int] = field(default_factory=set)  # groups without the bot
    # chats the bot was removed from (a group) or blocked in: every message method is 403
    removed_chats: set[int] = field(default_factory=set)
    # messages someone deleted, (chat_id, message_id): an edit is "message to edit not found"
    deleted: set[tuple[int, int]] = field(default_factory=set)
    # not Telegram's: the transport the bot under test runs on (LEADBOT_TRANSPORT), for
    # tests/e2e/conftest.py to build the bot's settings with
    transport: str = "aiogram"
    # Telegram answers a callback query once: a second answerCallbackQuery for the same id is
    # refused (400, "query is too old ... or query ID is invalid"); off unless asked for
    refuse_repeated_answers: bool = False
    # called with each call once it is answered (status and result set): a watcher's hook
    on_call: Any = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._arrived = asyncio.Event()
        # Telegram tolerates short bursts, and requests reach it a little out of step with
        # the moment the bot took its token (a loaded 2-core machine, the HTTP hop): one
        # extra message of burst per scope absorbs that jitter, while a bot with no limiter
        # (which sends a whole burst at once) still trips it.
        self._limiter = RateLimiter(replace(
            self.limits, chat_burst=self.limits.chat_burst + 1,
            bot_burst=self.limits.bot_burst + 1, group_burst=self.limits.group_burst + 1))
        self._paused_until = 0.0
        self._paused_at = 0.0
        self.runner: web.AppRunner | None = None
        self.url = ""
        self._answered: set[str] = set()  # callback query ids answered (refuse_repeated_answers)

    # -- serving ------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_post("/{via}/bot{token}/{method}", self._handle)  # one bot process's
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._arrived.set()  # let a pending long poll answer now
        if self.runner is not None:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        sent_at = params.pop(SENT_AT, None)
        call = Call(method, params, time.monotonic(), via=request.match_info.get("via", ""),
                    sent_at=None if sent_at is None else float(sent_at),
                    content_type=request.content_type)
        self.calls.append(call)
        try:
            return await self._answer(call, sent_at)
        finally:
            if self.on_call is not None:
                self.on_call(call)

    async def _answer(self, call: Call, sent_at: Any) -> web.Response:
        method, params = call.method, call.params
        fault = self._fault_for(method)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            call.status = fault.status
            return self._error(fault.status, fault.description, fault.retry_after)
        problem = self._check(method, params, call.at,
                              None if sent_at is None else float(sent_at))
        if problem is not None:
            call.status = problem[0]
            return self._error(*problem)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            call.result = True
            return self._ok(True)
        try:
            call.result = await handler(params)
            return self._ok(call.result)
        except LookupError:
            call.status = 400
            return self._error(400, "Bad Request: chat not found")

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        params: dict[str, Any] = {}
        form = await request.post()
        for key, value in form.items():
            if hasattr(value, "file"):
                content = value.file.read()
                params[key] = {"filename": value.filename, "size": len(content),
                               "content": content}
                continue
            text = str(value)
            if key in STRING_PARAMS:
                params[key] = text
                continue
            try:
                params[key] = json.loads(text) if text[:1] in "[{" or text in (
                    "true", "false") or text.lstrip("-").isdigit() else text
            except json.JSONDecodeError:
                params[key] = text
        return params

    def _fault_for(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (None, method) and fault.times > 0:
                fault.times -= 1
                if fault.retry_after:
                    self._paused_at = time.monotonic()
                    self._paused_until = self._paused_at + fault.retry_after
                return fault
        return None

    def _check(self, method: str, params: dict, now: float,
               sent_at: float | None = None) -> tuple | None:
        """Telegram's own refusals: what a careless bot gets in production."""
        if now < self._paused_until and method != "getUpdates":
            after_429 = (sent_at > self._paused_at if sent_at is not None
                         else now - self._paused_at > IN_FLIGHT)
            if after_429:  # sent after the 429 reached the bot, not on its way already
                self.violations.append(f"{method} during retry_after")
            return 429, "Too Many Requests: retry later", max(1, int(self._paused_until - now))
        # Telegram counts UTF-16 code units (an emoji outside the BMP is two)
        if method == "answerCallbackQuery" and utf16(params.get("text") or "") > 200:
            return 400, "Bad Request: MESSAGE_TOO_LONG"
        if method == "answerCallbackQuery" and self.refuse_repeated_answers:
            query = str(params.get("callback_query_id"))
            if query in self._answered:
                return 400, QUERY_ANSWERED
            self._answered.add(query)
        if utf16(params.get("caption") or "") > 1024:
            return 400, "Bad Request: message caption is too long"
        if utf16(params.get("text") or "") > 4096:
            return 400, "Bad Request: message is too long"
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return 400, "Bad Request: BUTTON_DATA_INVALID"
        if method in MESSAGE_METHODS and int(params["chat_id"]) in self.closed_chats:
            return 403, "Forbidden: bot can't initiate conversation with a user"
        if method in MESSAGE_METHODS and int(params["chat_id"]) in self.removed_chats:
            return 403, "Forbidden: bot was kicked from the supergroup chat"
        if method.startswith("edit") and (int(params["chat_id"]), int(
                params.get("message_id") or 0)) in self.deleted:
            return 400, "Bad Request: message to edit not found"
        if method in MESSAGE_METHODS:
            chat_id = int(params["chat_id"])
            # judged when the bot sent it where the request says (a stamped session): two
            # xdist workers on two cores can hold a request in the event loop long enough to
            # arrive beside the next one, which the bot sent in step
            at = now if sent_at is None else min(now, sent_at)
            if self._limiter.wait(chat_id, at) > 0.02:  # and a little slack for clock jitter
                self.violations.append(f"rate: {method} to {chat_id}")
                return 429, "Too Many Requests: retry after 1", 1
            self._limiter.take(chat_id, at)
        return None

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _error(self, status: int, description: str, retry_after: int | None = None
               ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    # -- methods ------------------------------------------------------------------------
    async def _m_getChat(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        if chat_id in self.unknown_chats:
            raise LookupError(chat_id)
        return {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private",
                "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": True, "limited_gifts": True,
                                        "unique_gifts": True, "premium_subscription": True,
                                        "gifts_from_channels": True},
                "title": "Managers"} | ({} if chat_id < 0 else {"first_name": "User"})

    async def _m_getMe(self, params: dict) -> dict:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Leadbot",
                "username": "leadbot_test_bot"}

    async def _m_getUpdates(self, params: dict) -> list:
        offset = int(params.get("offset") or 0)
        if offset:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            while self.updates and self.updates[0]["update_id"] < offset:
                self.updates.popleft()
        timeout = float(params.get("timeout") or 0)
        if not self.updates and timeout:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(timeout, 5))
        limit = int(params.get("limit") or 100)
        return list(itertools.islice(self.updates, limit))

    def _message(self, params: dict, **extra: Any) -> dict:
        chat_id = int(params["chat_id"])
        return {"message_id": next(self._ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Leadbot"}, **extra}

    async def _m_sendMessage(self, params: dict) -> dict:
        return self._message(params, text=params["text"])

    async def _m_sendDocument(self, params: dict) -> dict:
        return self._message(params, caption=params.get("caption"),
                             document={"file_id": f"file{next(self._ids)}",
                                       "file_unique_id": "u1", "file_name": "file.pdf"})

    async def _m_sendPhoto(self, params: dict) -> dict:
        return self._message(params, caption=params.get("caption"), photo=[
            {"file_id": f"photo{next(self._ids)}", "file_unique_id": "p1", "width": 800,
             "height": 600}])

    async def _m_editMessageText(self, params: dict) -> dict:
        return self._message(params, text=params["text"]) | {
            "message_id": int(params["message_id"])}

    async def _m_editMessageCaption(self, params: dict) -> dict:
        return self._message(params, caption=params.get("caption")) | {
            "message_id": int(params["message_id"])}

    async def _m_setWebhook(self, params: dict) -> bool:
        self.webhook = params
        return True

    async def _m_deleteWebhook(self, params: dict) -> bool:
        self.webhook = {}
        return True

    async def _m_setMyCommands(self, params: dict) -> bool:
        self.commands[params.get("language_code") or ""] = params["commands"]
        return True

    # -- what tests do ------------------------------------------------------------------
    def fail(self, status: int, description: str, method: str | None = None,
             retry_after: int | None = None, times: int = 1, delay: float = 0.0) -> None:
        self.faults.append(Fault(method, status, description, retry_after, delay, times))

    def push(self, update: dict) -> int:
        chat = (update.get("message") or {}).get("chat") or {}
        self.closed_chats.discard(chat.get("id"))  # they wrote to the bot: the chat is open
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._arrived.set()
        return update["update_id"]

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.status == 200
                and (method is None or c.method == method)
                and c.method not in ("getUpdates", "getMe")
                and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)]

    def shown(self, chat_id: int) -> dict[int, dict[str, Any]]:
        """What the chat shows now, by message id: each message's text (or caption),
        entities and reply markup after every edit Telegram accepted (an edit without a
        reply_markup takes the inline keyboard away, as Telegram does)."""
        messages: dict[int, dict[str, Any]] = {}
        for call in self.sent(chat_id):
            if call.method not in MESSAGE_METHODS or not isinstance(call.result, dict):
                continue
            message_id = call.result["message_id"]
            if (chat_id, message_id) in self.deleted:
                continue
            keys = ("text", "caption", "entities", "caption_entities", "reply_markup")
            messages[message_id] = {k: call.params[k] for k in keys if k in call.params}
        return messages

    def texts(self, chat_id: int) -> list[str]:
        return [c.params.get("text") or c.params.get("caption") or ""
                for c in self.sent(chat_id) if c.method in MESSAGE_METHODS]
