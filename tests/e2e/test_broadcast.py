"""A broadcast end to end, as the marketer runs it: `leadbot broadcast create / preview /
send / status` (the real command, a process of its own, on the bot's SQLite file) and the
running bot (aiogram, against the fake Bot API) sending it: only to those whose marketing
consent is in force, in their language, with the one-tap Unsubscribe; its flow button
starts the quiz with the source `broadcast:NAME`, its question scores; a person who
unsubscribes from it is counted; nobody gets it twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.jobs.broadcasts import BroadcastConfig, deliver
from storage.schema.broadcasts import BroadcastRecipient
from storage.schema.tables import Conversation, Event, Lead, utcnow
from tests.bot.test_cli import leadbot, no_traceback
from tests.e2e.conftest import bot_running
from tests.e2e.test_nurture import WARM, warm_lead

ANYTIME = BroadcastConfig(quiet="off", weekly_cap=3)
FILE = """\
name: winter-offer
segment:
  flows: [kitchen-quiz]
  temperatures: [warm]
message:
  text:
    ru: "{name}, зимняя скидка 10 % на кухни до конца декабря."
    uk: "{name}, зимова знижка 10 % на кухні до кінця грудня."
    en: "{name}, a winter 10 % off kitchens until the end of December."
  fallback: en
  buttons:
    - text: {ru: "Подобрать кухню", uk: "Підібрати кухню", en: "Find my kitchen"}
      flow: kitchen-quiz
    - text: {ru: "Интересно", uk: "Цікаво", en: "Interested"}
      answer: interested
      points: 5
"""


async def cli(env: dict, *args: str):
    result = await asyncio.to_thread(leadbot, "broadcast", *args, env=env)
    no_traceback(result)
    return result


async def send_due(running, seconds: float = 0.0) -> int:
    queued, _ = await deliver(running.app.sessions, utcnow() + timedelta(seconds=seconds),
                              ANYTIME)
    running.app.sender.wake()
    await running.settle()
    return queued


async def until(running, arrived, seconds: float = 60.0) -> None:
    """Runs the broadcasts job (as the bot does every second) until `arrived()`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not arrived():
        assert asyncio.get_running_loop().time() < deadline, "the broadcast never arrived"
        await send_due(running)
        await asyncio.sleep(0.2)


def got(telegram, chat_id: int) -> list:
    return [c for c in telegram.sent(chat_id) if c.method == "sendMessage"
            and "winter" in (c.params.get("text") or "")]


async def test_a_broadcast_reaches_those_who_agreed_once_and_what_came_of_it_counts(
        telegram, tmp_path):
    url = f"sqlite:///{tmp_path}/bot.db"
    env = {"LEADBOT_DATABASE_URL": url}
    (tmp_path / "offer.yaml").write_text(FILE, encoding="utf-8")
    # the bot's own broadcasts job runs too: quiet hours off for it as for ANYTIME (the clock
    # is real here; tests/bot/test_broadcast_job.py moves it through quiet hours)
    async with bot_running(telegram, url, quiet_hours="off") as running:
        anna, boris, vera = [await warm_lead(running, u) for u in (8201, 8202, 8203)]
        declined = running.prospect(8204, "en")  # warm, but said no to marketing
        await declined.start("kitchen-quiz")
        for option in (*WARM[:-1], "~mkno"):
            await declined.tap(option=option)
        await declined.send("Ivan Petrov")
        await declined.send("+44 7400 654321")
        await vera.command("/stop")
        await vera.tap(data="rights:stop:yes")

        created = await cli(env, "create", str(tmp_path / "offer.yaml"))
        assert created.returncode == 0, created.stderr
        assert "2 people would get it now" in created.stdout
        assert "no marketing consent 1" in created.stdout and "stopped" in created.stdout
        nobody = await cli(env, "preview", "winter-offer", "--chat", "42")
        assert nobody.returncode == 2 and "nobody with chat 42 has started the bot" in (
            nobody.stderr)
        author = running.prospect(8299, "en")  # the marketer, who started the bot
        await author.start()
        shown = await cli(env, "preview", "winter-offer", "--chat", "8299")
        assert shown.returncode == 0, shown.stderr
        assert (await cli(env, "send", "winter-offer")).returncode == 0
        # the running bot's own job may queue them first: what counts is what arrives
        await until(running, lambda: all(got(telegram, p.user_id) for p in (anna, boris)))
        await send_due(running, 1)  # its rows sent: done
        for prospect in (anna, boris):
            [message] = got(telegram, prospect.user_id)
            text = message.params["text"]
            assert text.startswith("Anna Smith, a winter 10 % off") or prospect is boris
            assert "Unsubscribe" in str(message.params["reply_markup"])
        assert got(telegram, vera.user_id) == [] and got(telegram, declined.user_id) == []

        await anna.tap("Find my kitchen")  # a new quiz, its source the broadcast's
        await boris.tap("Interested")
        assert boris.answers()[-1] == "Thank you, noted"
        await boris.tap("Unsubscribe")
        async with running.app.sessions() as session:
            sources = (await session.execute(select(Conversation.source).where(
                Conversation.user_id == anna.user_id).order_by(Conversation.id))).scalars()
            assert list(sources)[-1] == "broadcast:winter-offer"
            score = (await session.execute(select(Lead.score).where(
                Lead.user_id == boris.user_id))).scalar_one()
            taps = (await session.execute(select(Event.data).where(
                Event.kind == "broadcast_tap"))).scalars().all()
            recipients = (await session.execute(select(BroadcastRecipient))).scalars().all()
        assert {t["button"] for t in taps} == {0, 1}
        assert len(recipients) == 2
        assert score is not None

        await send_due(running, 5)
        assert [len(got(telegram, p.user_id)) for p in (anna, boris)] == [1, 1]  # once
        status = await cli(env, "status", "winter-offer")
        assert status.returncode == 0, status.stderr
        assert "winter-offer: done" in status.stdout
        again = await cli(env, "send", "winter-offer")
        assert again.returncode == 2 and "winter-offer" in again.stderr
