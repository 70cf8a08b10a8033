"""Who a broadcast is for (storage/reports/segment.py), on SQLite and PostgreSQL: each filter
of the file's `segment:`, the people left out and why, each person once by their latest
matching conversation, and (a property) nobody whose latest marketing row is not a grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.reports.segment import SegmentError, recheck, segment
from tests.storage.broadcast_people import NOW, person

ZONE = "Europe/Moscow"


async def picked(sessions, filters: dict) -> set[int]:
    async with sessions() as session:
        found = await segment(session, filters, ZONE, NOW)
    return {r.user_id for r in found.recipients}


@pytest.fixture
async def crowd(sessions):
    """Ten people, each different in one way."""
    async with sessions() as session:
        await person(session, 1, answers={"layout": "island", "budget": 3})
        await person(session, 2, flow="renovation-calculator", version=2, source=None,
                     answers={"layout": "straight", "budget": 1})
        await person(session, 3, experiment="kitchen-ab", variant="b", flow="kitchen-b",
                     campaign="nov", answers={"layout": "island", "budget": 1})
        await person(session, 4, language="uk", lead={"temperature": "hot", "mql": True,
                                                      "status": "open"})
        await person(session, 5, lead={"temperature": "warm", "sql": True, "status": "open"},
                     handoff="won")
        await person(session, 6, lead={"temperature": "cold", "status": "nurture"},
                     started_at=datetime(2026, 10, 31, 21, 0, tzinfo=UTC))  # Nov 1, 0:00 in Moscow
        await person(session, 7, started_at=datetime(2026, 10, 31, 21, 0, tzinfo=UTC) -
                     timedelta(minutes=1))  # Oct 31, 23:59 in Moscow
        await person(session, 8, updated_at=datetime(2026, 11, 25, 20, 59, tzinfo=UTC),
                     started_at=datetime(2026, 11, 10, tzinfo=UTC))  # active Nov 25, 23:59
        await person(session, 9, answers={"layout": ["island", "straight"]})
        await person(session, 10, source="site", campaign="dec")
        await session.commit()
    return sessions


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, set(range(1, 11))),
    ({"flows": ["renovation-calculator"]}, {2}),
    ({"flows": ["kitchen-ab"]}, {3}),  # an experiment's name: every variant
    ({"flows": ["kitchen-b", "renovation-calculator"]}, {2, 3}),
    ({"versions": [2]}, {2}),
    ({"variants": ["a", "b"]}, {3}),
    ({"sources": ["none"]}, {2}),
    ({"sources": ["site", "none"]}, {2, 10}),
    ({"campaigns": ["nov", "dec"]}, {3, 10}),
    ({"temperatures": ["warm", "hot"]}, {4, 5}),
    ({"qualified": ["mql"]}, {4}),
    ({"qualified": ["mql", "sql"]}, {4, 5}),
    ({"statuses": ["won"]}, {5}),  # the hand-off's status wins over the lead's
    ({"statuses": ["open"]}, {4}),
    ({"not_statuses": ["won", "nurture"]}, set(range(1, 11)) - {5, 6}),
    ({"languages": ["uk"]}, {4}),
    ({"started": {"since": "2026-11-01", "until": "2026-11-10"}}, {8, 6}),
    ({"started": {"until": "2026-10-31"}}, {7}),
    ({"active": {"after": "2026-11-21"}}, {8}),
    ({"active": {"before": "2026-11-24", "after": "2026-11-01"}}, set(range(1, 11)) - {7, 8}),
    ({"answers": "layout == 'island'"}, {1, 3}),
    ({"answers": "layout == 'island' and budget >= 2"}, {1}),
    ({"answers": "answers.budget is not None and answers.budget < 2"}, {2, 3}),
    ({"answers": "'straight' in layout"}, {2, 9}),  # a multiple choice is a tuple
    ({"answers": "budget >= 2"}, {1}),  # a failing comparison (None >= 2) is no match
    ({"flows": ["kitchen-quiz"], "answers": "layout == 'island'", "languages": ["ru"]}, {1}),
])
async def test_each_filter_picks_its_people(crowd, filters, expected):
    assert await picked(crowd, filters) == expected


async def test_a_person_counts_once_by_their_latest_matching_conversation(sessions):
    async with sessions() as session:
        await person(session, 1, answers={"layout": "island"}, source="vk")
        later = await person(session, 1, answers={"layout": "straight"}, source="site",
                             consents=(), new_prospect=False)
        await session.commit()
    async with sessions() as session:
        every = await segment(session, {}, ZONE, NOW)
        island = await segment(session, {"answers": "layout == 'island'"}, ZONE, NOW)
        vk = await segment(session, {"sources": ["vk"]}, ZONE, NOW)
    assert [(r.user_id, r.conversation_id) for r in every.recipients] == [(1, later.id)]
    assert [r.conversation_id for r in island.recipients] == [later.id - 1]
    assert [r.conversation_id for r in vk.recipients] == [later.id - 1]


async def test_the_left_out_are_counted_per_reason(sessions):
    async with sessions() as session:
        await person(session, 1)
        await person(session, 2, consents=())  # never asked
        await person(session, 3, consents=(True, False))  # /stop
        await person(session, 4, consents=(True, False, True))  # agreed again: in
        await person(session, 5, blocked=True)
        await person(session, 6, erased=True, consents=(True, False))  # /forget
        await person(session, 7, blocked=True, consents=())
        await person(session, 8, lead={"name": "Ann", "phone": "+7911", "temperature": "hot"})
        await session.commit()
    async with sessions() as session:
        found = await segment(session, {}, ZONE, NOW)
        rechecked = await recheck(session, [1, 2, 3, 4, 5, 6, 7, 99])
    assert [(r.user_id, r.chat_id, r.language) for r in found.recipients] == [
        (1, 1, "ru"), (4, 4, "ru"), (8, 8, "ru")]
    assert found.recipients[2].lead_id is not None and found.recipients[0].lead_id is None
    assert found.left_out == {"no_consent": 1, "stopped": 1, "blocked": 2, "erased": 1}
    assert rechecked == {1: None, 2: "no_consent", 3: "stopped", 4: None, 5: "blocked",
                         6: "erased", 7: "blocked", 99: "erased"}


@pytest.mark.parametrize(("filters", "message"), [
    ({"flow": ["x"]}, "unknown flow"),
    ({"versions": ["three"]}, "whole numbers"),
    ({"qualified": ["hot"]}, "mql and/or sql"),
    ({"sources": []}, "empty list"),
    ({"started": {"since": "yesterday"}}, "not a date"),
    ({"started": {"since": "2026-11-02", "until": "2026-11-01"}}, "is before"),
    ({"active": "2026-11-01"}, "mapping"),
    ({"answers": "layout =="}, "cannot parse"),
])
async def test_a_bad_segment_is_refused_with_a_reason(sessions, filters, message):
    async with sessions() as session:
        with pytest.raises(SegmentError, match=message):
            await segment(session, filters, ZONE, NOW)


async def test_an_unknown_time_zone_is_refused(sessions):
    async with sessions() as session:
        with pytest.raises(SegmentError, match="time zone"):
            await segment(session, {}, "Mars/Olympus", NOW)


examples: list[None] = []
histories = st.lists(st.lists(st.sampled_from(["grant", "withdraw", "forget"]), max_size=5),
                     min_size=1, max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories=histories)
async def test_nobody_whose_latest_marketing_row_is_not_a_grant_is_a_recipient(sessions,
                                                                             histories):
    """Random ledgers (grants, withdrawals, /forget: a withdrawal and the conversation erased)
    per person, in random order: a recipient's latest marketing row is always a grant, and
    everyone else is left out with the reason their history gives."""
    examples.append(None)  # the ledger is append-only: each example's people are new
    tag, first = f"example-{len(examples)}", 1000 * len(examples)
    async with sessions() as session:
        expected: dict[int, str | None] = {}
        for user_id, history in enumerate(histories, start=first):
            rows = tuple(step == "grant" for step in history)
            forgot = "forget" in history
            await person(session, user_id, consents=rows, erased=forgot, campaign=tag)
            expected[user_id] = ("erased" if forgot else "no_consent" if not rows
                                 else None if rows[-1] else "stopped")
        await session.commit()
    async with sessions() as session:
        found = await segment(session, {"campaigns": [tag]}, ZONE, NOW)
        again = await recheck(session, list(expected))
    assert {r.user_id for r in found.recipients} == {u for u, r in expected.items() if r is None}
    for reason in ("no_consent", "stopped", "erased"):
        assert found.left_out[reason] == sum(r == reason for r in expected.values())
    assert again == expected
