"""A lead joined to a waiting card while the group's previous card is marked sent: the race
behind tests/e2e/test_chaos.py's "hot lead without a card" (PostgreSQL only: on SQLite the
update's write transaction keeps the sender's mark out until it commits). Neither of a
chat's next two rows is rewritten in place (storage/work/handoffs.py next_to_send)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.service.core import Service
from bot.telegram.delivery import sender_for
from storage.schema.tables import Handoff, OutboxMessage
from storage.work.handoffs import Handoffs as Rows
from tests.bot.test_claims import GROUP, quiz, service_for, snapshot
from tests.conftest import fast_limits


async def test_cards_wait_for_the_previous_cards_mark(sessions, bot, telegram):
    """Card rows reach the sender only from a scan, as their chat's oldest pending row: the
    second card is never sent while the first one's 'sent' mark is not committed."""
    sender = sender_for(bot, sessions, fast_limits())
    service = service_for(sessions)
    await snapshot(service)
    for user_id in (1, 2):
        await quiz(service, user_id)
    for _ in range(20):  # sends and scans; the accepted rows' marks are never committed
        await sender.scan()
        sender.dispatch()
        await asyncio.gather(*sender._calls)
    assert len(telegram.sent(GROUP, "sendMessage")) == 1
    sender._marked(await sender.marks.flush())
    await sender.drain()
    assert len(telegram.sent(GROUP, "sendMessage")) == 2


async def test_a_lead_joined_while_the_previous_card_is_marked_is_shown(
        engine, sessions, bot, telegram, monkeypatch):
    """cards.post reads the group's next row (card 1, accepted, its mark not yet committed)
    and decides card 2 may be rewritten; before the update commits, card 1's mark commits,
    a scan reads card 2 as the group's next and the sender starts it as it was. The update
    then commits lead 3 into card 2: lead 3 has a card_id and no card in the group."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's single writer keeps the mark out until the update commits")
    sender = sender_for(bot, sessions, fast_limits())
    plain = service_for(sessions)
    service = Service(sessions, plain.flows, handoffs=plain.handoffs, on_outbox=sender.submit)
    await snapshot(service)
    for user_id in (1, 2):
        await quiz(service, user_id)
    async with sessions() as session:
        assert len((await session.execute(select(OutboxMessage.id).where(
            OutboxMessage.chat_id == GROUP))).all()) == 2

    async def step() -> None:
        await sender.scan()
        sender.dispatch()
        await asyncio.gather(*sender._calls)

    while not telegram.sent(GROUP, "sendMessage"):
        await step()
    real = Rows.next_to_send

    async def then_marked(self, chat_id: int) -> list[int]:
        head = await real(self, chat_id)
        if chat_id == GROUP:  # the batch commits and the sender goes on meanwhile
            sender._marked(await sender.marks.flush())
            for _ in range(5):
                await step()
        return head

    monkeypatch.setattr(Rows, "next_to_send", then_marked)
    await quiz(service, 3)
    monkeypatch.setattr(Rows, "next_to_send", real)
    sender._marked(await sender.marks.flush())
    await sender.drain()
    async with sessions() as session:
        handoffs = (await session.execute(select(Handoff))).scalars().all()
    shown = {b["callback_data"] for call in telegram.sent(GROUP, "sendMessage")
             for row in call.params["reply_markup"]["inline_keyboard"] for b in row}
    assert shown == {f"claim:{h.id}" for h in handoffs}  # every hot lead on a card
