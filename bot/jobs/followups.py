"""Follow-ups the prospect agreed to, sent when due. Durable rows, not in-memory timers:
a restart loses none. A follow-up goes out only while the prospect has not blocked the bot
and still has the consent it needs (marketing ones: the marketing opt-in). A marketing one
says how to stop and carries a one-tap Unsubscribe button."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.jobs.context import Running
from bot.outbox import messages
from bot.service.rights import unsubscribe_footer, unsubscribe_markup
from dialogs.engine.state import State
from dialogs.rules.handoff import may_follow_up
from storage.models import Event, utcnow
from storage.uow import UnitOfWork


async def deliver_due(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Queues every due follow-up in the outbox; returns how many were queued."""
    queued = 0
    async with UnitOfWork(sessions) as uow:
        for follow_up in await uow.follow_ups.due(now):
            prospect = await uow.prospects.get(follow_up.user_id)
            conversation = await uow.conversations.latest(follow_up.user_id)
            consents = State.from_dict(conversation.state).consents if (
                conversation and conversation.state) else {}
            allowed = prospect is not None and may_follow_up(
                marketing=follow_up.marketing, consents=consents, blocked=prospect.blocked)
            follow_up.status = "sent" if allowed else "cancelled"
            if not allowed or prospect is None:
                continue
            text, markup = follow_up.text, None
            if follow_up.marketing:  # how to stop, and a one-tap way to (38-FZ Art. 18)
                language = prospect.language or "en"
                text = f"{follow_up.text}\n\n{unsubscribe_footer(language)}"
                markup = unsubscribe_markup(language)
            messages.send(uow, follow_up.chat_id, text, markup=markup,
                          conversation_id=follow_up.conversation_id,
                          marketing=follow_up.marketing)
            uow.stage(Event, user_id=follow_up.user_id, kind="follow_up",
                      conversation_id=follow_up.conversation_id, data={"key": follow_up.key},
                      created_at=now)
            queued += 1
        await uow.commit()
    return queued


async def send_follow_ups(app: Running) -> None:
    """The follow-ups job: queues what is due and wakes the sender."""
    if await deliver_due(app.sessions, utcnow()):
        app.sender.wake()
