"""The service on both databases, without Telegram: updates in, rows out."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.service.core import Service, parse_payload
from bot.service.flows import FlowRegistry
from dialogs.engine.events import ContactShared, Restart, Tap, TextMessage
from dialogs.rules.experiments import assign
from storage.schema.tables import Answer, Consent, Conversation, Lead, OutboxMessage, Prospect
from storage.work.uow import UnitOfWork
from tests.conftest import FLOWS_DIR
from tests.intents import intent

USER = 4242


class Prospectus:
    """A prospect talking to the service: `await p.start("kitchen-quiz")`, `await p.tap("city")`."""

    def __init__(self, service: Service, user_id: int = USER, language: str = "en") -> None:
        self.service, self.user_id, self.language = service, user_id, language
        self.update_id = user_id * 1000

    async def send(self, **fields) -> bool:
        self.update_id += 1
        incoming = intent(update_id=self.update_id, user_id=self.user_id,
                            chat_id=self.user_id, language_code=self.language, **fields)
        self.last = incoming
        return await self.service.handle(incoming)

    async def start(self, payload: str = "") -> bool:
        return await self.send(start_payload=payload)

    async def state(self):
        from dialogs.engine.state import State

        async with UnitOfWork(self.service.sessions) as uow:
            conversation = await uow.conversations.latest(self.user_id)
            return State.from_dict(conversation.state)

    async def tap(self, option: str) -> bool:
        state = await self.state()
        return await self.send(event=Tap(state.flow_id, state.flow_version, state.step, option),
                               callback_query_id=f"cb{self.update_id}")

    async def text(self, words: str) -> bool:
        return await self.send(event=TextMessage(words))


@pytest.fixture
def service(sessions):
    return Service(sessions, FlowRegistry.from_dir(FLOWS_DIR))


async def rows(sessions, model, *where):
    """In the order they were written: PostgreSQL returns rows in any order without one."""
    order = model.__table__.primary_key.columns
    async with sessions() as session:
        return list((await session.execute(select(model).where(*where).order_by(*order)))
                    .scalars())


@pytest.mark.parametrize(("payload", "expected"), [
    ("kitchen-quiz", ("kitchen-quiz", None)), ("kitchen-quiz__instagram", ("kitchen-quiz",
                                                                            "instagram")),
    ("Kitchen-Quiz__fb_ads", ("kitchen-quiz", "fb_ads")), ("", (None, None)),
    ("bad payload!", (None, None)), ("x" * 65, (None, None))])
def test_deep_link_payloads(payload, expected):
    assert parse_payload(payload) == expected


async def test_a_deep_link_starts_the_flow_and_records_the_source(service, sessions):
    prospect = Prospectus(service)
    assert await prospect.start("kitchen-quiz__instagram")
    [conversation] = await rows(sessions, Conversation)
    assert (conversation.flow_id, conversation.source, conversation.step) == (
        "kitchen-quiz", "instagram", "intro")
    [message] = await rows(sessions, OutboxMessage)
    assert message.method == "sendMessage" and message.payload["chat_id"] == USER
    assert message.payload["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        "kitchen-quiz:1:intro:~go")


async def test_plain_start_shows_the_menu_and_a_menu_tap_enters_the_flow(service, sessions):
    prospect = Prospectus(service, language="uk")
    await prospect.start()
    [menu] = await rows(sessions, OutboxMessage)
    assert menu.payload["text"].startswith("Вітаємо!")
    choices = [row[0]["callback_data"] for row in menu.payload["reply_markup"]["inline_keyboard"]]
    # the calculator is an A/B experiment of two flows: in the menu once, by its name
    assert choices == ["menu:kitchen-quiz", "menu:renovation-calculator",
                       "menu:renovation-checklist"]
    await prospect.send(menu_flow="renovation-calculator", callback_query_id="c1")
    [conversation] = await rows(sessions, Conversation)
    variant = assign("renovation-calculator", USER, [("a", 50), ("b", 50)])
    assert (conversation.experiment, conversation.variant) == ("renovation-calculator", variant)
    assert conversation.flow_id == {"a": "renovation-calculator",
                                    "b": "renovation-calculator-b"}[variant]
    answered = await rows(sessions, OutboxMessage, OutboxMessage.lane == "tap")
    assert answered[0].payload == {"callback_query_id": "c1"}


async def test_the_same_update_twice_is_handled_once(service, sessions):
    prospect = Prospectus(service)
    await prospect.start("kitchen-quiz")
    again = prospect.last
    assert not await service.handle(again)
    assert len(await rows(sessions, OutboxMessage)) == 1
    assert (service.handled, service.duplicates) == (1, 1)


async def test_a_whole_quiz_leaves_a_lead_consent_and_answers(service, sessions):
    prospect = Prospectus(service)
    await prospect.start("kitchen-quiz__ads")
    for option in ("~go", "city", "island", "large", "veneer", "~done", "month", "~yes",
                   "~mkno"):
        await prospect.tap(option)
    await prospect.text("Ivan")
    await prospect.send(event=ContactShared("79161234567", USER, USER))
    [lead] = await rows(sessions, Lead)
    assert (lead.name, lead.phone, lead.temperature, lead.outcome, lead.status) == (
        "Ivan", "+79161234567", "hot", "handoff", "handoff")
    assert lead.reward_code.startswith("KITCHEN15-") and lead.source == "ads"
    [consent] = await rows(sessions, Consent)
    assert (consent.purpose, consent.policy_version, len(consent.text_sha256)) == (
        "processing", "2026-11", 64)
    steps = [a.step for a in await rows(sessions, Answer)]
    assert steps == ["location", "layout", "size", "facades", "extras", "timing", "consent"]
    edits = await rows(sessions, OutboxMessage, OutboxMessage.method == "editMessageText")
    assert len(edits) >= 7 and all(edit.step for edit in edits)  # the sender finds the target


async def test_nothing_personal_is_stored_before_consent(service, sessions, engine):
    prospect = Prospectus(service)
    await prospect.start("kitchen-quiz")
    for option in ("~go", "city", "island", "large", "veneer", "~done", "month"):
        await prospect.tap(option)
    await prospect.text("Ivan Petrov +79161234567")  # typed where a button is expected
    await prospect.tap("~no")
    [lead] = await rows(sessions, Lead)  # anonymous, for the funnel
    assert (lead.name, lead.phone, lead.email, lead.outcome) == (None, None, None, "close")
    assert await rows(sessions, Consent) == []
    async with engine.connect() as connection:
        for table in ("conversations", "leads", "answers", "events", "outbox"):
            dump = str((await connection.execute(text(f"SELECT * FROM {table}"))).all())
            assert "79161234567" not in dump and "Petrov" not in dump, table


async def test_a_new_service_resumes_the_conversation(sessions):
    first = Service(sessions, FlowRegistry.from_dir(FLOWS_DIR))
    prospect = Prospectus(first)
    await prospect.start("kitchen-quiz")
    await prospect.tap("~go")
    await prospect.tap("city")
    second = Service(sessions, FlowRegistry.from_dir(FLOWS_DIR))  # as after a restart
    prospect.service = second
    await prospect.tap("corner")
    state = await prospect.state()
    assert state.step == "size" and state.answers == {"location": "city", "layout": "corner"}


async def test_a_conversation_stays_on_its_flow_version_after_a_deploy(sessions, tmp_path):
    old = FlowRegistry.from_dir(FLOWS_DIR)
    async with UnitOfWork(sessions) as uow:
        await old.snapshot(uow)
        await uow.commit()
    prospect = Prospectus(Service(sessions, old))
    await prospect.start("kitchen-quiz")
    await prospect.tap("~go")
    newer = tmp_path / "flows"
    newer.mkdir()
    text_v2 = (FLOWS_DIR / "kitchen-quiz.yaml").read_text(encoding="utf-8")
    (newer / "kitchen-quiz.yaml").write_text(text_v2.replace("version: 1", "version: 2").replace(
        "{id: far,", "{id: abroad,").replace("'far'", "'abroad'"), encoding="utf-8")
    prospect.service = Service(sessions, FlowRegistry.from_dir(Path(newer)))
    await prospect.tap("far")  # an option only version 1 has
    state = await prospect.state()
    assert (state.flow_version, state.step, state.outcome) == (1, "out_of_area", "close")
    await prospect.send(event=Restart())
    assert (await prospect.state()).flow_version == 2


async def test_blocking_drops_queued_messages(service, sessions):
    prospect = Prospectus(service)
    await prospect.start("kitchen-quiz")
    await prospect.send(blocked=True)
    [row] = await rows(sessions, OutboxMessage)
    assert row.status == "dropped"
    [who] = await rows(sessions, Prospect)
    assert who.blocked
    await prospect.send(blocked=False)
    [who] = await rows(sessions, Prospect)
    assert not who.blocked


async def test_a_default_flow_takes_a_plain_start_and_keeps_the_payload_as_source(sessions):
    service = Service(sessions, FlowRegistry.from_dir(FLOWS_DIR),
                      default_flow="renovation-checklist")
    prospect = Prospectus(service)
    await prospect.start("spring_flyer")
    [conversation] = await rows(sessions, Conversation)
    assert (conversation.flow_id, conversation.source) == ("renovation-checklist",
                                                           "spring_flyer")


async def nurtured(service, user_id: int, marketing: str) -> Prospectus:
    prospect = Prospectus(service, user_id=user_id)
    await prospect.start("kitchen-quiz")
    for option in ("~go", "suburbs", "corner", "medium", "enamel", "~done", "quarter", "~yes",
                   marketing):
        await prospect.tap(option)
    await prospect.text("Anna")
    await prospect.text("+79161234567")
    return prospect


async def test_follow_ups_go_out_when_due_and_only_with_the_opt_in(service, sessions):
    from datetime import timedelta

    from bot.jobs.followups import NurtureConfig, deliver_due
    from storage.schema.tables import FollowUp, utcnow

    await nurtured(service, 11, "~mkyes")
    await nurtured(service, 12, "~mkno")  # no marketing opt-in: nothing scheduled
    scheduled = await rows(sessions, FollowUp, FollowUp.kind == "sequence")
    assert sorted((f.user_id, f.key, f.status) for f in scheduled) == [
        (11, "code-expires", "waiting"), (11, "gallery", "pending"), (11, "ready", "waiting")]
    anytime = NurtureConfig(quiet="off", stale=timedelta(0))  # this test is not about hours
    assert await deliver_due(sessions, utcnow(), anytime) == 0  # not due yet
    assert await deliver_due(sessions, utcnow() + timedelta(days=3), anytime) == 1
    sent = await rows(sessions, OutboxMessage, OutboxMessage.marketing.is_(True))
    assert [m.payload["text"][:24] for m in sent] == ["Here are 12 kitchens we "]
    async with UnitOfWork(sessions) as uow:  # the prospect blocks the bot meanwhile
        (await uow.prospects.get(11)).blocked = True
        await uow.commit()
    assert await deliver_due(sessions, utcnow() + timedelta(days=30), anytime) == 0
    statuses = sorted(f.status for f in await rows(sessions, FollowUp,
                                                   FollowUp.kind == "sequence"))
    assert statuses == ["cancelled", "cancelled", "sent"]
