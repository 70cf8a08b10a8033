"""The SLA timers: a lead nobody claimed in time is announced again with the managers
mentioned, then escalated (dialogs.rules.handoff.sla_step decides which). The timers are
rows (handoffs.due_at), taken with SKIP LOCKED, so a restart fires them and two processes
never fire one twice.
"""

from __future__ import annotations

from datetime import datetime

from bot.handoff.cards import Cards
from bot.handoff.desk import Desk
from dialogs.rules.handoff import sla_step
from storage.work.uow import UnitOfWork

BATCH = 50  # hand-offs per tick


class Timers:
    def __init__(self, desk: Desk, cards: Cards) -> None:
        self.desk, self.cards = desk, cards

    async def tick(self, uow: UnitOfWork, now: datetime) -> int:
        """Leads whose SLA step is due: reminded, escalated or let be. Returns how many."""
        desk = self.desk
        w, escalation = desk.words, desk.config.escalation_chat_id
        due = await uow.handoffs.due(now, BATCH)
        for handoff in due:
            minutes = int((now - handoff.submitted_at).total_seconds() // 60)
            step = sla_step(reminded=handoff.reminded_at is not None,
                            escalated=handoff.escalated_at is not None,
                            escalation_chat=bool(escalation))
            if step == "remind":
                handoff.reminded_at = now
                handoff.due_at = desk.due(now, handoff.temperature)
                self.cards.repost(uow, handoff, handoff.chat_id,
                                  w["reminder"].format(minutes=minutes))
                desk.event(uow, handoff, "sla_reminder", now, minutes=minutes)
            elif step == "escalate" and escalation:
                handoff.escalated_at, handoff.due_at = now, None
                self.cards.repost(uow, handoff, escalation,
                                  w["escalated"].format(minutes=minutes))
                desk.event(uow, handoff, "sla_escalated", now, minutes=minutes)
            else:
                handoff.due_at = None
        return len(due)
