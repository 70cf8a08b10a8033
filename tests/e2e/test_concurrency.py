"""One prospect's updates at the same moment, by long polling and by webhook, on SQLite and
PostgreSQL: each update sees what the one before it committed, so nothing is lost."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import Answer, Conversation

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
            .join(Conversation, Conversation.id == Answer.conversation_id))).all()
    for prospect in prospects:
        steps = [step for user, step, _ in answers if user == prospect.user_id]
        assert steps == ["location", "layout", "size", "facades", "extras"], steps
        extras = next(v for user, step, v in answers
                      if user == prospect.user_id and step == "extras")
        assert sorted(extras) == sorted(EXTRAS), (prospect.user_id, extras)
    assert set(getattr(running, "statuses", [200])) == {200}
