"""A won sale's amount through the real bot and the fake Bot API, on SQLite and
PostgreSQL: the won tap asks for it (ForceReply), the manager's reply records it (never
relayed to the prospect), a bad one is answered and the question stays open, a second
reply corrects it, only the lead's manager may set it, a sale that falls through clears it,
an erased lead records nothing; and the CRMs get the amount (Bitrix24 OPPORTUNITY, amoCRM
price, the webhook's `sale`)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.service import callbacks
from storage.schema.tables import Event, Handoff, Lead
from tests.e2e.conftest import bot_running
from tests.e2e.test_crm import (  # noqa: F401  (fixtures)
    database,
    delivered,
    fakes,
    no_targets,
    with_crm,
)
from tests.e2e.test_handoff import ANNA, BORIS, GROUP, cards, hot_lead, manager_tap, push

ASKED = ("🏆 Won. What is the amount, in RUB? Reply to this message with a number, "
         "e.g. 150,000")
FORCE_REPLY = {"force_reply": True, "input_field_placeholder": "Amount, RUB"}


def reply(chat: int, text: str, reply_to: int, sender: int | None = None) -> dict:
    """A message in `chat` replying to the bot's message `reply_to` (from `sender`, the
    chat's owner unless given)."""
    sender = sender or chat
    chat_of = {"id": chat, "type": "private"}
    return {"message": {
        "message_id": time.monotonic_ns() % 10**9, "date": int(time.time()), "chat": chat_of,
        "text": text, "from": {"id": sender, "is_bot": False, "first_name": "Anna"},
        "reply_to_message": {"message_id": reply_to, "date": int(time.time()),
                             "chat": chat_of,
                             "from": {"id": 1, "is_bot": True, "first_name": "Leadbot"},
                             "text": "?"}}}


@pytest.fixture(params=["sqlite", "postgresql"])
async def selling(request, telegram, tmp_path):
    """The bot with a managers' group, in English, LEADBOT_CURRENCY=RUB, on both
    databases."""
    from tests.databases import database_url, fresh_engine

    engine = await fresh_engine(request.param, tmp_path)
    await engine.dispose()
    async with bot_running(telegram, await database_url(request.param, tmp_path),
                           managers_chat_id=GROUP, managers_language="en",
                           manager_ids=[ANNA, BORIS], currency="RUB") as running:
        yield running


def last(running, chat: int = ANNA) -> str:
    """The bot's latest message in a chat (not an edit)."""
    return running.telegram.sent(chat, "sendMessage")[-1].params["text"]


async def claimed_and_won(running, user_id: int) -> tuple[int, int, dict]:
    """A hot lead claimed by Anna and marked won on her copy of it. Returns the hand-off's
    id, her copy's message id and the amount's question as sent."""
    prospect = running.prospect(user_id, "en")
    await hot_lead(prospect)
    claim = cards(running)[-1].params["reply_markup"]["inline_keyboard"][0][0]
    await push(running, manager_tap(running, ANNA, claim["callback_data"]))
    copy = running.telegram.sent(ANNA, "sendMessage")[-1]
    async with running.app.sessions() as session:
        handoff = (await session.execute(select(Handoff).where(
            Handoff.user_id == user_id))).scalar_one()
    await push(running, manager_tap(running, ANNA, callbacks.status(handoff.id, "won"),
                                    chat_id=ANNA, message_id=copy.result["message_id"]))
    asked = running.telegram.sent(ANNA, "sendMessage")[-1]
    return handoff.id, copy.result["message_id"], asked


async def lead_of(running, user_id: int) -> Lead:
    async with running.app.sessions() as session:
        return (await session.execute(select(Lead).join(Handoff, Handoff.lead_id == Lead.id)
                                      .where(Handoff.user_id == user_id))).scalar_one()


async def events(running, kind: str) -> list[dict]:
    async with running.app.sessions() as session:
        return [e.data for e in (await session.execute(select(Event).where(
            Event.kind == kind).order_by(Event.id))).scalars()]


async def test_won_asks_the_amount_and_a_reply_records_it_never_relayed(selling):
    prospect = selling.prospect(8201, "en")
    handoff_id, copy, asked = await claimed_and_won(selling, 8201)
    assert asked.params["text"] == ASKED
    assert asked.params["reply_markup"] == FORCE_REPLY
    lead = await lead_of(selling, 8201)
    assert lead.status == "won" and lead.won_at is not None and lead.amount is None
    said = len(prospect.said())
    await push(selling, reply(ANNA, "150 000", asked.result["message_id"]))
    # nothing of it reached the prospect, nor started a relay
    assert len(prospect.said()) == said and "150" not in " ".join(prospect.said())
    assert await events(selling, "relay_message") == []
    assert last(selling) == "Recorded: 150,000 RUB"
    lead = await lead_of(selling, 8201)
    assert (lead.amount, lead.currency, lead.status) == (15_000_000, "RUB", "won")
    [sale] = await events(selling, "sale")
    assert sale == {"handoff": handoff_id, "lead": lead.id, "amount": 15_000_000,
                    "currency": "RUB", "manager": ANNA, "corrected": None}
    shown = selling.telegram.shown(ANNA)[copy]
    assert shown["text"].endswith("\n\nStatus: 🏆 Won · 150,000 RUB")
    assert "Olivia" in shown["text"]  # the lead's card above it, as before
    assert [row[0]["text"] for row in shown["reply_markup"]["inline_keyboard"]][2] == "🏆 Won"
    assert selling.telegram.violations == []


async def test_a_bad_amount_is_answered_and_asked_again_then_corrected(selling):
    prospect = selling.prospect(8202, "en")
    _, copy, asked = await claimed_and_won(selling, 8202)
    said = len(prospect.said())
    await push(selling, reply(ANNA, "about a hundred grand", asked.result["message_id"]))
    again = selling.telegram.sent(ANNA, "sendMessage")[-1]
    assert again.params["text"] == (
        "That is not an amount I can read. Reply to this message with a number in RUB, "
        "e.g. 150,000 or 150,000.50.")
    assert again.params["reply_markup"] == FORCE_REPLY
    assert (await lead_of(selling, 8202)).amount is None and await events(selling,
                                                                          "sale") == []
    await push(selling, reply(ANNA, "2000 USD", asked.result["message_id"]))  # not roubles
    assert last(selling) == again.params["text"]
    # the question asked again is answered like the first
    await push(selling, reply(ANNA, "150k", again.result["message_id"]))
    assert last(selling) == "Recorded: 150,000 RUB"
    # a second reply corrects it
    await push(selling, reply(ANNA, "175,000.50", asked.result["message_id"]))
    assert last(selling) == "Corrected: 175,000.50 RUB (was 150,000 RUB)"
    lead = await lead_of(selling, 8202)
    assert (lead.amount, lead.currency) == (17_500_050, "RUB")
    assert [(s["amount"], s["corrected"]) for s in await events(selling, "sale")] == [
        (15_000_000, None), (17_500_050, 15_000_000)]
    assert selling.telegram.shown(ANNA)[copy]["text"].endswith(
        "Status: 🏆 Won · 175,000.50 RUB")
    # the same amount again: answered, nothing new recorded
    await push(selling, reply(ANNA, "175 000.50", asked.result["message_id"]))
    assert last(selling) == "Recorded: 175,000.50 RUB"
    assert len(await events(selling, "sale")) == 2
    assert len(prospect.said()) == said


async def test_only_the_manager_holding_the_lead_sets_its_amount(selling):
    prospect = selling.prospect(8203, "en")
    handoff_id, _, asked = await claimed_and_won(selling, 8203)
    said = len(prospect.said())
    # Boris cannot mark it won, nor answer in Anna's chat (a chat they would share)
    await push(selling, manager_tap(selling, BORIS, callbacks.status(handoff_id, "won"),
                                    chat_id=BORIS))
    await push(selling, reply(ANNA, "999 999", asked.result["message_id"], sender=BORIS))
    assert last(selling) == "Another manager has this lead."
    # a reply in his own chat to a message id that is Anna's question there is no amount
    await push(selling, reply(BORIS, "999 999", asked.result["message_id"]))
    assert (await lead_of(selling, 8203)).amount is None
    assert await events(selling, "sale") == []
    assert len(prospect.said()) == said


async def test_a_sale_that_falls_through_clears_won_and_amount(selling):
    handoff_id, copy, asked = await claimed_and_won(selling, 8204)
    await push(selling, reply(ANNA, "150000", asked.result["message_id"]))
    await push(selling, manager_tap(selling, ANNA, f"lead:{handoff_id}:lost:other",
                                    chat_id=ANNA, message_id=copy))
    lead = await lead_of(selling, 8204)
    assert (lead.status, lead.won_at, lead.amount, lead.currency) == ("lost", None, None,
                                                                      None)
    lost = (await events(selling, "lead_status"))[-1]
    assert lost["status"] == "lost" and lost["fell_through"] == {"amount": 15_000_000,
                                                                 "currency": "RUB"}
    assert selling.telegram.shown(ANNA)[copy]["text"].endswith("Status: ✖ Lost (Other)")
    # the question is closed: an amount for a lost lead is refused
    await push(selling, reply(ANNA, "150000", asked.result["message_id"]))
    assert last(selling) == (
        "The lead is “✖ Lost” now: an amount is recorded only for a won sale.")
    assert (await lead_of(selling, 8204)).amount is None
    assert len(await events(selling, "sale")) == 1


async def test_an_amount_for_a_lead_erased_since_is_answered_and_not_kept(selling):
    prospect = selling.prospect(8205, "en")
    _, _, asked = await claimed_and_won(selling, 8205)
    await prospect.command("/forget")
    await prospect.tap(data="rights:forget:yes")
    await push(selling, reply(ANNA, "150000", asked.result["message_id"]))
    assert last(selling) == (
        "The client erased their data: nothing was recorded.")
    lead = await lead_of(selling, 8205)
    assert lead.erased_at is not None and lead.amount is None
    assert await events(selling, "sale") == []


async def test_the_crms_get_the_sales_amount(telegram, fakes, database):  # noqa: F811
    bitrix, amo, hook = fakes
    async with with_crm(telegram, fakes, database, manager_ids=[ANNA],
                        currency="RUB") as running:
        _, _, asked = await claimed_and_won(running, 8206)
        await push(running, reply(ANNA, "150 000.50", asked.result["message_id"]))
        await delivered(running)
        [created] = bitrix.leads.values()
        assert created["OPPORTUNITY"] == 150000.5 and created["CURRENCY_ID"] == "RUB"
        assert created["STATUS_ID"] == "PROCESSED"
        assert "Sale 150,000.50 RUB" in created["COMMENTS"]
        [deal] = amo.leads.values()
        assert deal["price"] == 150001 and deal["status_id"] == 142  # amoCRM: whole units
        sale = hook.received[-1]
        assert [e["event"] for e in hook.received][-3:] == ["claimed", "status", "sale"]
        assert sale["data"] == {"amount": 15_000_050, "currency": "RUB",
                                "manager_id": ANNA, "corrected": False}
        assert sale["lead"]["sale"] == {"amount": "150000.50", "amount_minor": 15_000_050,
                                        "currency": "RUB",
                                        "won_at": sale["lead"]["sale"]["won_at"]}
        assert sale["lead"]["sale"]["won_at"] and sale["lead"]["status"] == "won"
        assert hook.bad_signatures == 0


async def test_in_russian_the_comma_is_decimal_and_the_answer_is_russian(telegram, tmp_path):
    async with bot_running(telegram, f"sqlite:///{tmp_path}/bot.db", managers_chat_id=GROUP,
                           managers_language="ru", manager_ids=[ANNA],
                           currency="RUB") as running:
        _, copy, asked = await claimed_and_won(running, 8207)
        assert asked.params["text"] == (
            "🏆 Сделка. Какая сумма, в RUB? Ответьте на это сообщение числом, например "
            "150\u00a0000")
        assert asked.params["reply_markup"]["input_field_placeholder"] == "Сумма, RUB"
        await push(running, reply(ANNA, "150 000,50", asked.result["message_id"]))
        assert last(running) == "Записано: 150\u00a0000,50 RUB"
        assert (await lead_of(running, 8207)).amount == 15_000_050
        assert running.telegram.shown(ANNA)[copy]["text"].endswith(
            "Статус: 🏆 Сделка · 150\u00a0000,50 RUB")
