"""A crash at any point loses nothing: before the commit the update comes back
and is deduplicated; after it, the outbox is still there at restart."""

from __future__ import annotations

import asyncio

from bot.app import bootstrap, serve
from tests.conftest import fast_limits
from tests.e2e.conftest import settings_for
from tests.e2e.harness import Running, eventually
from tests.intents import intent


async def test_a_crash_after_commit_and_before_sending_still_delivers(telegram, tmp_path):
    settings = settings_for(telegram, f"sqlite:///{tmp_path}/bot.db")
    first = await bootstrap(settings, limits=fast_limits())
    # The update is handled and committed, and the process dies before its sender ran.
    await first.service.handle(intent(update_id=10**6, user_id=801, chat_id=801,
                                        language_code="en", start_payload="kitchen-quiz"))
    await first.close()
    assert telegram.sent(801) == []

    second = await bootstrap(settings, limits=fast_limits())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(second, stop))
    try:
        async def delivered() -> bool:
            return bool(telegram.texts(801))
        await eventually(delivered, what="the message queued before the crash")
        assert telegram.texts(801)[0].startswith("Hello! This is Oak & Stone")
        prospect = Running(second, telegram).prospect(801)
        await prospect.tap("Start")  # and the conversation goes on
        assert "Where will the kitchen be installed?" in prospect.said()[-1]
    finally:
        stop.set()
        await task
        await second.close()
