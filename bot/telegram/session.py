"""aiogram's aiohttp session, its calls sent as one JSON body instead of a multipart form.

aiogram posts every method as multipart/form-data: a part per parameter, each with its own
headers, and the nested ones (a keyboard) encoded as JSON strings inside it. The Bot API
takes application/json as well (its "Making requests"), and one `json.dumps` of the whole
call is cheaper to build and to send: 12–17 % of a call's CPU in the bot, measured by
bench/calls.py (docs/performance.md). A call that uploads a file (a checklist sent as a
document) still goes as a form, the only way to carry the file.

May import: aiogram, aiohttp.
"""

from __future__ import annotations

from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError

__all__ = ["JsonSession"]

JSON = {"Content-Type": "application/json"}


class JsonSession(AiohttpSession):
    def build_json(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any] | None:
        """The call's parameters as the JSON body (defaults filled in, None left out); None
        when it uploads a file."""
        files: dict[str, InputFile] = {}
        body = self.prepare_value(method.model_dump(warnings=False), bot=bot, files=files,
                                  _dumps_json=False)
        return None if files else body

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType],
                           timeout: int | None = None) -> TelegramType:
        body = self.build_json(bot, method)
        if body is None:  # a file to upload: multipart, as aiogram sends it
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(url, data=self.json_dumps(body), headers=JSON,
                                    timeout=self.timeout if timeout is None else timeout
                                    ) as response:
                raw = await response.text()
        except TimeoutError as error:  # as aiogram's own make_request says them
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            raise TelegramNetworkError(method=method,
                                       message=f"{type(error).__name__}: {error}") from error
        answer = self.check_response(bot=bot, method=method, status_code=response.status,
                                     content=raw)
        return cast(TelegramType, answer.result)
