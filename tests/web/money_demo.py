"""Money on top of tests/web/demo.py's history, for the Money page's browser test and its
screenshot (docs/money.png): a campaign on each conversation from a source, sales on the
leads whose hand-off was won (an amount on most), clicks, and daily spend per source and
campaign over the demo's days (youtube none: its cost columns say so). Deterministic."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.schema.money import Click, Spend
from storage.schema.tables import Conversation, Handoff, Lead

CAMPAIGNS = {"instagram": ("reels", "stories"), "vk": ("retarget", "lookalike"),
             "youtube": ("review",)}


async def fill_money(sessions, now: datetime | None = None, days: int = 10,
                     seed: int = 23) -> None:
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    async with sessions() as session, session.begin():
        conversations = (await session.execute(select(Conversation))).scalars().all()
        for c in conversations:
            if c.source in CAMPAIGNS:
                c.campaign = rng.choice(CAMPAIGNS[c.source])
                for _ in range(rng.choice((1, 2, 3))):
                    session.add(Click(token=f"d{len(session.new)}x{c.id}", link=c.source,
                                      flow_id=c.flow_id, source=c.source, campaign=c.campaign,
                                      created_at=c.started_at - timedelta(minutes=3)))
        won = set((await session.execute(
            select(Handoff.lead_id).where(Handoff.status == "won"))).scalars())
        for lead in (await session.execute(select(Lead))).scalars():
            by = next(c for c in conversations if c.id == lead.conversation_id)
            lead.campaign = by.campaign
            if lead.id in won:
                lead.status = "won"
                lead.won_at = lead.created_at + timedelta(hours=rng.randrange(6, 200))
                if rng.random() < 0.85:
                    lead.amount, lead.currency = rng.randrange(400, 2500) * 10_000, "RUB"
        for day in range(days + 1):
            on = (now - timedelta(days=day)).date()
            for source in ("instagram", "vk"):
                for campaign in CAMPAIGNS[source]:
                    session.add(Spend(first_day=on, last_day=on, source=source,
                                      campaign=campaign, amount=rng.randrange(800, 3000) * 100,
                                      currency="RUB", origin="demo"))
