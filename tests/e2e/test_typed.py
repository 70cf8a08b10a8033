"""Typed answers through the real bot on both transports (aiogram and python-telegram-bot)
against the fake Bot API (docs/typed.md): the kitchen quiz answered by typing alone, a
"did you mean" tapped, an FAQ asked mid-quiz answered and the same question asked again,
text that means nothing kept masked; what the database holds afterwards."""

from __future__ import annotations

from sqlalchemy import select

from storage.schema.tables import Answer, Event, Lead, UnmatchedText

PROSPECT = 2601


async def test_the_kitchen_quiz_by_typing_with_a_did_you_mean_and_an_faq(running):
    prospect = running.prospect(PROSPECT, "ru")
    await prospect.start("kitchen-quiz__instagram")
    await prospect.send("начать")  # a message's button, typed
    assert prospect.said()[-1].startswith("Где будет стоять кухня?")
    await prospect.send("в городе")
    assert prospect.said()[-1].startswith("Какая планировка кухни?")
    edits = running.telegram.sent(PROSPECT, "editMessageText")
    assert edits[-1].params["text"].endswith("В городе")  # as a tap shows the answer
    # two close candidates: a "did you mean" with both as buttons; a tap on one answers
    await prospect.send("п образная или угловая")
    assert prospect.said()[-1].startswith("Вы имели в виду")
    offered = running.telegram.sent(PROSPECT)[-1].params["reply_markup"]["inline_keyboard"]
    assert {row[0]["text"] for row in offered[:2]} == {"Угловая", "П-образная"}
    await prospect.tap("Угловая")
    assert prospect.said()[-1].startswith("Какой длины будет кухня?")
    # an FAQ mid-quiz: the answer, then the same question again
    await prospect.send("А какая гарантия?")
    assert prospect.said()[-2].startswith("Гарантия на корпуса и фасады")
    assert prospect.said()[-1].startswith("Какой длины будет кухня?")
    # text that means nothing: the reminder, and it is kept with the email masked
    await prospect.send("напишите мне на olga@example.com пожалуйста")
    assert "кнопкой" in prospect.said()[-1]
    for typed in ("больше 5 метров", "шпон", "техника и подсветка", "в ближайший месяц"):
        await prospect.send(typed)
    assert prospect.said()[-1].startswith("Ваша скидка")
    await prospect.send("согласен")  # the consent, typed
    await prospect.send("нет, спасибо")  # and no to the newsletter
    await prospect.send("Ольга")
    await prospect.share_contact("+79161234567")
    assert any("KITCHEN15-" in text for text in prospect.said())
    async with running.app.sessions() as session:
        answers = {a.step: a for a in (await session.execute(select(Answer))).scalars()}
        lead = (await session.execute(select(Lead))).scalar_one()
        kept = (await session.execute(select(UnmatchedText))).scalars().all()
        faq = (await session.execute(select(Event).where(Event.kind == "faq"))).scalars().all()
    expected = {"location": "city", "layout": "corner", "size": "large", "facades": "veneer",
                "extras": ["appliances", "lighting"], "timing": "month"}
    assert {step: answers[step].value for step in expected} == expected
    assert answers["location"].typed == '"в городе" -> city (label)'
    assert answers["layout"].typed is None  # tapped, from the did-you-mean
    assert answers["extras"].typed.startswith('"техника и подсветка" -> appliances, lighting')
    assert (lead.temperature, lead.outcome) == ("hot", "handoff")
    assert [(e.step, e.data) for e in faq] == [("size", {"entry": "warranty"})]
    assert [(k.step, k.language) for k in kept] == [("size", "ru")]
    assert "olga@" not in kept[0].text and "пожалуйста" in kept[0].text
    assert running.telegram.violations == []
