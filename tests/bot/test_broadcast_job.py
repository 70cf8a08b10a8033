"""The broadcasts job (bot/jobs/broadcasts.py) on a clock the test sets, on a real SQLite file
and on PostgreSQL: quiet hours in each recipient's zone, the weekly marketing cap shared
with follow-ups, people who stop or are erased mid-way, the message in their language, and
(a property) nobody queued whose latest marketing consent row is not a grant. Sending,
where it matters, is the real sender against the fake Bot API (tests/bot/
test_broadcast_sending.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.jobs.broadcasts import BroadcastConfig
from bot.jobs.followups import NurtureConfig, deliver_due
from bot.service.rights import unsubscribe_footer, unsubscribe_markup
from storage.privacy.erasure import erase
from storage.privacy.rights import withdraw
from storage.schema.broadcasts import BroadcastRecipient
from storage.schema.tables import Consent, Event, FlowVersion, FollowUp, Lead, OutboxMessage
from storage.work.uow import UnitOfWork
from tests.bot.broadcast_helpers import (
    NOON,
    file,
    made,
    outbox,
    recipients,
    run,
)
from tests.bot.test_nurture import T0, service_for, warm_lead
from tests.bot.test_nurture import Clock as NurtureClock
from tests.storage.broadcast_people import person

QUIET = BroadcastConfig(quiet="21:00-09:00", weekly_cap=0)


async def flow_in(session, shipped, flow_id: str, zone: str) -> None:
    """A flow version as the bot snapshots it, whose `nurture:` names a time zone."""
    definition = shipped["kitchen-quiz"].model_dump(mode="json")
    definition.update(id=flow_id, nurture={**definition["nurture"], "timezone": zone})
    session.add(FlowVersion(flow_id=flow_id, version=1, digest="0" * 64,
                            definition=definition, base_dir="."))
    await session.flush()


# -- 1. quiet hours -------------------------------------------------------------------------

@pytest.mark.parametrize("by", ["flow", "setting"])
@pytest.mark.parametrize(("now", "quiet_one", "until"), [
    # 12:00 UTC: 15:00 in Moscow, 22:00 in Vladivostok: quiet there until 09:00 (23:00 UTC)
    (NOON, "vladivostok", NOON.replace(hour=23)),
    # 02:00 UTC: 05:00 in Moscow (quiet until 09:00, 06:00 UTC), 12:00 in Vladivostok
    (NOON.replace(hour=2), "moscow", NOON.replace(hour=6)),
])
async def test_quiet_hours_hold_each_recipient_until_their_morning(sessions, shipped, by, now,
                                                                   quiet_one, until):
    """Moscow by language and Vladivostok by the flow's `nurture.timezone`; or Moscow by the
    flow and Vladivostok by LEADBOT_NURTURE_TIMEZONE (an "en" person, London otherwise)."""
    moscow, vladivostok = 1, 2
    config = QUIET
    async with sessions() as session:
        if by == "flow":
            await flow_in(session, shipped, "far-east", "Asia/Vladivostok")
            await person(session, moscow, language="ru")
            await person(session, vladivostok, language="ru", flow="far-east")
        else:
            config = BroadcastConfig(quiet="21:00-09:00", weekly_cap=0,
                                     timezone="Asia/Vladivostok")
            await flow_in(session, shipped, "moscow-quiz", "Europe/Moscow")
            await person(session, moscow, language="en", flow="moscow-quiz")
            await person(session, vladivostok, language="en")
        await session.commit()
    broadcast = await made(sessions, file(), now=now, config=config)
    quiet, free = (vladivostok, moscow) if quiet_one == "vladivostok" else (moscow, vladivostok)

    assert await run(sessions, now, config) == 1
    found = await recipients(sessions, broadcast)
    assert found[free].status == "queued" and found[quiet].status == "pending"
    assert found[quiet].due_at == until
    assert await run(sessions, until - timedelta(seconds=1), config) == 0
    assert [m.chat_id for m in await outbox(sessions)] == [free]
    assert await run(sessions, until, config) == 1
    assert [m.chat_id for m in await outbox(sessions)] == [free, quiet]


# -- 2. the weekly marketing cap ------------------------------------------------------------

async def sent(sessions, broadcast_id: int, at) -> None:
    """The broadcast's queued messages went out at `at` (as the sender marks them)."""
    async with sessions() as session:
        ids = select(BroadcastRecipient.outbox_id).where(
            BroadcastRecipient.broadcast_id == broadcast_id)
        await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                              .values(status="sent", sent_at=at))
        await session.commit()


async def test_the_weekly_cap_counts_follow_ups_and_broadcasts_alike(sessions):
    cap = BroadcastConfig(quiet="off", weekly_cap=2)
    async with sessions() as session:
        full = await person(session, 1)
        await person(session, 2)
        session.add(FollowUp(conversation_id=full.id, user_id=1, chat_id=1, key="gallery",
                             text="Kitchens", due_at=NOON - timedelta(days=3), status="sent",
                             sent_at=NOON - timedelta(days=3)))
        await session.commit()
    earlier = await made(sessions, file("earlier", {"campaigns": ["none-such"]}),
                         now=NOON - timedelta(days=1))
    async with UnitOfWork(sessions) as uow:  # person 1 alone got that one, a day ago
        broadcast = await uow.broadcasts.get(earlier)
        await uow.broadcasts.write_recipients(broadcast, [await recipient_of(uow, 1)],
                                              due_at=NOON - timedelta(days=1))
        await uow.commit()
    assert await run(sessions, NOON - timedelta(days=1), cap) == 1
    await sent(sessions, earlier, NOON - timedelta(days=1))

    offer = await made(sessions, file(), config=cap)
    assert await run(sessions, NOON, cap) == 1  # person 2: one follow-up, room for two
    found = await recipients(sessions, offer)
    room = NOON + timedelta(days=4)  # the follow-up of 3 days ago leaves the week
    assert found[2].status == "queued"
    assert (found[1].status, found[1].due_at) == ("pending", room)
    assert await run(sessions, room - timedelta(seconds=1), cap) == 0
    assert await run(sessions, room, cap) == 1


async def recipient_of(uow, user_id: int):
    from storage.reports.segment import segment

    found = await segment(uow.session, {}, "UTC", NOON)
    return next(r for r in found.recipients if r.user_id == user_id)


async def test_two_broadcasts_at_once_do_not_both_pass_a_cap_with_room_for_one(sessions):
    """A message queued and not sent yet counts: both broadcasts written in the same second
    reached a person with room for one more."""
    cap = BroadcastConfig(quiet="off", weekly_cap=1)
    async with sessions() as session:
        await person(session, 1)
        await session.commit()
    first = await made(sessions, file("first"), config=cap)
    second = await made(sessions, file("second"), config=cap)
    assert await run(sessions, NOON, cap) == 1
    statuses = {b: (await recipients(sessions, b))[1] for b in (first, second)}
    assert sorted(r.status for r in statuses.values()) == ["pending", "queued"]
    waiting = next(r for r in statuses.values() if r.status == "pending")
    assert waiting.due_at == NOON + timedelta(days=7)


async def test_the_follow_ups_job_counts_broadcasts_against_the_cap(sessions):
    """A warm lead's first follow-up is due 2 days after the quiz; two broadcasts reached
    them the day after: with a cap of 2, the follow-up waits until the first leaves the
    week."""
    clock = NurtureClock(T0)
    await warm_lead(service_for(sessions, clock), 8101)
    day = T0 + timedelta(days=1)
    for name, at in (("first", day), ("second", day + timedelta(hours=1))):
        broadcast = await made(sessions, file(name), now=at)
        assert await run(sessions, at) == 1
        await sent(sessions, broadcast, at)
    nurture = NurtureConfig(quiet="off", weekly_cap=2)
    assert await deliver_due(sessions, T0 + timedelta(days=2, minutes=1), nurture) == 0
    async with sessions() as session:
        gallery = (await session.execute(select(FollowUp).where(
            FollowUp.user_id == 8101, FollowUp.key == "gallery"))).scalar_one()
        postponed = (await session.execute(select(Event.data).where(
            Event.kind == "follow_up_postponed"))).scalars().all()
    assert (gallery.status, gallery.due_at) == ("pending", day + timedelta(days=7))
    assert [p["reason"] for p in postponed] == ["weekly_cap"]


# -- 3. stopped or erased after the segment was chosen --------------------------------------

async def stop(sessions, user_id: int) -> None:
    async with UnitOfWork(sessions) as uow:
        await withdraw(uow, user_id, ["marketing"], now=NOON, text_sha256="0" * 64,
                       language="ru", update_id=None)
        await uow.commit()


async def forget(sessions, user_id: int) -> None:
    async with UnitOfWork(sessions) as uow:
        await erase(uow, user_id, now=NOON, reason="forget")
        await uow.commit()


async def test_those_who_stop_or_are_erased_before_their_turn_get_nothing(sessions):
    async with sessions() as session:
        for user_id in (1, 2, 3, 4):
            await person(session, user_id, lead={"name": "Ann", "temperature": "warm"})
        await session.commit()
    broadcast = await made(sessions, file(), config=QUIET)
    await stop(sessions, 1)  # /stop after `send`, before the writer reached them
    await forget(sessions, 2)
    async with sessions() as session:  # 3 blocks the bot meanwhile
        from storage.schema.tables import Prospect

        await session.execute(update(Prospect).where(Prospect.user_id == 3)
                              .values(blocked=True))
        await session.commit()
    assert await run(sessions, NOON) == 1
    found = await recipients(sessions, broadcast)
    assert {u: (r.status, r.reason) for u, r in found.items()} == {
        1: ("skipped", "stopped"), 2: ("skipped", "erased"), 3: ("skipped", "blocked"),
        4: ("queued", None)}
    assert [m.chat_id for m in await outbox(sessions)] == [4]


# -- 7. the message in their language -------------------------------------------------------

async def test_each_gets_their_language_their_name_and_the_unsubscribe_button_last(sessions):
    async with sessions() as session:
        await person(session, 1, language="ru", lead={"name": "Анна", "temperature": "warm"})
        await person(session, 2, language="uk")  # no lead: no name
        await person(session, 3, language="en", lead={"name": "Bob <b>", "temperature": "hot"})
        await person(session, 4, language="de")  # no German text: the fallback
        await session.commit()
    buttons = [{"text": {"ru": "Смотреть", "uk": "Дивитися", "en": "See it"},
                "url": "https://example.com/offer"},
               {"text": {"ru": "Квиз", "uk": "Квіз", "en": "Quiz"}, "flow": "kitchen-quiz"},
               {"text": {"ru": "Интересно", "en": "Interested"}, "answer": "interested",
                "points": 5}]
    broadcast = await made(sessions, file(text={**{"ru": "{name}, <b>скидка</b> 10 %"},
                                               "uk": "{name}, знижка 10 %",
                                               "en": "{name}, 10 % off"},
                                          buttons=buttons))
    assert await run(sessions, NOON) == 4
    sent = {m.chat_id: m.payload for m in await outbox(sessions)}
    texts = {chat: payload["text"] for chat, payload in sent.items()}
    assert texts[1].startswith("Анна, скидка 10 %\n\n")
    assert sent[1]["entities"] == [{"type": "bold", "offset": 6, "length": 6}]
    assert texts[2].startswith("друже, знижка 10 %\n\n")
    assert texts[3].startswith("Bob <b>, 10 % off\n\n")  # a name is words, never markup
    assert texts[4].startswith("friend, 10 % off\n\n")
    assert "/stop" in texts[1] and "/stop" in texts[4]
    for chat, language in ((1, "ru"), (2, "uk"), (3, "en"), (4, "en")):
        rows = sent[chat]["reply_markup"]["inline_keyboard"]
        assert [len(r) for r in rows] == [1, 1, 1, 1]
        assert rows[0][0]["url"] == "https://example.com/offer"
        assert rows[1][0]["callback_data"] == f"bc:{broadcast}:1"
        assert rows[2][0]["callback_data"] == f"bc:{broadcast}:2"
        assert rows[-1][0]["callback_data"] == "rights:unsubscribe"
        assert rows[0][0]["text"] == buttons[0]["text"][language]
    assert sent[2]["reply_markup"]["inline_keyboard"][2][0]["text"] == "Interested"  # no uk
    assert sent[2]["reply_markup"]["inline_keyboard"][-1] == unsubscribe_markup("uk")[
        "inline_keyboard"][0]
    assert texts[2].endswith(unsubscribe_footer("uk"))
    async with sessions() as session:
        latest = {m.chat_id: m.conversation_id for m in await outbox(sessions)}
        leads = (await session.execute(select(Lead.conversation_id, Lead.user_id))).all()
    assert latest[1] == dict((u, c) for c, u in leads)[1]  # their latest conversation


# -- the property: nobody without marketing consent in force --------------------------------

examples: list[None] = []
changes = st.sampled_from(["grant", "withdraw", "forget", "block"])
people = st.lists(st.tuples(st.lists(st.booleans(), max_size=3), st.lists(changes, max_size=3)),
                  min_size=1, max_size=8)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=people)
async def test_nobody_is_queued_whose_latest_marketing_row_is_not_a_grant(sessions, people):
    """Random consent ledgers before `send`, and random grants, withdrawals, erasures and
    blocks between `send` and the writer's turn: every message written goes to someone
    whose latest marketing row is a grant, who is neither blocked nor erased; and everyone
    who may still get it does."""
    examples.append(None)  # the ledger is append-only: each example's people are new
    tag, first = f"example-{len(examples)}", 1000 * len(examples)
    async with sessions() as session:
        for user_id, (history, _) in enumerate(people, start=first):
            await person(session, user_id, consents=tuple(history), campaign=tag)
        await session.commit()
    broadcast = await made(sessions, file(f"p{len(examples)}", {"campaigns": [tag]}))
    for user_id, (_, later) in enumerate(people, start=first):
        for change in later:
            if change == "withdraw":
                await stop(sessions, user_id)
            elif change == "forget":
                await forget(sessions, user_id)
            elif change == "block":
                async with sessions() as session:
                    from storage.schema.tables import Prospect

                    await session.execute(update(Prospect).where(Prospect.user_id == user_id)
                                          .values(blocked=True))
                    await session.commit()
            else:
                async with sessions() as session:
                    session.add(Consent(user_id=user_id, purpose="marketing", granted=True,
                                        policy_version="1", text_sha256="0" * 64,
                                        language="ru", created_at=NOON, operator="Acme"))
                    await session.commit()
    await run(sessions, NOON)
    async with sessions() as session:
        latest = {}
        for user_id, granted in (await session.execute(
                select(Consent.user_id, Consent.granted).where(
                    Consent.user_id >= first, Consent.user_id < first + len(people),
                    Consent.purpose == "marketing").order_by(Consent.id))).all():
            latest[user_id] = granted
    queued = {m.chat_id for m in await outbox(sessions) if first <= m.chat_id < first + 1000}
    found = await recipients(sessions, broadcast)
    for user_id, (history, later) in enumerate(people, start=first):
        gone = "forget" in later or "block" in later
        may = bool(history) and history[-1] and latest.get(user_id) is True and not gone
        if user_id in queued:
            assert latest.get(user_id) is True and not gone, (history, later)
        elif may:
            pytest.fail(f"{user_id} may get it and did not: {history} {later}")
        else:
            assert user_id not in found or found[user_id].status == "skipped"
