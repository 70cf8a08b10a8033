"""A chat whose rows a killed process left (sent to Telegram, maybe, never marked) is taken
over by the next update of that chat in a live process: its sender must treat the chat's
burst as spent, as a scan's take-over does (bot/outbox/shared.py `take_over`). The short
path used to drop that the chat came from a dead process: the new owner thought two of
the chat's three messages free, and a fresh CI run's kill -9 chaos test saw one message
over the chat's 1 a second. Real PostgreSQL, real advisory locks, the real service and
sender."""

from __future__ import annotations

import pytest

from bot.outbox.limits import Limits
from bot.service.core import Service
from bot.service.intents import Begin
from bot.telegram.delivery import sender_for
from tests.bot.test_claims import service_for, snapshot
from tests.storage.test_owners import Process

CHAT = 4242


async def test_an_update_that_adopts_a_dead_processs_chat_finds_its_burst_spent(
        engine, bot, telegram):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: one process")
    async with Process(engine, 11) as killed, Process(engine, 22) as alive:
        await killed.commit(CHAT)  # its reply, maybe accepted by Telegram, never marked
        await killed.die()
        sender = sender_for(bot, alive.sessions, Limits())
        plain = service_for(alive.sessions)
        service = Service(alive.sessions, plain.flows, handoffs=plain.handoffs,
                          on_outbox=sender.submit)
        await snapshot(service)
        await service.handle(Begin(update_id=1, user_id=CHAT, chat_id=CHAT,
                                   language_code="en"))
        # the dead process's row is this one's now, and the chat's burst is spent: its next
        # message waits for a token (1 a second), not 0 s
        assert sender.limiter.wait(CHAT, sender.monotonic()) > 0.5
