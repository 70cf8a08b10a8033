"""The marketer's funnel of what the real bot recorded: prospects through the shipped kitchen
quiz over the fake Bot API, then the report's function (what `leadbot report` prints and the
dashboard shows) counts them — the progress the bot kept, not a hand-built history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.reports.funnel import funnels
from storage.reports.period import FunnelQuery

QUIZ = ("Start", "In the city", "With an island", "Over 5 metres", "Veneer or solid wood",
        "Built-in appliances", "✅ Done", "Within a month", "I agree", "No, thanks")


async def test_the_funnel_counts_what_prospects_did_in_the_bot(running_on_both):
    running = running_on_both
    # a hot lead from instagram, who later starts the quiz again: one person
    hot = running.prospect(701, "en")
    await hot.start("kitchen-quiz__instagram")
    for label in QUIZ:
        await hot.tap(label)
    await hot.send("Olivia")
    await hot.share_contact("+79161234567")
    await hot.start("kitchen-quiz__instagram")
    # from vk: answers the first question, goes back, answers it again, leaves
    back = running.prospect(702, "en")
    await back.start("kitchen-quiz__vk")
    await back.tap("Start")
    await back.tap("In the city")
    await back.tap(option="~back")
    await back.tap("In the city")
    # no source: reads the opening and leaves
    await running.prospect(703, "uk").start("kitchen-quiz")

    today = datetime.now(UTC).date()
    query = FunnelQuery("kitchen-quiz", today - timedelta(days=1), today + timedelta(days=1))
    async with running.app.sessions() as session:
        everyone, by_source = await funnels(session, query, [None, "source"])
    [group] = everyone["groups"]
    steps = {s["step"]: (s["reached"], s["answered"]) for s in group["steps"]}
    assert group["started"] == 3
    assert steps["intro"][0] == 3
    assert steps["location"] == (2, 2)  # answered twice by one of them: counted once
    assert steps["layout"] == (2, 1)  # the one who went back saw it twice, answered never
    assert steps["consent"] == (1, 1) and steps["contact"] == (1, 1)
    assert group["consent"] == {"given": 1, "declined": 0} and group["contact"] == 1
    assert (group["leads"], group["temperature"]["hot"]) == (1, 1)
    assert {g["group"]: g["started"] for g in by_source["groups"]} == {
        "instagram": 1, "vk": 1, "—": 1}
