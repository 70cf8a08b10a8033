"""Nurture's pure parts: quiet hours, the weekly cap, stale rows, stop conditions, time
zones, and the linter's checks of a flow's sequences."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogs.rules.nurture import (
    cap_until,
    is_stale,
    parse_quiet,
    quiet_until,
    stop_reason,
    zone_for,
)
from tests.dialogs.flowkit import t
from tests.dialogs.test_linter import refuse

MOSCOW = ZoneInfo("Europe/Moscow")
NIGHT = (time(21), time(9))


@pytest.mark.parametrize("utc_hour, minute, until", [
    (17, 59, None),  # 20:59 Moscow: still the day
    (18, 0, datetime(2026, 3, 3, 6, tzinfo=UTC)),  # 21:00: the next morning, 09:00
    (23, 30, datetime(2026, 3, 3, 6, tzinfo=UTC)),  # 02:30 the next day, local
    (5, 59, datetime(2026, 3, 2, 6, tzinfo=UTC)),  # 08:59: the same morning
    (6, 0, None),
])
def test_quiet_hours_end_at_nine_local_time(utc_hour, minute, until):
    now = datetime(2026, 3, 2, utc_hour, minute, tzinfo=UTC)
    if utc_hour == 23:
        until = datetime(2026, 3, 3, 6, tzinfo=UTC)
    assert quiet_until(now, MOSCOW, NIGHT) == until


def test_quiet_hours_within_a_day_and_off():
    lunch = (time(13), time(14))
    assert quiet_until(datetime(2026, 3, 2, 13, 30, tzinfo=UTC), ZoneInfo("UTC"), lunch) == (
        datetime(2026, 3, 2, 14, tzinfo=UTC))
    assert quiet_until(datetime(2026, 3, 2, 23, tzinfo=UTC), MOSCOW, None) is None
    assert parse_quiet("off") is None and parse_quiet("22:30-8:00") == (time(22, 30), time(8))
    for bad in ("9-21", "25:00-09:00", "evening"):
        with pytest.raises(ValueError):
            parse_quiet(bad)


def test_the_cap_counts_the_last_seven_days():
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    sent = [now - timedelta(days=8), now - timedelta(days=6), now - timedelta(days=1)]
    assert cap_until(sent, now, 3) is None
    assert cap_until(sent, now, 2) == now + timedelta(days=1)  # the one 6 days ago leaves
    assert cap_until(sent, now, 1) == now + timedelta(days=6)
    assert cap_until(sent, now, 0) is None  # no cap


def test_stale_and_zones():
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert is_stale(now - timedelta(hours=13), now, timedelta(hours=12))
    assert not is_stale(now - timedelta(hours=11), now, timedelta(hours=12))
    assert not is_stale(now - timedelta(days=99), now, timedelta(0))  # 0: never dropped
    assert zone_for(flow_zone=None, default=None, language="uk").key == "Europe/Kyiv"
    assert zone_for(flow_zone=None, default="Asia/Almaty", language="ru").key == "Asia/Almaty"
    assert zone_for(flow_zone="Europe/Riga", default="Asia/Almaty", language="ru").key == (
        "Europe/Riga")
    assert zone_for(flow_zone=None, default=None, language="de").key == "UTC"


@pytest.mark.parametrize("changes, reason", [
    ({}, None),
    ({"blocked": True}, "blocked"),
    ({"latest": False}, "restarted"),
    ({"consents": {"processing"}}, "consent"),  # /stop withdrew the opt-in
    ({"handoff_status": "claimed"}, "claimed"),
    ({"handoff_status": "won"}, "won"),
    ({"handoff_status": "lost"}, "lost"),
    ({"handoff_status": "new"}, "handed_off"),
    ({"handoff_status": "nurture"}, None),  # a manager sent it back to nurture
])
def test_what_stops_a_sequence(changes, reason):
    facts = {"kind": "sequence", "marketing": True, "consents": {"processing", "marketing"},
             "blocked": False, "handoff_status": None, "latest": True, "finished": True}
    assert stop_reason(**(facts | changes)) == reason


def test_the_reminder_needs_no_consent_but_an_unfinished_quiz():
    facts = {"kind": "reminder", "marketing": False, "consents": set(), "blocked": False,
             "handoff_status": None, "latest": True, "finished": False}
    assert stop_reason(**facts) is None
    assert stop_reason(**(facts | {"finished": True})) == "finished"
    assert stop_reason(**(facts | {"blocked": True})) == "blocked"


def sequence(**message) -> dict:
    return {"sequences": [{"id": "warm", "messages": [
        {"id": "hello", "after": "2d", "text": t("Hello"), **message}]}]}


def test_the_linter_checks_a_sequence(write_flow, flow_data):
    flow_data["nurture"] = sequence(question=[{"id": "now", "text": {"en": "Now"}}])
    refuse(write_flow, flow_data, r"question\[0\]\.text': missing translation for 'ru'")
    flow_data["nurture"] = sequence(after="2 days")
    refuse(write_flow, flow_data, r"write a duration like 30m, 2h, 3d or 1w")
    flow_data["nurture"] = sequence(file={"text": t("PDF"), "file": "files/nowhere.pdf"})
    refuse(write_flow, flow_data, r"file 'files/nowhere.pdf' not found next to the flow")
    flow_data["nurture"] = sequence(id="ask")
    refuse(write_flow, flow_data, r"duplicate message id 'ask'")
    flow_data["nurture"] = sequence(question=[{"id": "now", "text": t("Now")},
                                              {"id": "now", "text": t("Again")}])
    refuse(write_flow, flow_data, r"duplicate option id 'now'")
    flow_data["nurture"] = {**sequence(), "quiet_hours": "21:00-09:00",
                            "timezone": "Mars/Olympus"}
    refuse(write_flow, flow_data, r"unknown time zone 'Mars/Olympus'")
    flow_data["nurture"] = sequence(link={"text": t("Site"), "url": "ftp://x"})
    refuse(write_flow, flow_data, r"link")
    flow_data["nurture"] = {"sequences": [{"id": "w", "when": "tags has 'x'", "messages": [
        {"id": "hello", "after": "2d", "text": t("Hello")}]}]}
    refuse(write_flow, flow_data, r"when")


def test_a_valid_sequence_loads(make_flow, flow_data):
    flow_data["nurture"] = {**sequence(question=[{"id": "now", "text": t("Now"), "score": 5,
                                                  "tags": ["ready"]}]),
                            "reminder": {"after": "4h", "text": t("Come back")},
                            "quiet_hours": "22:00-08:00", "timezone": "Europe/Kyiv"}
    flow = make_flow(flow_data)
    assert [m.id for s in flow.sequences for m in s.messages] == ["hello"]
    assert flow.nurture.reminder.delay_seconds == 4 * 3600
