"""What came of a broadcast, on a real SQLite file and on PostgreSQL: warm leads of the
shipped kitchen quiz (the service on a clock the test sets), the job and the real sender
against the fake Bot API, taps through the service as a transport hands them over; then
the results, what `leadbot broadcast status` prints, and `leadbot report --source
broadcast:NAME` (the real command, in a process of its own)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select

from bot.cli.broadcast_preview import status
from bot.service import callbacks
from bot.service.intents import BroadcastTap
from bot.telegram.delivery import sender_for
from storage.reports.broadcasts import results
from storage.schema.tables import OutboxMessage
from storage.work.uow import UnitOfWork
from tests.bot.broadcast_helpers import file, made, outbox, run
from tests.bot.test_cli import leadbot, no_traceback
from tests.bot.test_nurture import T0, WARM, Clock, service_for, warm_lead
from tests.conftest import fast_limits
from tests.databases import database_url
from tests.intents import intent

BUTTONS = [{"text": "Find my kitchen", "flow": "kitchen-quiz"},
           {"text": "Interested", "answer": "interested", "points": 5}]


async def press(prospect, broadcast_id: int, index: int) -> None:
    """A tap on the broadcast's button `index` (bc:ID:INDEX), as the router hands it on."""
    prospect.update_id += 1
    await prospect.service.handle(BroadcastTap(
        update_id=prospect.update_id, user_id=prospect.user_id, chat_id=prospect.user_id,
        language_code=prospect.language, press=callbacks.BroadcastPress(broadcast_id, index),
        query_id=f"q{prospect.update_id}"))


async def test_delivered_blocked_unsubscribed_taps_flows_and_leads_are_counted(
        sessions, engine, bot, telegram, tmp_path):
    service = service_for(sessions, Clock(T0))
    anna, boris, carol = [await warm_lead(service, u) for u in (8101, 8102, 8103)]
    telegram.removed_chats.add(carol.user_id)  # she blocked the bot since
    at = T0 + timedelta(hours=1)
    broadcast = await made(sessions, file("offer", {"flows": ["kitchen-quiz"]},
                                          buttons=BUTTONS), now=at)
    assert await run(sessions, at) == 3
    await sender_for(bot, sessions, fast_limits()).drain()

    await press(anna, broadcast, 0)  # the quiz again, from the broadcast
    for option in WARM:
        await anna.tap(option)
    await anna.text("Anna")
    await anna.text("+79161234567")
    await press(boris, broadcast, 1)  # interested: scores
    [message] = await outbox(sessions, boris.user_id)
    boris.update_id += 1
    await service.handle(intent(update_id=boris.update_id, user_id=boris.user_id,
                                chat_id=boris.user_id, language_code="en",
                                rights_data="rights:unsubscribe", callback_query_id="u1",
                                message_id=message.telegram_message_id))

    async with sessions() as session:
        found = await results(session, broadcast)
    assert {k: found[k] for k in ("recipients", "queued", "delivered", "blocked", "failed",
                                  "unknown", "waiting", "unsubscribed", "flows_started",
                                  "leads")} == {
        "recipients": 3, "queued": 3, "delivered": 2, "blocked": 1, "failed": 0,
        "unknown": 0, "waiting": 0, "unsubscribed": 1, "flows_started": 1, "leads": 1}
    assert found["tapped"] == {"0": 1, "1": 1}

    async with sessions() as session:  # what `leadbot broadcast status offer` prints
        said = (await status(session, "offer")).splitlines()
    for line in ("offer: sending", "  delivered: 2", "  blocked: 1", "  unsubscribed: 1",
                 "  flows_started: 1", "  leads: 1", "  tapped: 0 1, 1 1"):
        assert line in said, said
    env = {"LEADBOT_DATABASE_URL": await database_url(engine.dialect.name, tmp_path)}
    report = await asyncio.to_thread(
        leadbot, "report", "--flow", "kitchen-quiz", "--source", "broadcast:offer",
        "--since", "2026-03-01", "--until", "2026-03-03", "--format", "json", env=env)
    no_traceback(report)
    assert report.returncode == 0, report.stderr
    [group] = json.loads(report.stdout)["groups"]
    assert (group["started"], group["contact"], group["leads"]) == (1, 1, 1)  # Anna's 2nd


async def test_a_link_cancelled_or_unknown_button_is_answered_and_changes_nothing(sessions):
    """Data no genuine tap sends (a link's index: Telegram opens links; a number no button
    has) and a tap after the broadcast was cancelled: "no longer works", nothing counted,
    no flow started."""
    service = service_for(sessions, Clock(T0))
    anna = await warm_lead(service, 8101)
    at = T0 + timedelta(hours=1)
    links = [{"text": "See it", "url": "https://example.com/offer"}, *BUTTONS]
    broadcast = await made(sessions, file("offer", buttons=links), now=at)
    assert await run(sessions, at) == 1
    for index in (0, 7):
        await press(anna, broadcast, index)
    async with UnitOfWork(sessions) as uow:
        await uow.broadcasts.set_status(await uow.broadcasts.get(broadcast), "cancelled",
                                        now=at)
        await uow.commit()
    await press(anna, broadcast, 1)  # the quiz, after the cancel
    async with sessions() as session:
        found = await results(session, broadcast)
        answers = (await session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.method == "answerCallbackQuery"))).scalars().all()
    assert [a.get("text") for a in answers][-3:] == ["This button no longer works"] * 3
    assert (found["tapped"], found["flows_started"]) == ({}, 0)
