"""Nurture on a controlled clock, on both databases: the service's clock and the job's `now`
are set by the test, so quiet hours, delays and the week are exact.

The shipped kitchen quiz: a warm lead who agreed to marketing gets `gallery` 2 days after
the quiz, `ready` (a question) 5 days after that, `code-expires` 18 days after that.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.handoff.handoffs import HandoffConfig, Handoffs
from bot.jobs.followups import NurtureConfig, deliver_due
from bot.service.core import Service
from bot.service.flows import FlowRegistry
from dialogs.engine.events import Tap
from storage.schema.tables import Event, FollowUp, Handoff, OutboxMessage
from tests.bot.test_service import Prospectus
from tests.conftest import FLOWS_DIR

GROUP = -100555
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 in London (en), 13:00 Moscow
WARM = ("~go", "suburbs", "corner", "medium", "enamel", "~done", "quarter", "~yes", "~mkyes")


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def service_for(sessions, clock, flows_dir=FLOWS_DIR) -> Service:
    return Service(sessions, FlowRegistry.from_dir(flows_dir), clock=clock,
                   handoffs=Handoffs(HandoffConfig(chat_id=GROUP, language="en")))


@pytest.fixture
def service(sessions, clock):
    return service_for(sessions, clock)


async def warm_lead(service, user_id: int, language: str = "en") -> Prospectus:
    prospect = Prospectus(service, user_id=user_id, language=language)
    await prospect.start("kitchen-quiz")
    for option in WARM:
        await prospect.tap(option)
    await prospect.text("Anna")
    await prospect.text("+79161234567")
    state = await prospect.state()
    assert (state.finished, state.outcome) == (True, "nurture")
    return prospect


async def rows(sessions, model, *where):
    async with sessions() as session:
        order = model.__table__.primary_key.columns
        return list((await session.execute(select(model).where(*where).order_by(*order)))
                    .scalars())


async def sent_to(sessions, chat_id: int) -> list[OutboxMessage]:
    return await rows(sessions, OutboxMessage, OutboxMessage.chat_id == chat_id,
                      OutboxMessage.marketing.is_(True))


async def statuses(sessions, user_id: int) -> dict[str, str]:
    return {f.key: f.status for f in await rows(sessions, FollowUp, FollowUp.user_id == user_id,
                                                FollowUp.kind == "sequence")}


async def events(sessions, kind: str) -> list[dict]:
    return [e.data for e in await rows(sessions, Event, Event.kind == kind)]


def buttons(message: OutboxMessage) -> list[dict]:
    markup = message.payload.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_sequence_runs_to_its_end_one_message_after_another(service, sessions):
    await warm_lead(service, 11)
    assert await statuses(sessions, 11) == {"gallery": "pending", "ready": "waiting",
                                            "code-expires": "waiting"}
    assert await deliver_due(sessions, T0 + timedelta(days=2) - timedelta(minutes=1)) == 0
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 1
    [gallery] = await sent_to(sessions, 11)
    assert gallery.payload["text"].startswith("Here are 12 kitchens")
    labels = [(b["text"], b.get("url"), b.get("callback_data")) for b in buttons(gallery)]
    assert labels[0] == ("See the kitchens", "https://oak-stone.example/gallery", None)
    assert labels[-1][2] == "rights:unsubscribe"  # every marketing message: one-tap unsubscribe
    # `ready` counts from when `gallery` went out: 5 days
    assert await deliver_due(sessions, T0 + timedelta(days=6)) == 0
    assert await deliver_due(sessions, T0 + timedelta(days=7)) == 1
    ready = (await sent_to(sessions, 11))[-1]
    assert "ready to order your kitchen this month" in ready.payload["text"]
    assert [b["text"] for b in buttons(ready)] == ["Yes, ready now", "Later", "Just looking",
                                                   "Unsubscribe"]
    assert await deliver_due(sessions, T0 + timedelta(days=25)) == 1
    assert await deliver_due(sessions, T0 + timedelta(days=90)) == 0  # the end
    assert await statuses(sessions, 11) == {"gallery": "sent", "ready": "sent",
                                            "code-expires": "sent"}
    assert len(await sent_to(sessions, 11)) == 3


async def test_quiet_hours_move_a_message_to_nine_in_the_morning_local_time(sessions, clock):
    clock.now = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # 22:00 in Moscow
    service = service_for(sessions, clock)
    await warm_lead(service, 21, language="ru")  # no zone known: guessed, Europe/Moscow
    due = clock.now + timedelta(days=2)  # 22:00 Moscow: quiet
    assert await deliver_due(sessions, due) == 0
    [gallery] = await rows(sessions, FollowUp, FollowUp.key == "gallery")
    assert gallery.due_at == datetime(2026, 3, 5, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    assert (await events(sessions, "follow_up_postponed"))[0]["reason"] == "quiet_hours"
    assert await deliver_due(sessions, gallery.due_at - timedelta(seconds=1)) == 0
    assert await deliver_due(sessions, gallery.due_at) == 1
    # the operator's zone (LEADBOT_NURTURE_TIMEZONE) wins over the guess
    assert await deliver_due(sessions, datetime(2026, 3, 10, 6, 30, tzinfo=UTC),
                             NurtureConfig(timezone="Asia/Tokyo")) == 1  # 15:30 in Tokyo


async def test_the_weekly_cap_holds(service, sessions):
    await warm_lead(service, 31)
    capped = NurtureConfig(weekly_cap=1)
    assert await deliver_due(sessions, T0 + timedelta(days=2), capped) == 1
    assert await deliver_due(sessions, T0 + timedelta(days=7), capped) == 0  # 5 days later
    [ready] = await rows(sessions, FollowUp, FollowUp.key == "ready")
    assert ready.due_at == T0 + timedelta(days=9)  # a week after `gallery`
    assert (await events(sessions, "follow_up_postponed"))[0]["reason"] == "weekly_cap"
    assert await deliver_due(sessions, T0 + timedelta(days=9), capped) == 1
    assert len(await sent_to(sessions, 31)) == 2


async def test_stale_messages_after_downtime_are_dropped_with_an_event(service, sessions):
    await warm_lead(service, 41)
    back = T0 + timedelta(days=2, hours=13)  # the bot was down for 13 hours
    assert await deliver_due(sessions, back, NurtureConfig(stale=timedelta(hours=12))) == 0
    assert await sent_to(sessions, 41) == []
    [dropped] = await events(sessions, "follow_up_dropped")
    assert dropped == {"key": "gallery", "late_seconds": 13 * 3600}
    assert await statuses(sessions, 41) == {"gallery": "dropped", "ready": "pending",
                                            "code-expires": "waiting"}
    [ready] = await rows(sessions, FollowUp, FollowUp.key == "ready")
    assert ready.due_at == back + timedelta(days=5)  # the sequence goes on from now


async def stop_by_blocking(prospect, sessions):
    await prospect.send(blocked=True)


async def stop_by_stop(prospect, sessions):
    await prospect.send(command="stop")
    await prospect.send(rights_data="rights:stop:yes")


async def stop_by_forget(prospect, sessions):
    await prospect.send(command="forget")
    await prospect.send(rights_data="rights:forget:yes")


async def stop_by_restart(prospect, sessions):
    await prospect.start("kitchen-quiz")  # the quiz again, from the start


async def stop_by_unsubscribe(prospect, sessions):
    await prospect.send(rights_data="rights:unsubscribe")


async def stop_by_a_manager(status: str):
    async def stop(prospect, sessions):
        await answer(prospect, "ready", "now")  # hot: handed off
        async with sessions() as session:
            handoff = (await session.execute(select(Handoff))).scalar_one()
            handoff.status = status
            await session.commit()
    return stop


@pytest.mark.parametrize("stop, reason", [
    (stop_by_blocking, "blocked"), (stop_by_stop, None), (stop_by_forget, None),
    (stop_by_unsubscribe, None), (stop_by_restart, None),
    ("new", "handed_off"), ("claimed", "claimed"), ("won", "won"), ("lost", "lost"),
])
async def test_a_sequence_stops_on_each_stop_condition(service, sessions, stop, reason):
    prospect = await warm_lead(service, 51)
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 1
    if isinstance(stop, str):
        assert await deliver_due(sessions, T0 + timedelta(days=7)) == 1  # the question
        await (await stop_by_a_manager(stop))(prospect, sessions)
    else:
        await stop(prospect, sessions)
    before = len(await sent_to(sessions, 51))
    await deliver_due(sessions, T0 + timedelta(days=60), NurtureConfig(stale=timedelta(0)))
    assert len(await sent_to(sessions, 51)) == before  # (a restarted quiz: its reminder)
    left = await statuses(sessions, 51)
    assert "pending" not in left.values() and "waiting" not in left.values(), left
    if reason is not None:  # stopped when due: said why
        assert reason in [e["reason"] for e in await events(sessions, "follow_up_stopped")]


async def test_any_message_stops_the_sequence_when_the_flow_says_so(sessions, clock, tmp_path):
    quiz = tmp_path / "kitchen-quiz.yaml"
    shutil.copy(FLOWS_DIR / quiz.name, quiz)
    quiz.write_text(quiz.read_text(encoding="utf-8").replace(
        "\nnurture:\n", "\nnurture:\n  stop_on_message: true\n", 1), encoding="utf-8")
    service = service_for(sessions, clock, tmp_path)
    prospect = await warm_lead(service, 61)
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 1
    await prospect.text("thanks, I will think about it")
    assert await statuses(sessions, 61) == {"gallery": "sent", "ready": "cancelled",
                                            "code-expires": "cancelled"}
    # the shipped quiz does not: a message leaves the sequence alone
    other = await warm_lead(service_for(sessions, clock), 62)
    await other.text("thanks")
    assert (await statuses(sessions, 62))["ready"] == "waiting"


async def answer(prospect: Prospectus, message: str, option: str) -> None:
    state = await prospect.state()
    await prospect.send(event=Tap(state.flow_id, state.flow_version, f"~{message}", option),
                        callback_query_id=f"cb{prospect.update_id}")


async def test_ready_now_turns_a_warm_lead_hot_and_its_card_reaches_the_managers(
        service, sessions, clock):
    prospect = await warm_lead(service, 71)
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 1
    assert await deliver_due(sessions, T0 + timedelta(days=7)) == 1
    clock.now = T0 + timedelta(days=7, hours=3)
    await answer(prospect, "ready", "now")
    [handoff] = await rows(sessions, Handoff)
    assert handoff.temperature == "hot" and handoff.status == "new"
    assert "warmed up through nurture after 7 d 3 h: Yes, ready now" in handoff.card_text
    [card] = await rows(sessions, OutboxMessage, OutboxMessage.chat_id == GROUP)
    assert "Hot lead" in card.payload["text"] and "+79161234567" in card.payload["text"]
    said = [m.payload.get("text") for m in await rows(sessions, OutboxMessage,
                                                      OutboxMessage.chat_id == 71)]
    assert "Thank you! A manager has your request and will be in touch shortly." in said
    # the rest of the sequence ends: a manager has the lead
    assert await deliver_due(sessions, T0 + timedelta(days=40)) == 0
    assert (await statuses(sessions, 71))["code-expires"] == "cancelled"


async def test_a_lukewarm_answer_adds_to_the_score_without_a_hand_off(service, sessions):
    prospect = await warm_lead(service, 72)
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 1
    assert await deliver_due(sessions, T0 + timedelta(days=7)) == 1  # the question, sent
    await answer(prospect, "ready", "looking")
    await answer(prospect, "ready", "looking")  # a second tap counts once
    assert await rows(sessions, Handoff) == []
    state = await prospect.state()
    assert state.answers["~ready"] == "looking"
    from storage.schema.tables import Lead

    [lead] = await rows(sessions, Lead, Lead.user_id == 72)
    assert (lead.score, lead.temperature, "browsing" in lead.tags) == (40, "cold", True)


async def test_the_reminder_comes_once_and_its_button_resumes_the_quiz(service, sessions,
                                                                       clock):
    prospect = Prospectus(service, user_id=81)
    await prospect.start("kitchen-quiz")
    await prospect.tap("~go")
    await prospect.tap("city")  # and they stop here, at the layout question
    assert await deliver_due(sessions, T0 + timedelta(hours=3)) == 1
    reminder = (await rows(sessions, OutboxMessage, OutboxMessage.chat_id == 81))[-1]
    assert reminder.payload["text"].startswith("You stopped halfway")
    [resume] = buttons(reminder)  # no unsubscribe: not marketing, their own request
    assert resume["text"] == "▶ Continue" and resume["callback_data"].endswith(":~resume")
    clock.now = T0 + timedelta(hours=5)
    flow, version, step, option = resume["callback_data"].split(":")
    await prospect.send(event=Tap(flow, int(version), step, option), callback_query_id="cb")
    said = [m.payload.get("text") for m in await rows(sessions, OutboxMessage,
                                                      OutboxMessage.chat_id == 81)]
    assert said[-2].startswith("Welcome back!") and said[-1].startswith("What layout")
    assert (await prospect.state()).step == "layout"
    await prospect.tap("island")  # they go on, and stop again: no second reminder
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 0
    [row] = await rows(sessions, FollowUp, FollowUp.user_id == 81)
    assert row.status == "sent"


async def test_the_reminder_respects_stop_and_is_never_sent_at_night(sessions, clock):
    clock.now = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 20:30 in Moscow
    service = service_for(sessions, clock)
    night = Prospectus(service, user_id=91, language="ru")
    await night.start("kitchen-quiz")
    await night.tap("~go")
    assert await deliver_due(sessions, clock.now + timedelta(hours=3)) == 0  # 23:30
    [row] = await rows(sessions, FollowUp, FollowUp.user_id == 91)
    assert row.due_at == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    stopped = Prospectus(service, user_id=92)
    await stopped.start("kitchen-quiz")
    await stopped.tap("~go")
    await stopped.send(command="stop")
    await stopped.send(rights_data="rights:stop:yes")  # no marketing consent, yet: /stop
    assert await deliver_due(sessions, clock.now + timedelta(days=1)) == 1  # 91's only
    [row] = await rows(sessions, FollowUp, FollowUp.user_id == 92)
    assert row.status == "cancelled"
    await stopped.tap("city")  # going on with the quiz does not bring it back
    [row] = await rows(sessions, FollowUp, FollowUp.user_id == 92)
    assert row.status == "cancelled"


async def test_a_restart_in_the_middle_of_a_sequence_loses_and_duplicates_nothing(
        sessions, clock):
    """The bot process restarts (a new service, the same database) between sends, and the
    job runs again at a moment it already handled: each message goes out once."""
    await warm_lead(service_for(sessions, clock), 101)
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 1
    assert await deliver_due(sessions, T0 + timedelta(days=2)) == 0  # run again: nothing
    service_for(sessions, clock)  # "restarted": nothing in memory to lose
    assert await deliver_due(sessions, T0 + timedelta(days=7)) == 1
    assert await deliver_due(sessions, T0 + timedelta(days=7, seconds=30)) == 0
    assert await deliver_due(sessions, T0 + timedelta(days=25)) == 1
    texts = [m.payload["text"][:20] for m in await sent_to(sessions, 101)]
    assert len(texts) == len(set(texts)) == 3
