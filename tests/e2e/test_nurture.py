"""Nurture end to end: the real bot against the fake Bot API (a warm lead's sequence, its
one-tap unsubscribe, a "ready now" that hands the lead off), and two bot processes racing
for due follow-ups on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.jobs.followups import NurtureConfig, deliver_due
from dialogs.engine.state import State
from storage.db.engine import create_engine, sessionmaker
from storage.schema.tables import (
    Conversation,
    FollowUp,
    Lead,
    OutboxMessage,
    Prospect,
    utcnow,
)
from tests.e2e.conftest import bot_running

GROUP = -100333
# Quiet hours are tested on a controlled clock (tests/bot/test_nurture.py); here the clock
# is the real one, so they are off: the test must not depend on the time of day it runs.
ANYTIME = NurtureConfig(quiet="off", stale=timedelta(0))
WARM = ("~go", "suburbs", "corner", "medium", "enamel", "~done", "quarter", "~yes", "~mkyes")


async def warm_lead(running, user_id: int):
    prospect = running.prospect(user_id, "en")
    await prospect.start("kitchen-quiz")
    for option in WARM:
        await prospect.tap(option=option)
    await prospect.send("Anna Smith")
    await prospect.send("+44 7400 123456")
    assert "your promo code for 15 % off" in prospect.said()[-2]
    return prospect


async def due(running, days: float) -> int:
    queued = await deliver_due(running.app.sessions, utcnow() + timedelta(days=days), ANYTIME)
    running.app.sender.wake()
    await running.settle()
    return queued


async def test_a_warm_lead_is_nurtured_can_unsubscribe_and_turns_hot_to_the_managers(
        telegram, tmp_path):
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", managers_chat_id=GROUP,
                           managers_language="en") as running:
        anna, boris = await warm_lead(running, 8101), await warm_lead(running, 8102)
        assert await due(running, 2) == 2
        for prospect in (anna, boris):
            assert prospect.said()[-1].startswith("Here are 12 kitchens")
            _, buttons = prospect.keyboards()[-1]
            assert buttons[0] == {"text": "See the kitchens",
                                  "url": "https://oak-stone.example/gallery"}
            assert buttons[-1]["callback_data"] == "rights:unsubscribe"
        await boris.tap("Unsubscribe")  # one tap
        assert boris.said()[-1].startswith("Done: no more marketing messages")
        assert await due(running, 7) == 1  # Anna's question; nothing more for Boris
        assert "ready to order your kitchen this month?" in anna.said()[-1]
        await anna.tap("Yes, ready now")
        [card] = [c for c in telegram.sent(GROUP) if c.method == "sendMessage"]
        assert "Hot lead" in card.params["text"]
        # (the bot's own clock is real here: "after 0 min"; tests/bot/test_nurture.py has days)
        assert "warmed up through nurture after" in card.params["text"]
        assert anna.said()[-1].startswith("Thank you! A manager has your request")
        assert await due(running, 60) == 0  # handed off: the sequence is over
        assert boris.said()[-1].startswith("Done: no more marketing messages")


async def lead_row(running, user_id: int) -> tuple[int | None, str | None]:
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead).where(Lead.user_id == user_id))
                ).scalar_one()
    return lead.score, lead.temperature


async def test_an_answer_to_a_follow_up_never_sent_to_that_person_is_refused(telegram,
                                                                            tmp_path):
    """A forged `~ready:now` from a warm lead who declined marketing (the question was never
    sent to them) re-scored them hot and handed them off; so did a tap on a follow-up not
    yet due, and a second answer to one already answered. Each is now refused like a stale
    button: answered politely, nothing changes. The genuine tap still hands off."""
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", managers_chat_id=GROUP,
                           managers_language="en") as running:
        declined = running.prospect(8111, "en")
        await declined.start("kitchen-quiz")
        for option in (*WARM[:-1], "~mkno"):
            await declined.tap(option=option)
        await declined.send("Ivan Petrov")
        await declined.send("+44 7400 654321")
        async with running.app.sessions() as session:
            version = (await session.execute(select(Conversation.flow_version).where(
                Conversation.user_id == 8111))).scalar_one()
        before = await lead_row(running, 8111)
        assert before[1] == "warm"
        forged = f"kitchen-quiz:{version}:~ready:now"
        await declined.tap(data=forged)
        anna = await warm_lead(running, 8112)
        await anna.tap(data=forged)  # scheduled for her, not sent yet
        stale = "That question is behind us"
        assert [a.startswith(stale) for a in declined.answers()[-1:] + anna.answers()[-1:]] \
            == [True, True]
        assert await lead_row(running, 8111) == before
        assert (await lead_row(running, 8112))[1] == "warm"
        assert not [c for c in telegram.sent(GROUP) if c.method == "sendMessage"]
        assert await due(running, 2) == 1  # Anna's gallery
        assert await due(running, 9) == 1  # then her question
        assert "ready to order your kitchen this month?" in anna.said()[-1]
        await anna.tap("Yes, ready now")  # the genuine tap: hot, handed off
        [card] = [c for c in telegram.sent(GROUP) if c.method == "sendMessage"]
        assert "Hot lead" in card.params["text"]
        await anna.tap(data=forged.replace(":now", ":later"))  # answered already
        assert anna.answers()[-1].startswith(stale)
        assert len([c for c in telegram.sent(GROUP) if c.method == "sendMessage"]) == 1
        await declined.tap(data=forged)
        assert await lead_row(running, 8111) == before


async def test_two_processes_racing_for_due_follow_ups_send_each_once():
    """Two bot processes (two connection pools) on one PostgreSQL take due rows FOR UPDATE
    SKIP LOCKED: every row is queued exactly once, none twice, none lost."""
    from tests.databases import fresh_engine

    count, now = 400, utcnow()
    setup = await fresh_engine("postgresql", None)
    url = setup.url.render_as_string(hide_password=False)
    await setup.dispose()
    engines = [create_engine(url) for _ in range(2)]
    sessions = [sessionmaker(engine) for engine in engines]
    try:
        async with sessions[0]() as session:
            conversations = []
            for user_id in range(1, count + 1):
                state = State(flow_id="kitchen-quiz", flow_version=1, user_id=user_id,
                              language="en", step="done", finished=True, outcome="nurture",
                              consents={"processing": "1", "marketing": "1"})
                session.add(Prospect(user_id=user_id, chat_id=user_id, language="en"))
                conversations.append(Conversation(
                    user_id=user_id, chat_id=user_id, flow_id="kitchen-quiz", flow_version=1,
                    step="done", finished=True, state=state.to_dict()))
            await session.flush()  # the prospects first
            session.add_all(conversations)
            await session.flush()
            for c in conversations:
                session.add(FollowUp(conversation_id=c.id, user_id=c.user_id, chat_id=c.chat_id,
                                     key="gallery", text=f"hello {c.user_id}",
                                     due_at=now - timedelta(minutes=1)))
            await session.commit()
        results = await asyncio.gather(*(
            deliver_due(s, now, ANYTIME, batch=25) for s in sessions for _ in range(2)))
        assert sum(results) == count
        async with sessions[0]() as session:
            sent = (await session.execute(select(OutboxMessage.chat_id, func.count())
                                          .group_by(OutboxMessage.chat_id))).all()
            left = await session.scalar(select(func.count()).where(
                FollowUp.status != "sent"))
        assert len(sent) == count and {n for _, n in sent} == {1} and left == 0
    finally:
        for engine in engines:
            await engine.dispose()
