"""Hot leads to the managers' group through the fake Bot API: the card, claiming, status,
SLA timers on a controlled clock, working hours, erasure."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.jobs.handoff_timers import handoff_timers
from dialogs.format.scenarios import TAP_WORDS
from storage.schema.tables import Conversation, Event, Handoff, Lead, utcnow
from tests.e2e.conftest import bot_running
from tests.e2e.harness import eventually

GROUP, ESCALATION = -100111, -100222
ANNA, BORIS, STRANGER = 9001, 9002, 9003
PHONE = "+79161234567"


async def hot_lead(prospect, name: str = "Olivia", phone: str = PHONE) -> None:
    """The kitchen quiz to a hot lead handed off (score 98, SQL)."""
    await prospect.start("kitchen-quiz__instagram")
    for option in ("continue", "city", "island", "large", "veneer", "appliances",
                   "lighting", "done", "month", "agree", "marketing_no"):
        await prospect.tap(option=TAP_WORDS.get(option, option))
    await prospect.send(name)
    await prospect.share_contact(phone)


def manager_tap(prospect_or_running, manager: int, data: str, chat_id: int = GROUP,
                message_id: int = 1, first_name: str = "Anna") -> dict:
    return {"callback_query": {
        "id": f"m{manager}-{time.monotonic_ns()}", "chat_instance": "g",
        "from": {"id": manager, "is_bot": False, "first_name": first_name},
        "data": data, "message": {
            "message_id": message_id, "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"},
            "from": {"id": 1, "is_bot": True, "first_name": "Leadbot"}, "text": "card"}}}


async def push(running, update: dict, settle: bool = True) -> None:
    running.telegram.push(update)
    running.pushed += 1
    if settle:
        await running.settle()


def cards(running, chat_id: int = GROUP) -> list:
    return [c for c in running.telegram.sent(chat_id) if c.method == "sendMessage"]


def alerts(running) -> dict[str, str]:
    return {c.params["callback_query_id"]: c.params.get("text", "")
            for c in running.telegram.sent(None, "answerCallbackQuery")}


@pytest.fixture
async def managed(telegram, tmp_path):
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", managers_chat_id=GROUP,
                           escalation_chat_id=ESCALATION, managers_language="en",
                           manager_ids=[ANNA, BORIS]) as running:
        yield running


async def test_a_hot_leads_card_reaches_the_group_with_what_a_manager_needs(managed):
    prospect = managed.prospect(8001, "en")
    await hot_lead(prospect)
    [card] = cards(managed)
    text = card.params["text"]
    assert text.startswith("🔥 Hot lead · score 98 · SQL · target")
    assert f"Olivia · {PHONE}" in text  # a phone number is tappable in Telegram's clients
    assert "With an island (+20)" in text and "Within a month" in text
    assert "Discount 15 % · code KITCHEN15-" in text
    link = card.params["entities"][0]
    assert link["url"] == "tg://user?id=8001" and link["type"] == "text_link"
    assert card.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "✋ Claim"
    assert len(text) < 700  # readable on a phone: a few lines, not a dump
    async with managed.app.sessions() as session:
        handoff = (await session.execute(select(Handoff))).scalar_one()
        lead = (await session.execute(select(Lead))).scalar_one()
        conversation = (await session.execute(select(Conversation))).scalar_one()
    assert handoff.lead_id == lead.id and lead.status == "handoff"
    # how long the quiz took, as it was: "0 min" only while the run is fast (a loaded
    # machine can take over a minute for the quiz's fourteen updates)
    took = int((handoff.submitted_at - conversation.started_at).total_seconds())
    assert (f"Source: instagram · kitchen-quiz v1 · en · filled in within {took // 60} min "
            f"{took % 60} s") in text
    assert managed.telegram.violations == []


async def test_two_managers_tap_claim_at_once_and_exactly_one_wins(managed):
    prospect = managed.prospect(8002, "uk")
    await hot_lead(prospect, name="Олена")
    data = cards(managed)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(managed, manager_tap(managed, ANNA, data, first_name="Anna"), settle=False)
    await push(managed, manager_tap(managed, BORIS, data, first_name="Boris"))
    async with managed.app.sessions() as session:
        handoff = (await session.execute(select(Handoff))).scalar_one()
        claims = (await session.execute(select(Event).where(Event.kind == "claimed"))
                  ).scalars().all()
    assert len(claims) == 1 and handoff.claimed_by in (ANNA, BORIS)
    winner = "Anna" if handoff.claimed_by == ANNA else "Boris"
    said = alerts(managed)
    assert any(text == f"{winner} has already claimed this lead." for text in said.values())
    edit = managed.telegram.sent(GROUP, "editMessageText")[-1]
    assert f"✅ Claimed by {winner} after" in edit.params["text"]
    assert edit.params["reply_markup"] == {"inline_keyboard": []}
    # the prospect is told, in their language, who will call
    assert prospect.said()[-1] == (
        f"{winner} вже займається вашою заявкою і скоро зв'яжеться з вами.")
    # the winner gets the lead privately, with status buttons
    private = managed.telegram.sent(handoff.claimed_by, "sendMessage")[-1]
    assert "Олена" in private.params["text"]
    assert [row[0]["text"] for row in private.params["reply_markup"]["inline_keyboard"]] == [
        "📞 Contacted", "📅 Meeting set", "🏆 Won", "✖ Lost", "↩ Back to nurture"]


async def test_a_tap_from_someone_not_a_manager_is_refused(managed, caplog):
    prospect = managed.prospect(8003, "en")
    await hot_lead(prospect)
    data = cards(managed)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(managed, manager_tap(managed, STRANGER, data))  # in the group, not listed
    await push(managed, manager_tap(managed, 8003, data, chat_id=8003))  # the prospect
    assert list(alerts(managed).values())[-2:] == ["Only managers can claim leads."] * 2
    assert "claim refused: user 9003 is not a manager" in caplog.text
    async with managed.app.sessions() as session:
        assert (await session.execute(select(Handoff))).scalar_one().claimed_by is None


async def test_status_buttons_record_events_and_time_to_first_contact(managed):
    prospect = managed.prospect(8004, "en")
    await hot_lead(prospect)
    data = cards(managed)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(managed, manager_tap(managed, ANNA, data))
    async with managed.app.sessions() as session:
        handoff_id = (await session.execute(select(Handoff))).scalar_one().id
    await push(managed, manager_tap(managed, BORIS, f"lead:{handoff_id}:won", chat_id=BORIS))
    assert list(alerts(managed).values())[-1] == "Another manager has this lead."
    await push(managed, manager_tap(managed, ANNA, f"lead:{handoff_id}:contacted",
                                    chat_id=ANNA, message_id=77))
    await push(managed, manager_tap(managed, ANNA, f"lead:{handoff_id}:lost", chat_id=ANNA,
                                    message_id=77))
    reasons = managed.telegram.sent(ANNA, "editMessageText")[-1]
    assert "Why was it lost?" in reasons.params["text"]
    await push(managed, manager_tap(managed, ANNA, f"lead:{handoff_id}:lost:price",
                                    chat_id=ANNA, message_id=77))
    async with managed.app.sessions() as session:
        handoff = (await session.execute(select(Handoff))).scalar_one()
        lead = (await session.execute(select(Lead))).scalar_one()
        statuses = [e.data for e in (await session.execute(select(Event).where(
            Event.kind == "lead_status").order_by(Event.id))).scalars()]
    assert (handoff.status, handoff.lost_reason, lead.status) == ("lost", "price", "lost")
    assert handoff.first_contact_at is not None and handoff.claimed_at is not None
    assert [(s["status"], s["reason"]) for s in statuses] == [("contacted", None),
                                                                ("lost", "price")]
    assert all(s["since_claim"] >= 0 and s["since_submission"] >= 0 for s in statuses)
    assert "Status: ✖ Lost (Too expensive)" in managed.telegram.sent(
        ANNA, "editMessageText")[-1].params["text"]


async def test_sla_reminds_then_escalates_on_a_controlled_clock_also_after_a_restart(
        telegram, tmp_path):
    url = f"sqlite:///{tmp_path}/bot.db"
    settings = {"managers_chat_id": GROUP, "escalation_chat_id": ESCALATION,
                "managers_language": "en", "manager_ids": [ANNA], "sla_minutes": {"hot": 5}}
    async with bot_running(telegram, url, **settings) as running:
        await hot_lead(running.prospect(8005, "en"))
        now = utcnow()
        assert await handoff_timers(running.app, now + timedelta(minutes=4)) == 0
        assert await handoff_timers(running.app, now + timedelta(minutes=6)) == 1
        await running.settle()
        reminder = cards(running)[-1]
        assert reminder.params["text"].startswith("⏰ Nobody has claimed this lead for 6 min.")
        assert reminder.params["entities"][0]["url"] == f"tg://user?id={ANNA}"  # mentioned
    # a restart: the timer is a row, it still fires
    async with bot_running(telegram, url, **settings) as running:
        assert await handoff_timers(running.app, now + timedelta(minutes=9)) == 0
        assert await handoff_timers(running.app, now + timedelta(minutes=12)) == 1
        await running.settle()
        [escalated] = cards(running, ESCALATION)
        assert escalated.params["text"].startswith("🚨 Not claimed within 12 min")
        data = escalated.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await push(running, manager_tap(running, ANNA, data, chat_id=ESCALATION))
        assert await handoff_timers(running.app, now + timedelta(hours=5)) == 0
        async with running.app.sessions() as session:
            handoff = (await session.execute(select(Handoff))).scalar_one()
            kinds = [e.kind for e in (await session.execute(select(Event).where(
                Event.kind.in_(("sla_reminder", "sla_escalated", "claimed")))
                .order_by(Event.id))).scalars()]
        assert handoff.claimed_by == ANNA
        assert kinds == ["sla_reminder", "sla_escalated", "claimed"]


async def test_outside_working_hours_the_prospect_is_told_when_to_expect_a_call(
        telegram, tmp_path):
    # "Tomorrow" where the bot's hours are (Europe/Kyiv, not this machine's zone), taken once:
    # from now until then 09:00 the bot is closed and next opens then, even across midnight.
    day = datetime.now(ZoneInfo("Europe/Kyiv")) + timedelta(days=1)
    tomorrow, weekday = day.strftime("%a").lower(), day.strftime("%A")
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", managers_chat_id=GROUP,
                           managers_language="en", working_hours=f"{tomorrow} 09:00-18:00",
                           timezone="Europe/Kyiv") as running:
        prospect = running.prospect(8006, "en")
        await hot_lead(prospect)
        assert prospect.said()[-1] == (
            f"We are closed right now. A manager will contact you on {weekday} after 09:00 "
            f"(Europe/Kyiv time).")
        assert "🌙 after hours" in cards(running)[0].params["text"]
        async with running.app.sessions() as session:
            handoff = (await session.execute(select(Handoff))).scalar_one()
        local = handoff.due_at.astimezone(running.app.service.handoffs.config.hours.zone)
        assert (local.strftime("%a").lower(), local.hour, local.minute) == (tomorrow, 9, 5)


async def test_forget_edits_the_managers_card(managed):
    prospect = managed.prospect(8007, "en")
    await hot_lead(prospect)
    await prospect.command("/forget")
    await prospect.tap(data="rights:forget:yes")
    edit = managed.telegram.sent(GROUP, "editMessageText")[-1]
    assert "The client erased their data (/forget)." in edit.params["text"]
    assert PHONE not in edit.params["text"] and "Olivia" not in edit.params["text"]


def manager_says(manager: int, text: str, reply_to: int, first_name: str = "Anna") -> dict:
    chat = {"id": manager, "type": "private"}
    return {"message": {
        "message_id": 5000 + reply_to, "date": int(time.time()), "chat": chat, "text": text,
        "from": {"id": manager, "is_bot": False, "first_name": first_name},
        "reply_to_message": {"message_id": reply_to, "date": int(time.time()), "chat": chat,
                             "from": {"id": 1, "is_bot": True, "first_name": "Leadbot"},
                             "text": "card"}}}


async def test_relay_works_both_ways_and_either_side_ends_it(managed):
    prospect = managed.prospect(8008, "ru")
    await hot_lead(prospect, name="Иван")
    data = cards(managed)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(managed, manager_tap(managed, ANNA, data))
    async with managed.app.sessions() as session:
        from storage.schema.tables import OutboxMessage

        card = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == ANNA, OutboxMessage.method == "sendMessage"))
        ).scalars().first()
    assert "Reply to this message to write to the client" in card.payload["text"]
    await push(managed, manager_says(ANNA, "Здравствуйте! Когда удобно позвонить?",
                                     card.telegram_message_id))
    assert prospect.said()[-1] == "💬 Anna: Здравствуйте! Когда удобно позвонить?"
    end = managed.telegram.sent(8008)[-1].params["reply_markup"]["inline_keyboard"][0][0]
    assert end["text"] == "Завершить переписку"
    await prospect.send("Завтра в 10")
    assert managed.telegram.texts(ANNA)[-1] == "💬 Иван: Завтра в 10"
    await prospect.sticker()
    assert managed.telegram.texts(ANNA)[-1].startswith("💬 Иван: (sent ")
    # a manager who does not have the lead cannot write to its client
    await push(managed, manager_says(BORIS, "Hi", card.telegram_message_id, "Boris"))
    assert "Hi" not in " ".join(prospect.said()[-1:])
    # the prospect ends it; their next words go to the flow again, not to Anna
    await prospect.tap(data=end["callback_data"])
    assert prospect.said()[-1] == "Переписка с менеджером завершена. Спасибо!"
    assert managed.telegram.texts(ANNA)[-1] == "The chat with the client has ended."
    before = len(managed.telegram.texts(ANNA))
    await prospect.send("ещё вопрос")
    assert len(managed.telegram.texts(ANNA)) == before
    async with managed.app.sessions() as session:
        kinds = [e.kind for e in (await session.execute(select(Event).where(
            Event.kind.like("relay%")).order_by(Event.id))).scalars()]
    assert kinds == ["relay_started", "relay_message", "relay_message", "relay_message",
                     "relay_ended"]


def sent_at_least(running, chat_id: int, count: int):
    async def condition() -> bool:
        return len(running.telegram.sent(chat_id)) >= count
    return condition


async def test_relayed_messages_of_4096_characters_arrive_whole_on_both_sides(managed):
    """The "💬 Name: " prefix pushed a message Telegram allows (4096) over its limit: it was
    refused and neither side knew. It arrives in two parts, the End button on the last."""
    prospect = managed.prospect(8010, "en")
    await hot_lead(prospect, name="Ivan")
    data = cards(managed)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(managed, manager_tap(managed, ANNA, data))
    async with managed.app.sessions() as session:
        from storage.schema.tables import OutboxMessage

        card = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == ANNA, OutboxMessage.method == "sendMessage"))
        ).scalars().first()
    offer = "\n".join(f"{i}. A kitchen option with its price." for i in range(1, 200))[:4096]
    before = len(managed.telegram.sent(8010))
    await push(managed, manager_says(ANNA, offer, card.telegram_message_id))
    await eventually(sent_at_least(managed, 8010, before + 2), 60, "the offer's two parts")
    parts = managed.telegram.sent(8010)[before:]
    assert "".join(p.params["text"] for p in parts) == f"💬 Anna: {offer}"
    assert "reply_markup" in parts[-1].params and "reply_markup" not in parts[0].params
    before = len(managed.telegram.sent(ANNA))
    answer = "Thanks! " * 512  # 4096 characters
    await prospect.send(answer)
    await eventually(sent_at_least(managed, ANNA, before + 2), 60, "the answer's two parts")
    # each part a message of its own, saying who wrote it (erasure edits each by its id)
    parts = managed.telegram.sent(ANNA)[before:]
    assert all(p.params["text"].startswith("💬 Ivan: ") for p in parts)
    assert "".join(p.params["text"].removeprefix("💬 Ivan: ") for p in parts) == answer
    assert "reply_markup" in parts[-1].params and "reply_markup" not in parts[0].params
    async with managed.app.sessions() as session:
        assert (await session.execute(select(Event).where(
            Event.kind == "send_failed"))).first() is None


async def test_a_manager_who_never_started_the_bot_is_told_and_loses_nothing(managed):
    managed.telegram.closed_chats.add(ANNA)
    prospect = managed.prospect(8009, "en")
    await hot_lead(prospect)
    data = cards(managed)[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await push(managed, manager_tap(managed, ANNA, data))
    notice = cards(managed)[-1].params
    assert notice["text"] == (
        "Anna, I cannot write to you privately: open "
        "https://t.me/leadbot_test_bot?start=manager and press Start, and the lead's card "
        "will follow.")
    assert notice["entities"][0]["url"] == f"tg://user?id={ANNA}"
    assert managed.telegram.texts(ANNA) == []
    # Anna opens the chat: the card that waited is delivered
    anna = managed.prospect(ANNA, "en")
    await anna.start("manager")
    [card] = managed.telegram.texts(ANNA)
    assert card.startswith("🔥 Hot lead") and "Reply to this message" in card


SENIOR = -100333
ROUTES = f"""
routes:
  - name: senior
    when: "'big_order' in tags and language == 'en'"
    chat_id: {SENIOR}
    managers: [{{id: {ANNA}, name: Anna}}]
  - name: ukrainian
    when: "language == 'uk'"
    managers: [{{id: {ANNA}, name: Anna}}, {{id: {BORIS}, name: Boris}}]
    assign: round_robin
"""


async def test_routing_sends_leads_to_their_team_or_straight_to_a_manager(telegram, tmp_path):
    rules = tmp_path / "routing.yaml"
    rules.write_text(ROUTES)
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", managers_chat_id=GROUP,
                           managers_language="en", routing_file=rules) as running:
        await hot_lead(running.prospect(8010, "en"))
        assert cards(running) == [] and len(cards(running, SENIOR)) == 1
        data = cards(running, SENIOR)[0].params["reply_markup"]["inline_keyboard"][0][0][
            "callback_data"]
        await push(running, manager_tap(running, BORIS, data, chat_id=SENIOR))
        assert list(alerts(running).values())[-1] == "Only managers can claim leads."
        await push(running, manager_tap(running, ANNA, data, chat_id=SENIOR))
        assert list(alerts(running).values())[-1].startswith("The lead is yours")
        # Ukrainian leads go straight to a manager, in turn: nobody needs to claim
        first, second = running.prospect(8011, "uk"), running.prospect(8012, "uk")
        await hot_lead(first, name="Олена")
        await hot_lead(second, name="Тарас")
        assert first.said()[-1].startswith("Anna вже займається вашою заявкою")
        assert second.said()[-1].startswith("Boris вже займається вашою заявкою")
        assert "Тарас" in running.telegram.texts(BORIS)[-1]
        # the team still sees them, marked as assigned, with nothing to claim
        assert [c.params["text"].splitlines()[-1] for c in cards(running)] == [
            "👉 Assigned to Anna", "👉 Assigned to Boris"]
        assert all(c.params["reply_markup"] == {"inline_keyboard": []} for c in cards(running))
        async with running.app.sessions() as session:
            handoffs = (await session.execute(select(Handoff).order_by(Handoff.id))
                        ).scalars().all()
        assert [(h.route, h.assigned, h.claimed_by) for h in handoffs] == [
            ("senior", False, ANNA), ("ukrainian", True, ANNA), ("ukrainian", True, BORIS)]


async def test_a_broken_routing_file_stops_the_start_with_route_and_field(telegram,
                                                                          tmp_path):
    from bot.app import StartupError

    rules = tmp_path / "routing.yaml"
    rules.write_text("routes: [{name: x, assign: round_robin}]")
    with pytest.raises(StartupError, match=r"routing.yaml: routes.0: .*needs a list of "
                                           r"managers"):
        async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db",
                               managers_chat_id=GROUP, routing_file=rules):
            pass


async def test_a_managers_chat_the_bot_is_not_in_stops_the_start(telegram, tmp_path):
    from bot.app import StartupError

    telegram.unknown_chats.add(GROUP)
    with pytest.raises(StartupError, match=r"^LEADBOT_MANAGERS_CHAT_ID: the bot cannot "
                                           r"reach chat -100111 \(add the bot to the group"):
        async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db",
                               managers_chat_id=GROUP):
            pass
