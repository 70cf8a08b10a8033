"""`leadbot run` as a real process, killed with SIGKILL mid-quiz and started again: the
prospect continues at the same step with every answer kept."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from tests.e2e.harness import eventually
from tests.processes import LEADBOT, leadbot_environment

USER = 901


async def start_bot(telegram, database: Path) -> asyncio.subprocess.Process:
    environment = leadbot_environment(
        LEADBOT_BOT_TOKEN=telegram.token, LEADBOT_TELEGRAM_API_URL=telegram.url,
        LEADBOT_DATABASE_URL=f"sqlite:///{database}", LEADBOT_LOG_LEVEL="WARNING",
        LEADBOT_TRANSPORT=telegram.transport)
    return await asyncio.create_subprocess_exec(
        LEADBOT, "run", env=environment, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)


def update(kind: str, **content) -> dict:
    user = {"id": USER, "is_bot": False, "first_name": "Olena", "language_code": "en"}
    message = {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"},
               "from": user}
    if kind == "start":
        return {"message": message | {"text": "/start kitchen-quiz", "entities": [
            {"type": "bot_command", "offset": 0, "length": 6}]}}
    return {"callback_query": {"id": f"q{content['data']}", "from": user, "chat_instance": "c",
                               "data": content["data"], "message": message}}


async def said(telegram, words: str) -> None:
    async def arrived() -> bool:
        return any(words in text for text in telegram.texts(USER))
    # the first words wait for a new process to start (imports, migrations): on a loaded
    # machine that alone can take tens of seconds
    await eventually(arrived, timeout=120, what=f"the bot to say {words!r}")


def answers(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT step, value FROM answers ORDER BY id").fetchall()


async def test_sigkill_mid_quiz_then_restart_continues_the_conversation(telegram, tmp_path):
    database = tmp_path / "bot.db"
    bot = await start_bot(telegram, database)
    try:
        telegram.push(update("start"))
        await said(telegram, "Hello! This is Oak & Stone")
        telegram.push(update("tap", data="kitchen-quiz:1:intro:~go"))
        await said(telegram, "Where will the kitchen be installed?")
        telegram.push(update("tap", data="kitchen-quiz:1:location:city"))
        await said(telegram, "What layout do you have in mind?")
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    assert bot.returncode == -signal.SIGKILL

    again = await start_bot(telegram, database)
    try:
        telegram.push(update("tap", data="kitchen-quiz:1:layout:island"))
        await said(telegram, "How long will the kitchen be? Discount: 6 %.")
        assert answers(database) == [("location", '"city"'), ("layout", '"island"')]
    finally:
        again.send_signal(signal.SIGTERM)  # a graceful stop this time
        output, _ = await again.communicate()
    assert again.returncode == 0, output.decode()[-2000:]


async def test_a_token_revoked_while_running_stops_with_one_line(telegram, tmp_path):
    telegram.fail(401, "Unauthorized", method="getUpdates")
    bot = await start_bot(telegram, tmp_path / "bot.db")
    output, _ = await asyncio.wait_for(bot.communicate(), 60)
    text = output.decode()
    assert bot.returncode == 1
    assert "Telegram refused LEADBOT_BOT_TOKEN while running" in text
    assert "Traceback" not in text
