"""Pruning: sent outbox rows, old update ids and delivery events go after
LEADBOT_PRUNE_AFTER_DAYS; what is still needed stays, and works after it (a card is still
claimed and edited, an abandoned quiz's question is still edited in place)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.jobs.pruning import prune
from dialogs.format.scenarios import TAP_WORDS
from storage.schema.tables import Conversation, Event, OutboxMessage, ProcessedUpdate, utcnow
from storage.work.uow import UnitOfWork
from tests.e2e.conftest import bot_running
from tests.e2e.test_handoff import ANNA, GROUP, cards, hot_lead, manager_tap, push


@pytest.fixture(params=["sqlite", "postgresql"])
async def managed_on_both(request, telegram, tmp_path):
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(request.param, tmp_path)  # migrated and empty
    await engine.dispose()
    async with bot_running(telegram, await database_url(request.param, tmp_path),
                           managers_chat_id=GROUP, managers_language="en",
                           manager_ids=[ANNA]) as running:
        yield running


async def count(sessions, model) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_pruning_keeps_cards_questions_waited_on_and_every_funnel_event(
        managed_on_both):
    running = managed_on_both
    sessions = running.app.sessions
    hot = running.prospect(8101, "en")
    await hot_lead(hot)
    quitter = running.prospect(8102, "en")  # stops at the layout question
    await quitter.start("kitchen-quiz")
    for option in ("continue", "city"):
        await quitter.tap(option=TAP_WORDS.get(option, option))
    async with UnitOfWork(sessions) as uow:
        uow.events.add(Event(user_id=8102, kind="send_failed", data={"method": "x"},
                             created_at=utcnow() - timedelta(days=30)))
        await uow.commit()
    async with sessions() as session:
        funnel = sorted((await session.execute(select(Event.kind).where(
            Event.kind != "send_failed"))).scalars())
    outbox_before = await count(sessions, OutboxMessage)

    nothing_yet = await prune(running.app)  # within the week: only the month-old event
    assert nothing_yet == {"update ids": 0, "delivery events": 1, "CRM deliveries": 0,
                           "CRM notifications": 0, "outbox rows": 0}

    removed = await prune(running.app, now=utcnow() + timedelta(days=8))
    assert removed["update ids"] > 0 and await count(sessions, ProcessedUpdate) == 0
    async with sessions() as session:
        left = (await session.execute(select(OutboxMessage))).scalars().all()
        waiting = (await session.execute(select(Conversation).where(
            Conversation.user_id == 8102))).scalar_one()
        kinds = sorted((await session.execute(select(Event.kind))).scalars())
    assert removed["outbox rows"] == outbox_before - len(left) and len(left) <= 3
    assert {(r.chat_id, r.purpose or r.step) for r in left} == {(GROUP, "card"), (8102, "layout")}
    assert waiting.step == "layout" and kinds == funnel  # the funnel's events, all of them

    # what was kept still works: the question is edited in place, the card is claimed
    await quitter.tap(option="island")
    [question] = [r for r in left if r.step == "layout"]
    edit = running.telegram.sent(8102, "editMessageText")[-1]
    assert int(edit.params["message_id"]) == question.telegram_message_id
    data = cards(running)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(running, manager_tap(running, ANNA, data))
    claimed = running.telegram.sent(GROUP, "editMessageText")[-1]
    assert "Claimed by Anna" in claimed.params["text"]
