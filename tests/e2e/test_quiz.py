"""Prospects through the real bot over HTTP: aiogram's Bot against the fake, a SQLite file."""

from __future__ import annotations

from sqlalchemy import select

from storage.schema.tables import Answer, Lead, OutboxMessage, Prospect


async def test_a_prospect_goes_through_the_quiz_to_consent_contact_and_reward(
        running_on_both):
    running = running_on_both
    prospect = running.prospect(501, "en")
    await prospect.start("kitchen-quiz__instagram")
    assert prospect.said()[-1].startswith("Hello! This is Oak & Stone")
    for label in ("Start", "In the city", "With an island", "Over 5 metres",
                  "Veneer or solid wood", "Built-in appliances", "✅ Done",
                  "Within a month", "I agree", "No, thanks"):
        await prospect.tap(label)
    await prospect.send("Olivia")
    await prospect.share_contact("+79161234567")
    said = prospect.said()
    assert any("your promo code for 15 % off: KITCHEN15-" in text for text in said)
    assert "A designer will call you within 15 minutes" in said[-1]
    async with running.app.sessions() as session:
        lead = (await session.execute(select(Lead))).scalar_one()
    assert (lead.phone, lead.temperature, lead.outcome, lead.source) == (
        "+79161234567", "hot", "handoff", "instagram")
    # the share-contact keyboard was offered, then taken away
    markups = [c.params.get("reply_markup") or {} for c in running.telegram.sent(501)]
    assert any(m.get("keyboard", [[{}]])[0][0].get("request_contact") for m in markups)
    assert any(m.get("remove_keyboard") for m in markups)
    assert running.telegram.violations == []


async def test_the_chosen_answer_replaces_the_buttons(running):
    prospect = running.prospect(502, "uk")
    await prospect.start("kitchen-quiz")
    await prospect.tap("Почати")
    await prospect.tap("У місті")
    edits = running.telegram.sent(502, "editMessageText")
    assert edits[-1].params["text"].endswith("Ваша відповідь: У місті")
    assert edits[-1].params["reply_markup"] == {"inline_keyboard": []}


async def test_the_same_update_delivered_twice_is_handled_once(running):
    prospect = running.prospect(503)
    update_id = await prospect.start("kitchen-quiz")
    before = len(running.telegram.sent(503))
    await prospect.push({"message": prospect.message(
        text="/start kitchen-quiz", entities=[{"type": "bot_command", "offset": 0,
                                               "length": 6}])}, update_id=update_id)
    assert len(running.telegram.sent(503)) == before
    assert running.app.service.duplicates == 1


async def test_a_double_tap_counts_once(running):
    prospect = running.prospect(504)
    await prospect.start("kitchen-quiz")
    await prospect.tap("Start")
    data = prospect.button("In the city")["callback_data"]
    await prospect.tap(data=data, settle=False)
    await prospect.tap(data=data)
    async with running.app.sessions() as session:
        answers = (await session.execute(select(Answer))).scalars().all()
    assert [a.step for a in answers] == ["location"]
    assert "Noted" in prospect.answers()


async def test_a_stale_button_from_an_older_version_is_answered_politely(running):
    prospect = running.prospect(505)
    await prospect.start("kitchen-quiz")
    await prospect.tap("Start")
    await prospect.tap(data="kitchen-quiz:0:location:city")
    assert "This quiz has been updated" in " ".join(prospect.answers())


async def test_text_stickers_and_photos_where_a_button_is_expected_get_a_reminder(running):
    prospect = running.prospect(506, "ru")
    await prospect.start("kitchen-quiz")
    await prospect.tap("Начать")
    await prospect.send("хм")  # typed text that means no option (docs/typed.md)
    assert prospect.said()[-1] == "Пожалуйста, выберите вариант кнопкой ниже 👇"
    await prospect.sticker()
    assert prospect.said()[-1].startswith("Я пока понимаю только текст и кнопки")
    last = running.telegram.sent(506)[-1]
    assert last.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "В городе"


async def test_plain_start_shows_the_menu(running):
    prospect = running.prospect(507, "uk")
    await prospect.start()
    assert prospect.said()[-1] == "Вітаємо! Оберіть, що вас цікавить:"
    await prospect.tap("Калькулятор вартості ремонту")
    assert prospect.said()[-1].startswith("Вітаємо! Це «Ремонт без сюрпризів»")


async def test_a_prospect_who_blocked_the_bot_gets_no_retries(running):
    prospect = running.prospect(508)
    await prospect.start("kitchen-quiz")
    running.telegram.fail(403, "Forbidden: bot was blocked by the user", method="sendMessage")
    await prospect.tap("Start")
    attempts = [c for c in running.telegram.calls
                if c.method == "sendMessage" and c.params.get("chat_id") == 508]
    assert [c.status for c in attempts] == [200, 403]  # the welcome, then one try only
    assert running.app.sender.counters.blocked == 1
    async with running.app.sessions() as session:
        who = await session.get(Prospect, 508)
        statuses = (await session.execute(select(OutboxMessage.status).where(
            OutboxMessage.chat_id == 508))).scalars().all()
    assert who.blocked and "pending" not in statuses


async def test_blocking_and_unblocking_from_telegram(running):
    prospect = running.prospect(509)
    await prospect.start("kitchen-quiz")
    await prospect.block()
    async with running.app.sessions() as session:
        assert (await session.get(Prospect, 509)).blocked
    await prospect.block(blocked=False)
    async with running.app.sessions() as session:
        assert not (await session.get(Prospect, 509)).blocked
