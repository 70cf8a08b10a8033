"""Both transports, side by side against the fake Bot API: the outbox's calls and Telegram's
answers in the port's words (bot/outbox/port.py), updates read one by one, commands read as
aiogram reads them, and the transport named at start."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from bot.outbox.port import (
    BadRequest,
    Blocked,
    Call,
    NotFound,
    NotModified,
    RetryAfter,
    Sent,
    Unavailable,
    Upload,
)
from bot.settings import TRANSPORTS, Settings
from bot.transport import open_transport
from bot.transport.updates import Counters


@pytest.fixture(params=TRANSPORTS)
async def transport(request, telegram):
    built = open_transport(Settings(_env_file=None, bot_token=telegram.token,
                                    telegram_api_url=telegram.url, transport=request.param))
    yield built
    await built.close()


def message(chat_id: int = 5, text: str = "Hello") -> Call:
    return Call("sendMessage", {"chat_id": chat_id, "text": text, "reply_markup": {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "q:1:a:yes"}]]}})


async def test_a_message_is_sent_as_stored_and_its_id_kept(transport, telegram):
    result = await transport.delivery.deliver(message(text="42"))
    assert isinstance(result, Sent) and result.message_id is not None
    [call] = telegram.sent(5)
    assert call.params["text"] == "42"  # a text, whatever it looks like
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "q:1:a:yes"


async def test_an_upload_and_a_file_on_disk_are_sent_as_documents(transport, telegram,
                                                                  tmp_path):
    (tmp_path / "price.pdf").write_bytes(b"%PDF-1.4 price")
    upload = Call("sendDocument", {"chat_id": 5, "caption": "Your data"},
                  upload=Upload("mydata.json", b'{"name": "x"}'))
    on_disk = Call("sendDocument", {"chat_id": 5, "document": {
        "path": str(tmp_path / "price.pdf")}, "caption": "Prices"})
    assert isinstance(await transport.delivery.deliver(upload), Sent)
    assert isinstance(await transport.delivery.deliver(on_disk), Sent)
    # a file part of the form (aiogram names it apart and sends "attach://..." as document)
    sent = [part for c in telegram.sent(5, "sendDocument") for part in c.params.values()
            if isinstance(part, dict) and "filename" in part]
    assert [(d["filename"], d["content"]) for d in sent] == [
        ("mydata.json", b'{"name": "x"}'), ("price.pdf", b"%PDF-1.4 price")]


async def test_aiogram_sends_a_call_as_json_and_a_file_as_a_form(telegram):
    """bot/telegram/session.py: one JSON body a call (typed values, nested objects, nothing
    None), multipart only to carry a file."""
    transport = open_transport(Settings(_env_file=None, bot_token=telegram.token,
                                        telegram_api_url=telegram.url, transport="aiogram"))
    try:
        assert isinstance(await transport.delivery.deliver(message(text="42")), Sent)
        upload = Call("sendDocument", {"chat_id": 5, "caption": "Your data"},
                      upload=Upload("mydata.json", b'{"name": "x"}'))
        assert isinstance(await transport.delivery.deliver(upload), Sent)
    finally:
        await transport.close()
    [text] = telegram.sent(5, "sendMessage")
    assert text.content_type == "application/json"
    assert text.params == {"chat_id": 5, "text": "42", "reply_markup": {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "q:1:a:yes"}]]}}
    [document] = telegram.sent(5, "sendDocument")
    assert document.content_type == "multipart/form-data"
    assert document.params["caption"] == "Your data"


@pytest.mark.parametrize(("status", "description", "retry_after", "expected"), [
    (429, "Too Many Requests: retry after 7", 7, RetryAfter(7.0)),
    (403, "Forbidden: bot was blocked by the user", None,
     Blocked("Forbidden: bot was blocked by the user")),
    (400, "Bad Request: message is not modified", None, NotModified()),
    (400, "Bad Request: message to edit not found", None,
     BadRequest("Bad Request: message to edit not found")),
    (404, "Not Found", None, NotFound("Not Found")),
    (500, "Internal Server Error", None, None),
    (502, "Bad Gateway", None, None),
])
async def test_telegrams_refusals_in_the_ports_words(transport, telegram, status, description,
                                                     retry_after, expected):
    telegram.fail(status, description, method="sendMessage", retry_after=retry_after)
    result = await transport.delivery.deliver(message())
    if expected is None:  # a 5xx: worth trying again, and Telegram surely took nothing
        assert isinstance(result, Unavailable) and result.answered, result
    elif isinstance(expected, BadRequest):  # PTB cuts "Bad Request: " and capitalises
        assert isinstance(result, BadRequest)
        assert expected.message.lower().endswith(result.message.lower())
    else:
        assert result == expected


async def test_telegram_unreachable_is_unavailable(telegram):
    await telegram.stop()  # nothing listens on its port any more
    for name in TRANSPORTS:
        built = open_transport(Settings(_env_file=None, bot_token=telegram.token,
                                        telegram_api_url=telegram.url, transport=name))
        try:
            result = await built.delivery.deliver(message())
            # no answer: a broadcast's message is not sent again (docs/broadcasts.md)
            assert isinstance(result, Unavailable) and not result.answered, result
        finally:
            await built.close()


@pytest.mark.parametrize("raw", [
    {"update_id": 1, "message": {"message_id": 1}},  # no chat, no date
    {"update_id": 2, "callback_query": {"id": "q"}},  # no sender
    {"update_id": 3, "message": "not an object"},
])
async def test_an_update_that_cannot_be_read_is_counted_not_raised(transport, raw):
    counters = Counters()
    assert transport.parse(raw, counters) is None
    assert counters.unreadable == 1


async def test_a_readable_update_is_the_transports_own_type(transport):
    raw = {"update_id": 9, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "A\x00nna"}, "text": "hi\x00"}}
    update = transport.parse(raw, Counters())
    assert update.update_id == 9 and transport.chat_of(update) == 5
    assert update.message.text == "hi"  # NUL taken out, as PostgreSQL would refuse it


@pytest.mark.parametrize(("text", "expected"), [
    ("/start kitchen-quiz", ("start", "kitchen-quiz")),
    ("/start", ("start", None)),
    ("/lang  uk ", ("lang", "uk ")),
    ("/start@leadbot_test_bot promo", ("start", "promo")),
    ("/start@other_bot promo", None),  # a command for another bot in the chat
    ("hello /start", None),
])
def test_ptb_reads_commands_as_aiogram_does(text, expected):
    from telegram import Chat, Message

    from bot.service.route import command_of

    found = command_of(Message(1, None, Chat(5, "private"), text=text), "leadbot_test_bot")
    assert found == expected


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_the_transport_in_use_is_logged_at_start(name, telegram, tmp_path, caplog):
    from bot.app import bootstrap, check_telegram
    from tests.conftest import FLOWS_DIR

    caplog.set_level(logging.INFO, logger="bot.app")
    app = await bootstrap(Settings(_env_file=None, bot_token=telegram.token,
                                   telegram_api_url=telegram.url, transport=name,
                                   database_url=f"sqlite:///{tmp_path}/bot.db",
                                   flows_dir=FLOWS_DIR))
    try:
        await check_telegram(app)  # what serve() does first
        assert app.transport.name == name
        assert f"transport: {name} (LEADBOT_TRANSPORT)" in caplog.text
    finally:
        await app.close()


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_links_ask_telegram_for_the_bots_name_on_either_transport(name, telegram):
    from bot.transport import bot_username

    settings = Settings(_env_file=None, bot_token=telegram.token,
                        telegram_api_url=telegram.url, transport=name)
    assert await bot_username(settings) == "leadbot_test_bot"
    wrong = settings.model_copy(update={"bot_token": SecretStr("123456:revoked")})
    with pytest.raises(LookupError):
        await bot_username(wrong)
