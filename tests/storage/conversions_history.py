"""A hand-built history of conversion rows for the conversions report, on whichever database
is given. Moscow time (UTC+3); the report asks for 2026-11-01 .. 2026-11-10.

In the period (EXPECTED, per platform, moment and goal):
- metrica hot leadbot_hot: 2 accepted (one at 2026-10-31 21:30 UTC = 11-01 00:30 Moscow),
  1 sent, 1 pending, 3 skipped (2 no_click, 1 no_consent);
- metrica hot old_hot (the goal renamed since): 1 accepted;
- metrica won leadbot_sale: 1 pending, 1 failed (HTTP 400);
- meta lead Lead: 1 accepted, 1 skipped (duplicate); meta won Purchase: 1 accepted;
- ga4 hot qualify_lead: 2 sent, 1 failed (ambiguous), 1 skipped (too_old).
Outside: a metrica accepted row at 2026-10-31 20:30 UTC (23:30 Moscow) and one at
2026-11-10 21:00 UTC (11-11 00:00 Moscow); a webhook (CRM) row in the period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.schema.tables import Conversation, CrmDelivery, Lead, Prospect

SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 10)
ZONE = "Europe/Moscow"

# (platform, moment, goal, status, error, how many)
IN = [("metrica", "hot", "leadbot_hot", "accepted", None, 2),
      ("metrica", "hot", "leadbot_hot", "sent", None, 1),
      ("metrica", "hot", "leadbot_hot", "pending", "timeout", 1),
      ("metrica", "hot", "leadbot_hot", "skipped", "no_click", 2),
      ("metrica", "hot", "leadbot_hot", "skipped", "no_consent", 1),
      ("metrica", "hot", "old_hot", "accepted", None, 1),
      ("metrica", "won", "leadbot_sale", "pending", None, 1),
      ("metrica", "won", "leadbot_sale", "failed", "HTTP 400", 1),
      ("meta", "lead", "Lead", "accepted", None, 1),
      ("meta", "lead", "Lead", "skipped", "duplicate", 1),
      ("meta", "won", "Purchase", "accepted", None, 1),
      ("ga4", "hot", "qualify_lead", "sent", None, 2),
      ("ga4", "hot", "qualify_lead", "failed", "ambiguous", 1),
      ("ga4", "hot", "qualify_lead", "skipped", "too_old", 1)]
EDGE_IN = datetime(2026, 10, 31, 21, 30, tzinfo=UTC)  # 11-01 00:30 Moscow
OUT = [datetime(2026, 10, 31, 20, 30, tzinfo=UTC), datetime(2026, 11, 10, 21, 0, tzinfo=UTC)]


def row(platform: str, moment: str, goal: str, **counts: int) -> dict:
    """A row of the expected report: counts not given are 0."""
    skipped_by = counts.pop("skipped_by", {})
    failed_by = counts.pop("failed_by", {})
    return {"platform": platform, "moment": moment, "goal": goal,
            **{s: counts.get(s, 0) for s in ("pending", "sent", "accepted", "failed",
                                              "skipped")},
            "skipped_by": skipped_by, "failed_by": failed_by}


EXPECTED = [
    row("metrica", "hot", "leadbot_hot", pending=1, sent=1, accepted=2, skipped=3,
        skipped_by={"no_click": 2, "no_consent": 1}),
    row("metrica", "hot", "old_hot", accepted=1),
    row("metrica", "won", "leadbot_sale", pending=1, failed=1, failed_by={"HTTP 400": 1}),
    row("meta", "lead", "Lead", accepted=1, skipped=1, skipped_by={"duplicate": 1}),
    row("meta", "won", "Purchase", accepted=1),
    row("ga4", "hot", "qualify_lead", sent=2, failed=1, skipped=1,
        skipped_by={"too_old": 1}, failed_by={"ambiguous": 1}),
]
TOTAL = row(None, None, None, pending=2, sent=3, accepted=5, failed=2, skipped=5,
            skipped_by={"no_click": 2, "duplicate": 1, "no_consent": 1, "too_old": 1},
            failed_by={"HTTP 400": 1, "ambiguous": 1})


async def build(session) -> None:
    leads = []
    for user in (1, 2, 3):
        started = datetime(2026, 11, user + 1, 9, tzinfo=UTC)
        session.add(Prospect(user_id=user, chat_id=user, language="ru"))
        await session.flush()
        c = Conversation(user_id=user, chat_id=user, flow_id="quiz", flow_version=1,
                         step="intro", source="vk", started_at=started, updated_at=started)
        session.add(c)
        await session.flush()
        lead = Lead(conversation_id=c.id, user_id=user, flow_id="quiz", flow_version=1,
                    source="vk", temperature="hot", created_at=started)
        session.add(lead)
        await session.flush()
        leads.append(lead.id)
    n = 0
    for platform, moment, goal, status, error, count in IN:
        for _ in range(count):
            n += 1
            at = EDGE_IN if n == 1 else datetime(2026, 11, 2 + n % 9, 12, tzinfo=UTC)
            session.add(CrmDelivery(target=platform, lead_id=leads[n % 3], event=moment,
                                    data={"goal": goal}, status=status, error=error,
                                    created_at=at, not_before=at))
    for at in OUT:
        session.add(CrmDelivery(target="metrica", lead_id=leads[0], event="hot",
                                data={"goal": "leadbot_hot"}, status="accepted",
                                created_at=at, not_before=at))
    session.add(CrmDelivery(target="webhook", lead_id=leads[0], event="qualified",
                            data={"temperature": "hot"}, status="sent",
                            created_at=datetime(2026, 11, 3, tzinfo=UTC)))
    await session.flush()
