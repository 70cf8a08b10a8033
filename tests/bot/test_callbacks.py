"""Every kind of button data, written and read back; forged data read as Unreadable."""

from __future__ import annotations

import pytest

from bot.service import callbacks
from bot.service.callbacks import (
    Claim,
    EndRelay,
    MenuPick,
    RightsAnswer,
    SetStatus,
    Unreadable,
    decode,
)
from dialogs.engine.events import Tap


@pytest.mark.parametrize(("data", "pressed"), [
    (callbacks.claim(42), Claim(42)),
    (callbacks.status(42, "won"), SetStatus(42, "won")),
    (callbacks.status(42, "lost", "price"), SetStatus(42, "lost", "price")),
    (callbacks.end_relay(7), EndRelay(7)),
    (callbacks.menu("kitchen-quiz"), MenuPick("kitchen-quiz")),
    (callbacks.rights("forget", "yes"), RightsAnswer("forget", "yes")),
    (callbacks.UNSUBSCRIBE, RightsAnswer("unsubscribe", "")),
    ("kitchen-quiz:3:size:small", Tap("kitchen-quiz", 3, "size", "small")),
])
def test_what_is_written_reads_back(data, pressed):
    assert decode(data) == pressed
    assert len(data.encode()) <= 64


@pytest.mark.parametrize("data", [
    "claim:2147483648",  # past PostgreSQL's integer: the database would refuse the statement
    "claim:99999999999999999999",
    "claim:0", "claim:-1", "claim:", "claim:1e3", "claim:١٢",  # Arabic-Indic digits
    "lead:2147483648:won", "lead:x:won", "lead:5", "lead:5:", "lead:5:lost:price:extra",
    "relay:end:", "relay:end:2147483648",
])
def test_ids_out_of_range_or_not_numbers_are_unreadable(data):
    assert decode(data) == Unreadable(data)


def test_data_of_nobody_is_a_tap_no_step_matches():
    assert decode("garbage") == Tap("", 0, "", "")


def test_managers_buttons_are_told_apart():
    assert callbacks.is_managers(callbacks.claim(1))
    assert callbacks.is_managers(callbacks.status(1, "won"))
    assert callbacks.is_managers(callbacks.end_relay(1))
    assert not callbacks.is_managers(callbacks.menu("x"))
    assert not callbacks.is_managers("kitchen-quiz:1:size:small")
