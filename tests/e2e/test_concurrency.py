"""One prospect's updates at the same moment, by long polling and by webhook, on SQLite and
PostgreSQL: each update sees what the one before it committed, so nothing is lost."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.schema.tables import Answer, Conversation

EXTRAS = ("appliances", "stone-top", "lighting", "sink")
TO_EXTRAS = ("Start", "In the city", "With an island", "Over 5 metres", "Veneer or solid wood")


async def all_tap(running, prospects, label: str) -> None:
    await asyncio.gather(*(p.tap(label, settle=False) for p in prospects))
    await running.settle()


async def test_ticks_and_taps_at_once_are_each_counted_once(every_mode):
    running = every_mode
    prospects = [running.prospect(900 + i) for i in range(10)]
    await asyncio.gather(*(p.start("kitchen-quiz") for p in prospects))
    await running.settle()
    await all_tap(running, prospects, "Start")
    # ten taps at once on one answer: one answer, not several
    await asyncio.gather(*(p.tap("In the city", settle=False) for p in prospects[:3]
                           for _ in range(10)))
    await all_tap(running, prospects[3:], "In the city")
    for label in TO_EXTRAS[2:]:
        await all_tap(running, prospects, label)
    # four ticks at once on one multiple-choice question, for every prospect
    ticks = [(p, p.button(option=option)["callback_data"]) for p in prospects
             for option in EXTRAS]
    await asyncio.gather(*(p.tap(data=data, settle=False) for p, data in ticks))
    await running.settle()
    await all_tap(running, prospects, "✅ Done")
    async with running.app.sessions() as session:
        answers = (await session.execute(
            select(Conversation.user_id, Answer.step, Answer.value)
            .join(Conversation, Conversation.id == Answer.conversation_id)
            .order_by(Answer.id))).all()  # the order they were answered in
    for prospect in prospects:
        steps = [step for user, step, _ in answers if user == prospect.user_id]
        assert steps == ["location", "layout", "size", "facades", "extras"], steps
        extras = next(v for user, step, v in answers
                      if user == prospect.user_id and step == "extras")
        assert sorted(extras) == sorted(EXTRAS), (prospect.user_id, extras)
    assert set(getattr(running, "statuses", [200])) == {200}


def tap(prospect, data: str) -> dict:
    return {"callback_query": {
        "id": f"q{prospect.messages}-{prospect.user_id}", "from": prospect.user,
        "chat_instance": "ci", "data": data, "message": prospect.message(text="(question)")}}


async def test_ticks_at_once_through_two_webhook_processes(telegram, tmp_path):
    """The set-up for scaling: two processes behind one webhook URL, one PostgreSQL. Their
    in-process queues do not see each other; the prospect's row lock must do."""
    from tests.databases import database_url, fresh_engine
    from tests.e2e.conftest import webhook_running

    engine = await fresh_engine("postgresql", tmp_path)
    await engine.dispose()
    url = await database_url("postgresql", tmp_path)
    async with webhook_running(telegram, url) as one, webhook_running(telegram, url) as two:
        prospects = [one.prospect(920 + i) for i in range(6)]
        await asyncio.gather(*(p.start("kitchen-quiz") for p in prospects))
        for label in TO_EXTRAS:
            await all_tap(one, prospects, label)
        ticks = [(p, p.button(option=option)["callback_data"]) for p in prospects
                 for option in EXTRAS]
        await asyncio.gather(*((one, two)[i % 2].deliver(tap(p, data))
                               for i, (p, data) in enumerate(ticks)))
        await one.settle()
        await all_tap(one, prospects, "✅ Done")
        async with one.app.sessions() as session:
            extras = dict((await session.execute(
                select(Conversation.user_id, Answer.value)
                .join(Conversation, Conversation.id == Answer.conversation_id)
                .where(Answer.step == "extras"))).all())
        assert set(one.statuses + two.statuses) == {200}
    for prospect in prospects:
        assert sorted(extras[prospect.user_id]) == sorted(EXTRAS), extras
