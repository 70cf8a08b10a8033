"""A lead joined to a waiting card while that card is on its way, or while another lead joins
it: the races behind tests/e2e/test_chaos.py's and test_fleet.py's "hot lead without a
card". A card (or a card's edit) is rewritten in place only until a sender starts its call:
the sender marks it called first (committed) and sends it as stored then
(storage/work/outbox.py call); the rewrite holds the row's lock (PostgreSQL), so a call and
two rewrites take turns. No timing argument: each test makes the interleaving happen, and
fails without the mechanism it names."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.service.core import Service
from bot.telegram.delivery import sender_for
from storage.schema.tables import Handoff, OutboxMessage
from storage.work.handoffs import Handoffs as Rows
from tests.bot.test_claims import GROUP, quiz, service_for, snapshot
from tests.conftest import fast_limits
from tests.e2e.harness import eventually


async def step(sender) -> None:
    """One pass of the sender, its calls answered; the accepted rows' marks not committed."""
    await sender.scan()
    sender.dispatch()
    await asyncio.gather(*sender._calls)


def claims_shown(telegram) -> list[str]:
    """The Claim buttons the group got on every card and digest."""
    return [b["callback_data"] for call in telegram.sent(GROUP, "sendMessage")
            for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


async def every_lead_shown(sessions, telegram) -> None:
    async with sessions() as session:
        handoffs = (await session.execute(select(Handoff))).scalars().all()
    shown = claims_shown(telegram)
    assert sorted(shown) == sorted({f"claim:{h.id}" for h in handoffs})  # each once


async def waiting_on_a_lock(engine) -> bool:
    """Whether a connection to this database waits for a row lock (PostgreSQL)."""
    async with engine.connect() as connection:
        return bool(await connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")))


async def card_on_its_way(sessions, bot, telegram):
    """Lead 1's card accepted by Telegram, its 'sent' mark not committed: the row is
    pending still, and called. Returns the sender and the service."""
    sender = sender_for(bot, sessions, fast_limits())
    service = service_for(sessions)
    await snapshot(service)
    await quiz(service, 1)
    while not telegram.sent(GROUP, "sendMessage"):
        await step(sender)
    return sender, service


async def test_cards_wait_for_the_previous_cards_mark(sessions, bot, telegram):
    """Card rows reach the sender only from a scan, as their chat's oldest pending row: the
    second card is never sent while the first one's 'sent' mark is not committed."""
    sender, service = await card_on_its_way(sessions, bot, telegram)
    await quiz(service, 2)  # card 1 is called: lead 2 gets a card of its own
    for _ in range(20):
        await step(sender)
    assert len(telegram.sent(GROUP, "sendMessage")) == 1
    sender._marked(await sender.marks.flush())
    await sender.drain()
    assert len(telegram.sent(GROUP, "sendMessage")) == 2
    await every_lead_shown(sessions, telegram)


async def test_a_card_called_and_not_yet_marked_takes_in_no_lead(sessions, bot, telegram):
    """Telegram has card 1 and its 'sent' mark is not committed yet: the row is pending
    still, and called. Lead 2 gets a card of its own, not a rewrite that would never go."""
    sender, service = await card_on_its_way(sessions, bot, telegram)
    async with sessions() as session:
        card = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == GROUP))).scalar_one()
    assert card.status == "pending" and card.called_at is not None
    await quiz(service, 2)
    sender._marked(await sender.marks.flush())
    await sender.drain()
    assert len(telegram.sent(GROUP, "sendMessage")) == 2
    await every_lead_shown(sessions, telegram)


async def test_leads_that_arrive_together_share_one_card(sessions, bot, telegram):
    """Nothing called yet: lead 2 joins lead 1's card, which goes as a digest of both."""
    sender = sender_for(bot, sessions, fast_limits())
    service = service_for(sessions)
    await snapshot(service)
    await quiz(service, 1)
    await quiz(service, 2)
    await sender.drain()
    assert len(telegram.sent(GROUP, "sendMessage")) == 1
    await every_lead_shown(sessions, telegram)


async def test_a_card_called_while_a_lead_joins_it_goes_with_the_lead(
        engine, sessions, bot, telegram, monkeypatch):
    """The update of lead 3 has found card 2 waiting and is rewriting it when the sender
    starts card 2's call. Without the row's lock the sender sent card 2 as it was, and the
    update then committed lead 3 into a card already gone: lead 3 on no card. With it, the
    sender's mark waits for the update's commit and sends the card with lead 3 on it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's single writer keeps the sender's mark out until it commits")
    sender = sender_for(bot, sessions, fast_limits())
    plain = service_for(sessions)
    service = Service(sessions, plain.flows, handoffs=plain.handoffs, on_outbox=sender.submit)
    await snapshot(service)
    await quiz(service, 1)
    while not telegram.sent(GROUP, "sendMessage"):
        await step(sender)
    sender._marked(await sender.marks.flush())
    await quiz(service, 2)  # card 2, waiting
    real, stepping = Rows.waiting_card, []

    async def then_called(self, chat_id: int):
        waiting = await real(self, chat_id)
        if chat_id == GROUP and waiting is not None and not stepping:
            stepping.append(asyncio.create_task(step(sender)))  # card 2's call starts

            async def sent_or_waiting() -> bool:
                return len(telegram.sent(GROUP, "sendMessage")) == 2 or (
                    await waiting_on_a_lock(engine))

            await eventually(sent_or_waiting, what="card 2 sent, or its mark waiting")
        return waiting

    monkeypatch.setattr(Rows, "waiting_card", then_called)
    await quiz(service, 3)
    monkeypatch.setattr(Rows, "waiting_card", real)
    await asyncio.gather(*stepping)
    sender._marked(await sender.marks.flush())
    await sender.drain()
    await every_lead_shown(sessions, telegram)


async def test_two_leads_joining_one_card_at_once_are_both_on_it(
        engine, sessions, bot, telegram, monkeypatch):
    """Leads 2 and 3 finish at the same moment and both join waiting card 1. Without the
    row's lock each read the card's leads without the other and the later rewrite won: one
    lead on no card. With it the second waits, then reads the first's rewrite."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's single writer runs one update's transaction at a time")
    sender = sender_for(bot, sessions, fast_limits())
    service = service_for(sessions)
    await snapshot(service)
    await quiz(service, 1)  # card 1, waiting (nothing is sent until the end)
    real, arrived = Rows.on_card, []

    async def together(self, card_id: int):
        members = await real(self, card_id)
        arrived.append(card_id)
        if len(arrived) == 1:  # the first to read waits for the second to catch up

            async def caught_up() -> bool:
                return len(arrived) > 1 or await waiting_on_a_lock(engine)

            await eventually(caught_up, what="the other lead's update")
        return members

    monkeypatch.setattr(Rows, "on_card", together)
    await asyncio.gather(quiz(service, 2), quiz(service, 3))
    monkeypatch.setattr(Rows, "on_card", real)
    assert len(arrived) == 2
    await sender.drain()
    assert len(telegram.sent(GROUP, "sendMessage")) == 1
    await every_lead_shown(sessions, telegram)


async def test_a_card_on_its_way_when_its_lead_is_erased_is_then_edited_to_say_so(
        sessions, bot, telegram):
    """/forget while the card's call is under way (called, Telegram has it, its mark not
    committed). Erasure dropped the row as if it had never gone, the mark then recorded it
    sent, and no edit followed: the name and phone stayed in the group. The called card is
    kept, and the hand-off's edit goes after it."""
    from tests.bot.test_service import Prospectus

    sender, service = await card_on_its_way(sessions, bot, telegram)
    [card] = telegram.sent(GROUP, "sendMessage")
    assert "Client b" in card.params["text"] and "+7916123450" in card.params["text"]
    prospect = Prospectus(service, user_id=1)
    prospect.update_id += 500  # past the quiz's updates (a repeated id is skipped)
    await prospect.send(command="forget")
    await prospect.send(rights_data="rights:forget:yes", callback_query_id="cb-forget")
    sender._marked(await sender.marks.flush())
    await sender.drain()
    edits = telegram.sent(GROUP, "editMessageText")
    assert edits, "the card in the group was never edited"
    assert "erased their data" in edits[-1].params["text"]
    assert "Client b" not in edits[-1].params["text"]
    assert "+7916123450" not in edits[-1].params["text"]
