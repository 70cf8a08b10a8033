"""A hand-built history for the money report, on whichever database is given.

Moscow time (UTC+3); the report asks for 2026-11-01 .. 2026-11-10.

Spend: vk 30,000.00 for the whole of November (1,000 a day: 10,000.00 in the period); ig
500.00 on 11-02 and 999.00 on 10-31 (outside); ads / spring 100.00 on 11-03.

- u1 vk 11-02: hot lead, handed off, won three days after the lead, 50,000.00.
- u2 vk 11-03: warm lead, won (status), no amount yet.
- u3 vk 11-04: no lead.  u9 vk 11-02, flow `other`: no lead.
- u4 ig 11-02: cold lead.  u5 ig 2026-10-31 21:30 UTC = 11-01 00:30 Moscow: in, no lead.
- u6 ig 2026-10-31 20:30 UTC = 10-31 23:30 Moscow: outside the period.
- u7 no source 11-05: hot lead won a day later, 1,000.00.
- u8 tg (no spend) 11-03: hot lead won two days later, 200.00.
Clicks: vk three in the period (11-02, 11-02, 11-03) and one on 10-30; ig one on 11-02.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage.schema.money import Click, Spend
from storage.schema.tables import Conversation, Handoff, Lead, Prospect

SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 10)
ZONE = "Europe/Moscow"


def at(day: int, hour: int = 9, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


async def build(session) -> None:
    session.add_all([
        Spend(first_day=date(2026, 11, 1), last_day=date(2026, 11, 30), source="vk",
              amount=3_000_000, currency="RUB", origin="test"),
        Spend(first_day=date(2026, 11, 2), last_day=date(2026, 11, 2), source="ig",
              amount=50_000, currency="RUB", origin="test"),
        Spend(first_day=date(2026, 10, 31), last_day=date(2026, 10, 31), source="ig",
              amount=99_900, currency="RUB", origin="test"),
        Spend(first_day=date(2026, 11, 3), last_day=date(2026, 11, 3), source="ads",
              campaign="spring", amount=10_000, currency="RUB", origin="test")])
    for n, (source, day) in enumerate([("vk", at(2)), ("vk", at(2, 10)), ("vk", at(3)),
                                       ("vk", at(30, month=10)), ("ig", at(2))]):
        session.add(Click(token=f"t{n}", link=source, flow_id="quiz", source=source,
                          created_at=day))
    people = {1: ("vk", at(2)), 2: ("vk", at(3)), 3: ("vk", at(4)), 4: ("ig", at(2)),
              5: ("ig", datetime(2026, 10, 31, 21, 30, tzinfo=UTC)),
              6: ("ig", datetime(2026, 10, 31, 20, 30, tzinfo=UTC)), 7: (None, at(5)),
              8: ("tg", at(3)), 9: ("vk", at(2))}
    conversations = {}
    for user, (source, started) in people.items():
        session.add(Prospect(user_id=user, chat_id=user, language="ru"))
        await session.flush()
        c = Conversation(user_id=user, chat_id=user, flow_id="other" if user == 9 else "quiz",
                         flow_version=1, step="intro", source=source, started_at=started,
                         updated_at=started)
        session.add(c)
        await session.flush()
        conversations[user] = c
    for user, temperature, status, won_after, amount in [
            (1, "hot", "won", 3, 5_000_000), (2, "warm", "won", None, None),
            (4, "cold", "closed", None, None), (7, "hot", "won", 1, 100_000),
            (8, "hot", "won", 2, 20_000)]:
        c = conversations[user]
        c.progress = {"contact": True}  # a lead is someone who left a contact
        lead = Lead(conversation_id=c.id, user_id=user, flow_id=c.flow_id, flow_version=1,
                    source=c.source, temperature=temperature, status=status,
                    outcome="handoff" if user == 1 else "close", created_at=c.started_at,
                    won_at=None if won_after is None else c.started_at + timedelta(
                        days=won_after), amount=amount, currency="RUB" if amount else None)
        session.add(lead)
        await session.flush()
        if user == 1:
            session.add(Handoff(lead_id=lead.id, conversation_id=c.id, user_id=user,
                                chat_id=-100, temperature="hot", language="ru",
                                submitted_at=c.started_at, created_at=c.started_at,
                                status="won", status_at=c.started_at))
    await session.flush()
