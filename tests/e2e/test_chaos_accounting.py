"""The chaos test's bookkeeping (tests/fleet/accounting.py) on hand-made calls: which
duplicates a kill explains. Its own test because a wrong rule fails (or passes) the chaos
test for the wrong reason."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.telegram import Call
from tests.fleet.accounting import IN_FLIGHT, Report
from tests.fleet.processes import Incarnation

EDIT = {"chat_id": 100008, "message_id": 7, "text": "Your discount is 5 %"}


def report(killed_at: float | None, *calls: Call) -> Report:
    dead = Incarnation(number=3, slot=0, process=None, log=Path("i3.log"), started=0.0,
                       killed=killed_at)
    live = Incarnation(number=2, slot=1, process=None, log=Path("i2.log"), started=0.0)
    return Report(processes=2, transport="aiogram", prospects=[], calls=list(calls),
                  incarnations=[dead, live], claims={}, violations=[], database={})


def edit(at: float, via: str) -> Call:
    return Call("editMessageText", dict(EDIT), at, via=via)


def test_a_copy_after_the_sender_was_killed_is_explained():
    done = report(100.0, edit(99.5, "i3"), edit(102.0, "i2"))
    assert [d.explained for d in done.duplicates] == [True]
    assert done.in_flight == 1


def test_a_request_the_fake_read_just_after_the_kill_was_in_flight():
    # the kill's moment is taken before SIGKILL; the fake reads a request already in its
    # socket a moment later: the dead process sent it, so the kill explains the copy
    done = report(100.0, edit(100.03, "i3"), edit(102.65, "i2"))
    assert [d.explained for d in done.duplicates] == [True]
    assert done.explained_gaps() == [0.0]


def test_a_copy_long_after_a_send_is_not_explained():
    done = report(100.0, edit(100.0 - IN_FLIGHT - 1, "i3"), edit(101.0, "i2"))
    assert [d.explained for d in done.duplicates] == [False]


def test_without_a_kill_every_copy_is_a_duplicate():
    done = report(None, edit(10.0, "i3"), edit(12.0, "i2"))
    assert [d.explained for d in done.duplicates] == [False]


def test_a_copy_sent_before_the_kill_is_not_explained_by_it():
    # both copies before the kill: two sends while both processes lived
    done = report(100.0, edit(99.0, "i3"), edit(99.5, "i2"))
    assert [d.explained for d in done.duplicates] == [False]
