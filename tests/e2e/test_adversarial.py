"""Bad updates, each as a prospect or an attacker would send it, by long polling and by
webhook on SQLite and PostgreSQL: each is answered or skipped, and the next prospect is
served as if nothing happened."""

from __future__ import annotations

import json
import logging
import time

import pytest
from sqlalchemy import select

from storage.schema.tables import Lead
from tests.e2e.harness import WebhookRunning

TO_NAME = ("Start", "In the city", "With an island", "Over 5 metres", "Veneer or solid wood",
           "Built-in appliances", "✅ Done", "Within a month", "I agree", "No, thanks")
WELCOME = "Hello! This is Oak & Stone"
FORGED = ("claim:2147483648", "lead:2147483648:won", "lead:99999999999999999999:won",
          "relay:end:2147483648", "claim:-1", "lead:²:won", "claim:",
          "kitchen-quiz:99999999999999999999:location:city")


async def still_served(running, user_id: int = 990) -> None:
    """A new prospect gets their welcome: nothing before them stalled the bot."""
    newcomer = running.prospect(user_id)
    await newcomer.start("kitchen-quiz")
    assert newcomer.said()[-1].startswith(WELCOME)


async def test_forged_callback_ids_are_answered_and_stall_nobody(every_mode):
    running = every_mode
    stranger = running.prospect(950, "en")  # the managers' language is ru
    for data in FORGED:
        await stranger.tap(data=data, settle=False)
    await still_served(running)
    assert len(stranger.answers()) == len(FORGED)  # every button stops spinning
    if isinstance(running, WebhookRunning):
        assert set(running.statuses) == {200}  # none failed, none to be sent again


async def test_nul_characters_in_text_are_dropped_not_stored(every_mode):
    running = every_mode
    prospect = running.prospect(951)
    await prospect.start("kitchen-quiz")
    await prospect.send("\x00")
    for label in TO_NAME:
        await prospect.tap(label)
    await prospect.send("Oli\x00via")
    assert prospect.said()[-1].startswith("Thank you, Olivia") or "phone" in prospect.said()[-1]
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead).where(Lead.user_id == 951))).scalar_one()
    assert lead.name == "Olivia"
    await still_served(running)


async def test_an_update_that_cannot_be_parsed_is_skipped_and_counted(every_mode, caplog):
    running = every_mode
    prospect = running.prospect(952)
    await running.deliver({"message": prospect.message(poll={"id": "p1", "question": "?"})})
    forged = prospect.message(text="hi")
    forged["from"]["id"] = forged["chat"]["id"] = 2**64  # past any id column
    await running.deliver({"message": forged})
    await still_served(running)
    assert running.app.counters.unreadable == 2
    assert "cannot be read" in caplog.text
    if isinstance(running, WebhookRunning):
        assert running.statuses[:2] == [200, 200]  # skipped: not to be sent again


async def test_updates_no_library_can_read_are_skipped_once_and_the_next_served(every_mode,
                                                                              caplog):
    """A `date` no datetime holds (python-telegram-bot raised OSError, the bot exited, and
    again after each restart; the webhook answered 500 every time) and a message without its
    chat (500 twice on PTB's webhook before it was skipped): skipped at once, counted,
    acknowledged; the prospects after them answered."""
    running = every_mode
    prospect = running.prospect(956)
    far = prospect.message(text="hi")
    far["date"] = 10**17
    tap = {"id": "q-far-956", "from": prospect.user, "chat_instance": "ci",
           "data": "claim:1", "message": {**prospect.message(text="?"), "date": 10**17}}
    chatless = prospect.message(text="hello")
    del chatless["chat"]
    chatless_tap = {**tap, "id": "q-chatless-956", "message": chatless}  # its message's
    for update in ({"message": far}, {"callback_query": tap}, {"message": chatless},
                   {"callback_query": chatless_tap}):
        await running.deliver(update)
    await still_served(running)
    await still_served(running, 991)
    assert running.app.counters.unreadable == 4
    assert running.app.counters.skipped == 0  # not failed and retried: refused when read
    assert caplog.text.count("cannot be read") == 4
    if isinstance(running, WebhookRunning):
        assert running.statuses[:4] == [200, 200, 200, 200]  # never to be sent again


async def test_a_private_message_without_a_sender_is_skipped_with_a_log_line(every_mode,
                                                                             caplog):
    running = every_mode
    caplog.set_level(logging.INFO)
    message = running.prospect(953).message(text="hello")
    del message["from"]
    await running.deliver({"message": message})
    await still_served(running)
    assert "without a sender" in caplog.text
    if isinstance(running, WebhookRunning):
        assert running.statuses[0] == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_webhook_answers_400_to_json_nested_too_deep(backend, telegram, tmp_path):
    from tests.databases import database_url, fresh_engine
    from tests.e2e.conftest import webhook_running

    engine = await fresh_engine(backend, tmp_path)
    await engine.dispose()
    async with webhook_running(telegram, await database_url(backend, tmp_path)) as running:
        from bot.transport.webhook import SECRET_HEADER, WEBHOOK_PATH

        deep = '{"update_id": 1, "message": ' + "[" * 100_000 + "]" * 100_000 + "}"
        nested: list = []
        for _ in range(60):  # past any update's nesting, short of Python's stack
            nested = [nested]
        shallower = json.dumps({"update_id": 2, "message": {"date": int(time.time()),
                                                            "x": nested}})
        statuses = []
        for body in (deep, shallower):
            response = await running.client.post(
                WEBHOOK_PATH, data=body, headers={SECRET_HEADER: running.secret,
                                                  "Content-Type": "application/json"})
            statuses.append(response.status)
        assert statuses == [400, 200]  # unreadable / read but skipped, never a 500
        assert running.app.counters.unreadable == 1
        await still_served(running)


async def test_a_stranger_pressing_claim_is_answered_in_their_language(telegram, tmp_path):
    from tests.e2e.conftest import bot_running
    from tests.e2e.test_handoff import (
        ANNA,
        GROUP,
        STRANGER,
        alerts,
        cards,
        hot_lead,
        manager_tap,
    )

    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", managers_chat_id=GROUP,
                           managers_language="ru", manager_ids=[ANNA]) as running:
        prospect = running.prospect(954, "en")
        await hot_lead(prospect)
        data = cards(running)[0].params["reply_markup"]["inline_keyboard"][0][0][
            "callback_data"]
        for who, chat, language in ((STRANGER, GROUP, "uk"), (954, 954, "en")):
            tap = manager_tap(running, who, data, chat_id=chat)
            tap["callback_query"]["from"]["language_code"] = language
            await prospect.push(tap)
        assert list(alerts(running).values())[-2:] == [
            "Брати ліди можуть лише менеджери.", "Only managers can claim leads."]


async def test_a_forwarded_text_is_not_taken_for_the_prospects_name(running):
    prospect = running.prospect(955, "uk")
    await prospect.start("kitchen-quiz")
    for option in ("~go", "city", "island", "large", "veneer", "appliances", "~done",
                   "month", "~yes", "~mkno"):
        await prospect.tap(option=option)
    await prospect.push({"message": prospect.message(text="Олександр Петренко", forward_origin={
        "type": "user", "date": int(time.time()),
        "sender_user": {"id": 5, "is_bot": False, "first_name": "Олександр"}})})
    assert prospect.said()[-1] == "Це переслане повідомлення. Напишіть, будь ласка, своє ім'я самі."
    await prospect.send("Олена")
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead).where(Lead.user_id == 955))).scalar_one()
    assert lead.name == "Олена"


async def test_a_bot_api_outage_at_start_is_not_told_as_a_chat_to_fix(telegram, tmp_path):
    """getChat answering 5xx for the managers' chat said "add the bot to the group" (PTB)
    and stopped the start at once: an outage is not a setting to fix. A short one is waited
    out (the bot starts); a long one says Telegram is unavailable; a 403 still says add the
    bot."""
    from bot.app import StartupError
    from tests.e2e.conftest import bot_running

    group, url = -100222, f"sqlite:///{tmp_path}/bot.db"
    telegram.fail(502, "Bad Gateway", method="getChat", times=2)
    async with bot_running(telegram, url, managers_chat_id=group) as running:
        await still_served(running)
    telegram.fail(500, "Internal Server Error", method="getChat", times=50)
    with pytest.raises(StartupError) as outage:
        async with bot_running(telegram, url, managers_chat_id=group):
            pass
    assert str(outage.value).startswith("Telegram is unavailable: getChat for "
                                        "LEADBOT_MANAGERS_CHAT_ID (chat -100222) failed 3 times")
    assert "add the bot" not in str(outage.value)
    telegram.faults.clear()
    telegram.fail(403, "Forbidden: bot is not a member of the supergroup chat",
                  method="getChat")
    with pytest.raises(StartupError, match=r"^LEADBOT_MANAGERS_CHAT_ID: the bot cannot reach "
                                           r"chat -100222 \(add the bot to the group"):
        async with bot_running(telegram, url, managers_chat_id=group):
            pass
