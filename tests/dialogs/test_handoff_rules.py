"""The hand-off decisions as tables: each row a case a sales team would recognise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialogs.rules.handoff import (
    NEXT_STATUS,
    STATUSES,
    Assignment,
    hands_off,
    may_follow_up,
    pick_manager,
    sla_due,
    sla_step,
    status_step,
)
from dialogs.rules.hours import WorkingHours


@pytest.mark.parametrize(("outcome", "temperature", "also", "consented", "expected"), [
    ("handoff", "hot", (), True, True),
    ("nurture", "warm", (), True, False),
    ("nurture", "warm", ("warm",), True, True),  # LEADBOT_HANDOFF_ALSO=warm
    ("handoff", "hot", (), False, False),  # declined consent: never a card
    ("close", "warm", ("warm",), False, False),  # ... whatever the setting says
    (None, None, ("hot",), True, False),
])
def test_whether_a_lead_is_handed_off(outcome, temperature, also, consented, expected):
    assert hands_off(outcome=outcome, temperature=temperature, also=also,
                     consented=consented) is expected


@pytest.mark.parametrize(("current", "new", "reason", "expected"), [
    ("claimed", "contacted", None, "set"),
    ("claimed", "won", None, "set"),
    ("claimed", "lost", None, "ask_reason"),  # lost needs a reason
    ("contacted", "lost", "price", "set"),
    ("contacted", "contacted", None, "not_now"),  # already so
    ("won", "contacted", None, "not_now"),
    ("won", "lost", "other", "set"),  # the deal fell through
    ("lost", "nurture", None, "set"),
    ("new", "contacted", None, "not_now"),  # nobody claimed it yet
    ("claimed", "archived", None, "unknown"),
    ("claimed", "lost", "bored", "unknown"),
    ("claimed", "won", "price", "unknown"),  # a reason only goes with lost
])
def test_which_status_may_follow_which(current, new, reason, expected):
    assert status_step(current, new, reason) == expected


def test_every_status_can_be_reached_from_a_claim_and_none_is_a_dead_end():
    assert NEXT_STATUS["claimed"] == frozenset(STATUSES)
    assert all(NEXT_STATUS[status] for status in STATUSES)


@pytest.mark.parametrize(("reminded", "escalated", "escalation_chat", "expected"), [
    (False, False, True, "remind"),
    (False, False, False, "remind"),
    (True, False, True, "escalate"),
    (True, False, False, "stop"),  # nowhere to escalate to
    (True, True, True, "stop"),
])
def test_the_sla_timers_next_step(reminded, escalated, escalation_chat, expected):
    assert sla_step(reminded=reminded, escalated=escalated,
                    escalation_chat=escalation_chat) == expected


def test_the_sla_clock_starts_at_opening_outside_working_hours():
    hours = WorkingHours.parse("mon-fri 09:00-19:00", "UTC")
    friday_night = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    minutes = {"hot": 5}
    assert sla_due(friday_night, "hot", minutes, None) == friday_night + timedelta(minutes=5)
    assert sla_due(friday_night, "hot", minutes, hours) == datetime(
        2026, 11, 23, 9, 5, tzinfo=UTC)
    assert sla_due(friday_night, "tepid", minutes, None) == friday_night + timedelta(
        minutes=30)


MANAGERS = ("anna", "boris", "vera")
IDS = (1, 2, 3)


@pytest.mark.parametrize(("policy", "known", "expected"), [
    ("round_robin", Assignment(), "anna"),
    ("round_robin", Assignment(last_assigned=1), "boris"),
    ("round_robin", Assignment(last_assigned=3), "anna"),  # wraps around
    ("round_robin", Assignment(last_assigned=99), "anna"),  # left the route
    ("least_loaded", Assignment(loads={1: 2, 2: 0, 3: 1}), "boris"),
    ("least_loaded", Assignment(loads={1: 1, 2: 1, 3: 1}), "anna"),  # a tie: listed first
    ("least_loaded", Assignment(loads={1: 3, 2: 4}), "vera"),  # no leads in hand at all
])
def test_picking_a_manager(policy, known, expected):
    assert pick_manager(policy, MANAGERS, IDS, known) == expected


def test_picking_among_nobody_or_by_an_unknown_policy_is_a_bug():
    with pytest.raises(ValueError, match="give each with its id"):
        pick_manager("round_robin", (), (), Assignment())
    with pytest.raises(ValueError, match="unknown assignment policy"):
        pick_manager("random", MANAGERS, IDS, Assignment())


@pytest.mark.parametrize(("marketing", "consents", "blocked", "expected"), [
    (False, {"processing"}, False, True),
    (True, {"processing"}, False, False),  # no opt-in to marketing
    (True, {"processing", "marketing"}, False, True),
    (True, {"processing", "marketing"}, True, False),  # blocked the bot
    (False, set(), False, False),  # consent withdrawn (/forget)
])
def test_whether_a_follow_up_may_go_out(marketing, consents, blocked, expected):
    assert may_follow_up(marketing=marketing, consents=consents, blocked=blocked) is expected
