"""Hand-off and personal data: what the managers were sent goes with /forget, a prospect
without consent is never handed off, the relay ends with erasure, /mydata holds hand-offs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.jobs.handoff_timers import handoff_timers
from dialogs.format.scenarios import TAP_WORDS
from storage.schema.tables import Handoff, Lead, OutboxMessage, utcnow
from tests.e2e.conftest import bot_running
from tests.e2e.harness import eventually
from tests.e2e.test_handoff import (
    ANNA,
    BORIS,
    GROUP,
    PHONE,
    cards,
    hot_lead,
    manager_says,
    manager_tap,
    push,
)
from tests.e2e.test_privacy import confirm, everything_stored, exports

NAME = "Olivia Stonebridge"
SETTINGS = {"managers_chat_id": GROUP, "managers_language": "en",
            "manager_ids": [ANNA, BORIS], "sla_minutes": {"hot": 5, "warm": 5}}


@pytest.fixture(params=["sqlite", "postgresql"])
async def managed_on_both(request, telegram, tmp_path):
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(request.param, tmp_path)
    await engine.dispose()
    async with bot_running(telegram, await database_url(request.param, tmp_path),
                           **SETTINGS) as running:
        yield running


async def claim(running, manager: int = ANNA) -> int:
    data = cards(running)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(running, manager_tap(running, manager, data))
    async with running.app.sessions() as session:
        return (await session.execute(select(Handoff))).scalar_one().id


async def private_copy(running, manager: int = ANNA) -> OutboxMessage:
    async with running.app.sessions() as session:
        return (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == manager, OutboxMessage.purpose.in_(("lead", "relay")))
            .order_by(OutboxMessage.id))).scalars().first()


async def test_forget_erases_every_message_sent_to_the_managers(managed_on_both):
    running = managed_on_both
    prospect = running.prospect(8101, "en")
    await hot_lead(prospect, name=NAME)
    assert await handoff_timers(running.app, utcnow() + timedelta(minutes=6)) == 1  # reminder
    await running.settle()
    handoff_id = await claim(running)
    await push(running, manager_tap(running, ANNA, f"lead:{handoff_id}:contacted",
                                    chat_id=ANNA, message_id=77))
    stored = await everything_stored(running)
    assert stored.count(NAME) >= 5 and PHONE in stored  # card, reminder, edits, copies
    await confirm(prospect, "forget")
    stored = await everything_stored(running)
    for secret in (NAME, "Stonebridge", PHONE, PHONE.lstrip("+")):
        assert secret not in stored
    await running.settle()  # the card's edit says the client erased their data
    assert any("erased their data" in edit.params["text"]
               for edit in running.telegram.sent(GROUP, "editMessageText"))


async def test_retention_erases_the_messages_sent_to_the_managers(telegram, tmp_path):
    from bot.jobs.retention import anonymise_expired

    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", **SETTINGS) as running:
        prospect = running.prospect(8102, "en")
        await hot_lead(prospect, name=NAME)
        handoff_id = await claim(running)
        await push(running, manager_tap(running, ANNA, f"lead:{handoff_id}:meeting",
                                        chat_id=ANNA, message_id=77))
        assert await anonymise_expired(running.app, utcnow() + timedelta(days=400)) == 1
        stored = await everything_stored(running)
        for secret in (NAME, PHONE, PHONE.lstrip("+")):
            assert secret not in stored
        await running.settle()  # the card says why: not the client's /forget
        said = running.telegram.sent(GROUP, "editMessageText")[-1].params["text"]
        assert "retention period ended" in said and "/forget" not in said


async def test_a_card_waiting_for_a_manager_is_dropped_by_forget(managed_on_both):
    running = managed_on_both
    running.telegram.closed_chats.add(ANNA)
    prospect = running.prospect(8103, "en")
    await hot_lead(prospect, name=NAME)
    await claim(running)
    assert running.telegram.texts(ANNA) == []  # the copy waits for Anna to open the chat
    await confirm(prospect, "forget")
    anna = running.prospect(ANNA, "en")
    await anna.start("manager")
    # nothing about the erased lead arrives (with nothing waiting, she gets the menu)
    assert not any("lead" in t or "erased" in t for t in running.telegram.texts(ANNA))
    async with running.app.sessions() as session:
        statuses = {r.status for r in (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == ANNA,
            OutboxMessage.purpose.in_(("lead", "relay"))))).scalars()}
    assert statuses == {"dropped"}


async def test_forget_ends_the_relay_both_ways(managed_on_both):
    running = managed_on_both
    prospect = running.prospect(8104, "ru")
    await hot_lead(prospect, name="Иван Петров")
    await claim(running)
    card = await private_copy(running)
    await push(running, manager_says(ANNA, "Когда удобно позвонить?",
                                     card.telegram_message_id))
    assert prospect.said()[-1] == "💬 Anna: Когда удобно позвонить?"
    await confirm(prospect, "forget")
    to_anna = len(running.telegram.texts(ANNA))
    await prospect.send("Завтра в 10")  # no longer reaches Anna
    assert len(running.telegram.texts(ANNA)) == to_anna
    said = len(prospect.said())
    await push(running, manager_says(ANNA, "Алло?", card.telegram_message_id))
    assert "Алло?" not in " ".join(prospect.said()[said:])
    assert running.telegram.texts(ANNA)[-1] == (
        "The client's data has been erased: you can no longer write to them through the bot.")


async def test_a_prospect_who_declined_consent_is_never_handed_off(telegram, tmp_path):
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db",
                           handoff_also=["hot", "warm", "cold"], **SETTINGS) as running:
        prospect = running.prospect(8105, "en")
        await prospect.start("kitchen-quiz__ads")
        for option in ("continue", "city", "island", "large", "veneer", "appliances",
                       "lighting", "done", "month", "decline"):
            await prospect.tap(option=TAP_WORDS.get(option, option))
        assert "we are not saving anything" in prospect.said()[-1]
        assert cards(running) == []
        async with running.app.sessions() as session:
            assert (await session.execute(select(Handoff))).scalars().all() == []


async def test_mydata_holds_the_hand_off_and_the_messages_about_the_prospect(
        managed_on_both):
    running = managed_on_both
    prospect = running.prospect(8106, "en")
    await hot_lead(prospect, name=NAME)
    handoff_id = await claim(running)
    await push(running, manager_tap(running, ANNA, f"lead:{handoff_id}:lost:price",
                                    chat_id=ANNA, message_id=77))
    await confirm(prospect, "mydata")
    [data] = exports(running, 8106)
    [handoff] = data["handoffs"]
    assert NAME in handoff["card_text"] and handoff["lost_reason"] == "price"
    assert handoff["claimed_by"] == ANNA and handoff["claimed_at"]
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead))).scalar_one()
        about = {r.id for r in (await session.execute(select(OutboxMessage).where(
            (OutboxMessage.lead_id == lead.id) | (OutboxMessage.chat_id == 8106))))
            .scalars()}
    exported = {m["id"] for m in data["messages"]}
    assert about - exported <= {max(about)}  # all but the export itself, sent after
    chats = {m["chat_id"] for m in data["messages"]}
    assert {GROUP, ANNA, 8106} <= chats
    assert any(NAME in str(m["payload"]) and m["chat_id"] == ANNA for m in data["messages"])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_erasure_edits_survive_a_stop_before_they_are_sent(backend, telegram,
                                                                     tmp_path):
    """The edits are written with the erasure: Telegram refuses every edit (a 5xx) until
    the bot stops; the next process sends them all, to every part of a long relayed text."""
    from bot.jobs.retention import anonymise_expired
    from tests.databases import database_url, fresh_engine

    def shown() -> list[dict]:  # what Telegram shows of the client in the managers' chats
        return [m for chat in (GROUP, ANNA) for m in telegram.shown(chat).values()
                if NAME in str(m) or PHONE in str(m) or "tg://user?id=8107" in str(m)]

    engine = await fresh_engine(backend, tmp_path)
    await engine.dispose()
    url = await database_url(backend, tmp_path)
    async with bot_running(telegram, url, **SETTINGS) as running:
        prospect = running.prospect(8107, "en")
        await hot_lead(prospect, name=NAME)
        assert await handoff_timers(running.app, utcnow() + timedelta(minutes=6)) == 1
        await running.settle()
        await claim(running)
        card = await private_copy(running)
        await push(running, manager_says(ANNA, "When may I call?", card.telegram_message_id))
        await prospect.send("Call me at noon, Olivia Stonebridge")
        # words that with the name make more than one message: each part names the client
        await prospect.send("Olivia Stonebridge again. " + "About the kitchen. " * 214)
        parts = [m for m in telegram.shown(ANNA).values() if m["text"].startswith("💬 ")]
        assert len(parts) == 3 and all(NAME in m["text"] for m in parts)
        assert len(shown()) >= 6  # the card, the reminder, Anna's copy, the relayed words
        assert card.telegram_message_id in telegram.shown(ANNA)
        telegram.fail(502, "Bad Gateway", method="editMessageText", times=10**6)
        assert await anonymise_expired(running.app, utcnow() + timedelta(days=400)) == 1

        async def tried() -> bool:
            return any(c.method == "editMessageText" and c.status == 502
                       for c in telegram.calls)
        await eventually(tried, what="an erasure edit refused")
    assert shown()  # nothing edited yet
    telegram.faults.clear()
    async with bot_running(telegram, url, **SETTINGS) as running:
        async def edited() -> bool:
            return not shown()
        await eventually(edited, what="every message edited after the restart")
