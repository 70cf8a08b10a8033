"""Claiming a lead from two bot processes at the same moment: exactly one wins. Two
services, each with its own engine (its own connections), on one database: a SQLite file
and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.service.core import Service
from bot.service.flows import FlowRegistry
from bot.service.intents import ManagerTap
from storage.db.engine import create_engine, sessionmaker
from storage.schema.tables import Event, Handoff, OutboxMessage
from storage.work.uow import UnitOfWork
from tests.bot.test_service import Prospectus
from tests.conftest import FLOWS_DIR
from tests.intents import intent

GROUP = -100500


def service_for(sessions) -> Service:
    return Service(sessions, FlowRegistry.from_dir(FLOWS_DIR),
                   handoffs=Handoffs(HandoffConfig(chat_id=GROUP, language="en")))


async def snapshot(service: Service) -> None:
    async with UnitOfWork(service.sessions) as uow:  # as at start (bot/app.py)
        await service.flows.snapshot(uow)
        await uow.commit()


async def quiz(service: Service, user_id: int, name: str = "Client ", source: str = "",
               extras: tuple[str, ...] = ("appliances",)) -> None:
    """The kitchen quiz to a hot lead handed off, a distinct name and phone per user."""
    prospect = Prospectus(service, user_id=user_id)
    await prospect.start("kitchen-quiz" + (f"__{source}" if source else ""))
    for option in ("~go", "city", "island", "large", "veneer", *extras, "~done",
                   "month", "~yes", "~mkno"):
        await prospect.tap(option)
    await prospect.text(name + "".join(chr(97 + int(d)) for d in str(user_id)))
    await prospect.text(f"+7 916 123-45-{user_id % 100:02d}")


async def hot_lead(service: Service) -> int:
    await snapshot(service)
    await quiz(service, 777)
    async with service.sessions() as session:
        return (await session.execute(select(Handoff))).scalar_one().id


def claim(update_id: int, manager: int, handoff_id: int, name: str = "") -> ManagerTap:
    return intent(update_id=update_id, user_id=manager, chat_id=GROUP,
                    manager_tap=ManagerTap(update_id=update_id, user_id=manager,
                                           chat_id=GROUP, name=name or f"Manager {manager}",
                                           data=f"claim:{handoff_id}",
                                           query_id=f"q{update_id}"))


async def test_two_processes_claim_at_the_same_moment_and_exactly_one_wins(engine, sessions):
    first = service_for(sessions)
    handoff_id = await hot_lead(first)
    other_engine = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        second = service_for(sessionmaker(other_engine))
        for round_ in range(5):  # the race, several times over
            if round_:
                async with UnitOfWork(sessions) as uow:
                    handoff = await uow.session.get(Handoff, handoff_id)
                    handoff.claimed_by = handoff.claimed_at = handoff.claimed_by_name = None
                    await uow.commit()
            base = 10_000 + round_ * 10
            await asyncio.gather(first.handle(claim(base + 1, 1, handoff_id)),
                                 second.handle(claim(base + 2, 2, handoff_id)))
            async with sessions() as session:
                handoff = (await session.execute(select(Handoff))).scalar_one()
                claims = (await session.execute(select(Event).where(
                    Event.kind == "claimed"))).scalars().all()
                answers = [m.payload.get("text") for m in (await session.execute(
                    select(OutboxMessage).where(OutboxMessage.method == "answerCallbackQuery",
                                                OutboxMessage.chat_id == GROUP)
                    .order_by(OutboxMessage.id))).scalars()][-2:]
            assert len(claims) == round_ + 1  # one more claim each round, never two
            loser = 2 if handoff.claimed_by == 1 else 1
            assert f"Manager {handoff.claimed_by} has already claimed this lead." in answers
            assert f"Manager {loser} has already claimed this lead." not in answers
    finally:
        await other_engine.dispose()


async def test_a_burst_of_60_hot_leads_keeps_the_groups_budget_and_every_lead_claimable(
        sessions, bot, telegram):
    from bot.telegram.delivery import sender_for
    from tests.conftest import fast_limits

    service = service_for(sessions)
    await snapshot(service)
    for user_id in range(1, 61):  # an ad goes live: 60 hot leads before anything is sent
        await quiz(service, user_id)
    async with sessions() as session:
        messages = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == GROUP))).scalars().all()
        handoffs = (await session.execute(select(Handoff))).scalars().all()
    assert len(handoffs) == 60
    # nothing is called yet, so every lead joins the newest digest of up to 8:
    # ceil(60 / 8) = 8 messages, not 60
    assert len(messages) == 8
    counters = await sender_for(bot, sessions, fast_limits()).drain(timeout=60)
    assert counters.rate_limited == 0 and telegram.violations == []
    sent = telegram.sent(GROUP, "sendMessage")
    assert len(sent) == 8
    buttons = {b["callback_data"] for call in sent
               for row in call.params["reply_markup"]["inline_keyboard"] for b in row}
    assert buttons == {f"claim:{h.id}" for h in handoffs}  # nothing dropped
    assert all(len(call.params["text"]) <= 4096 for call in sent)
    assert "New leads (8):" in sent[-2].params["text"]


async def test_hot_leads_with_long_names_and_sources_each_get_a_digest_that_fits(
        sessions, bot, telegram):
    """Long names and sources made an 8-lead digest of over 4096 characters: Telegram
    refused it and 8 leads had no card. A digest is one message within the limit, also
    once every lead in it is claimed (by a manager with a long name: the edits must fit
    too), and every lead keeps its Claim button."""
    from bot.outbox.textlimits import units
    from bot.telegram.delivery import sender_for
    from tests.conftest import fast_limits

    service = service_for(sessions)
    await snapshot(service)
    name = "Konstantin-Maximilian Alexandrovich Vasilyevsky-Ostrogr "  # 60 with the suffix
    for user_id in range(1, 25):
        await quiz(service, user_id, name=name, source="instagram_stories_" + "x" * 32,
                   extras=("appliances", "stone-top", "lighting", "sink"))
    async with sessions() as session:
        handoffs = (await session.execute(select(Handoff))).scalars().all()
    sender = sender_for(bot, sessions, fast_limits())
    counters = await sender.drain(timeout=60)
    assert counters.failed == 0 and len(handoffs) == 24
    sent = telegram.sent(GROUP, "sendMessage")
    assert all(units(call.params["text"]) <= 4096 and "reply_markup" in call.params
               for call in sent)  # each digest is one message, its buttons with it
    buttons = {b["callback_data"] for call in sent
               for row in call.params["reply_markup"]["inline_keyboard"] for b in row}
    assert buttons == {f"claim:{h.id}" for h in handoffs}
    manager = "Anna-Maria " + "Wolkonskaya-Trubetskaya " * 5  # Telegram allows 64 + 64
    for handoff in handoffs:
        await service.handle(claim(50_000 + handoff.id, 1, handoff.id, name=manager))
    assert (await sender.drain(timeout=60)).failed == 0
    edits = telegram.sent(GROUP, "editMessageText")
    assert edits and all(units(e.params["text"]) <= 4096 and not e.params["text"].endswith(
        "…") for e in edits)  # whole, not shortened


async def test_least_loaded_assignment_gives_the_lead_to_the_freest_manager(sessions):
    from dialogs.rules.routing import Routing

    routing = Routing.from_yaml("""
routes:
  - name: all
    managers: [{id: 1, name: Anna}, {id: 2, name: Boris}, {id: 3, name: Chen}]
    assign: least_loaded
""")
    service = Service(sessions, FlowRegistry.from_dir(FLOWS_DIR), handoffs=Handoffs(
        HandoffConfig(language="en", routing=routing)))
    await snapshot(service)
    owners = []
    for user_id in range(101, 106):
        await quiz(service, user_id)
        async with sessions() as session:
            handoff = (await session.execute(select(Handoff).where(
                Handoff.user_id == user_id))).scalar_one()
            owners.append(handoff.claimed_by)
            if user_id == 102:  # Boris closes his lead: he is the freest again
                handoff.status = "won"
                await session.commit()
    assert owners == [1, 2, 2, 3, 1]
