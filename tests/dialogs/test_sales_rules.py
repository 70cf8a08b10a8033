"""Sales back from the CRM, the pure rules: which CRM status may follow leadbot's, what a
CRM's stage means, and an amount in hundredths (dialogs/rules/sales.py)."""

from __future__ import annotations

import pytest

from dialogs.rules.crm import Bitrix24Mapping
from dialogs.rules.sales import (
    MAX_AMOUNT,
    Said,
    amocrm_final,
    amount_of,
    bitrix24_final,
    echoed,
    estimate_of,
    follow,
    stage_status,
)

BITRIX = dict(Bitrix24Mapping().statuses)


@pytest.mark.parametrize(("current", "new", "decision"), [
    ("open", "won", "apply"),  # a sale recorded in the CRM, never worked in Telegram
    ("closed", "lost", "apply"),
    ("handoff", "contacted", "apply"),
    ("claimed", "won", "apply"),
    ("claimed", "nurture", "apply"),
    ("contacted", "meeting", "apply"),
    ("meeting", "won", "apply"),
    ("won", "lost", "apply"),  # the deal fell through
    ("won", "won", "same"),  # a repeat, or leadbot's own update coming back
    ("lost", "lost", "same"),
    ("lost", "won", "kept"),  # not without reopening it first
    ("won", "contacted", "kept"),
    ("contacted", "contacted", "same"),
])
def test_which_crm_status_may_follow(current, new, decision):
    assert follow(current, Said(new, new), amount_now=None, currency="RUB")[0] == decision


@pytest.mark.parametrize(("said", "amount_now", "expected"), [
    (Said("won", "S", 15000000, "RUB"), 15000000, ("same", "")),
    (Said("won", "S", 16000000, "RUB"), 15000000, ("apply", "amount")),
    (Said("won", "S", 16000000, "USD"), 15000000, ("kept", "currency")),
    (Said("won", "S", None, "USD"), None, ("same", "")),  # no amount: no currency question
    (Said(None, "UC_CUSTOM"), None, ("kept", "unknown_stage")),
])
def test_amounts_currencies_and_unknown_stages(said, amount_now, expected):
    assert follow("won", said, amount_now=amount_now, currency="RUB") == expected


@pytest.mark.parametrize(("final", "stage", "current", "own", "expected"), [
    ("won", "CONVERTED", "claimed", (), "won"),
    ("lost", "JUNK", "won", (), "lost"),
    (None, "IN_PROCESS", "claimed", (), "claimed"),  # leadbot's own update: no news
    (None, "IN_PROCESS", "meeting", (), "meeting"),
    (None, "IN_PROCESS", "handoff", (), "contacted"),  # the earliest a CRM may set
    (None, "NEW", "handoff", ("NEW",), "handoff"),  # the stage by temperature: no news
    (None, "UC_CUSTOM", "claimed", ("NEW",), None),
])
def test_a_stage_in_leadbots_words(final, stage, current, own, expected):
    assert stage_status(final, stage, current, BITRIX, own) == expected


def test_final_stages_of_each_crm():
    assert [bitrix24_final(s) for s in ("S", "F", "P", None, 1)] == [
        "won", "lost", None, None, None]
    assert [amocrm_final(s) for s in (142, 143, 61001, "142", True)] == [
        "won", "lost", None, None, None]


@pytest.mark.parametrize(("value", "hundredths"), [
    ("150000.00", 15000000), ("150000", 15000000), (150000, 15000000), ("1 500,5", 150050),
    (99.99, 9999), ("0", None), ("", None), (None, None)])
def test_amounts_in_hundredths(value, hundredths):
    assert amount_of(value) == hundredths


@pytest.mark.parametrize("value", ["-5", "1.005", "abc", "1e9", True, [1], "9" * 20,
                                   "12\x0034", 0.125, 1.005, 1e20, float("inf"),
                                   float("nan"), 10**12, "1000000000000", 1e12])
def test_what_is_not_an_amount(value):
    with pytest.raises(ValueError):
        amount_of(value)


@pytest.mark.parametrize(("said", "amount_now", "expected"), [
    (Said("won", "142", 15000100, "RUB"), 15000050, ("same", "")),  # 150,000.50 sent: 150,001
    (Said("won", "142", 15000000, "RUB"), 15000049, ("same", "")),  # 150,000.49: 150,000
    (Said("won", "142", 15000000, "RUB"), 15000050, ("apply", "amount")),
    (Said("won", "142", 16000000, "RUB"), 15000000, ("apply", "amount")),
])
def test_a_crm_keeping_whole_units_echoes_our_amount_rounded(said, amount_now, expected):
    """amoCRM keeps a price in whole units: leadbot's own sale coming back rounded is the
    same sale, not a correction that would overwrite the kopecks the manager typed."""
    assert follow("won", said, amount_now=amount_now, currency="RUB", unit=100) == expected


@pytest.mark.parametrize(("value", "hundredths"), [
    (0.1, 10), (0.12, 12), (150000.5, 15000050), (1e5, 10000000),
    (999_999_999_999.99, MAX_AMOUNT - 1), ("999999999999.99", MAX_AMOUNT - 1)])
def test_json_numbers_are_read_only_when_exact(value, hundredths):
    """0.125 is not silently 0.12: a float is an amount only if two decimals write it."""
    assert amount_of(value) == hundredths


def test_one_limit_for_a_sale_however_it_comes():
    from dialogs.rules.amounts import LIMIT, parse_amount
    assert int(LIMIT) * 100 == MAX_AMOUNT
    assert parse_amount("999999999999.99", "en") is not None
    assert parse_amount("1000000000000", "en") is None
    with pytest.raises(ValueError):
        amount_of("1000000000000")


@pytest.mark.parametrize(("said", "estimate", "unit", "amount"), [
    (Said("won", "S", 12000000), 12000000, 1, None),  # leadbot's own price: no sale
    (Said("won", "142", 12000100), 12000050, 100, None),  # amoCRM's whole units
    (Said("won", "S", 15000000), 12000000, 1, 15000000),  # a real amount
    (Said("won", "S", 12000000), None, 1, 12000000),  # no calculator: a sale
    (Said("lost", "F", 12000000), 12000000, 1, 12000000),  # not won: left alone
])
def test_leadbots_own_estimate_read_back_with_won_is_no_sale(said, estimate, unit, amount):
    assert echoed(said, estimate, unit).amount == amount


def test_the_estimate_in_hundredths():
    assert [estimate_of(v) for v in (120000, 99.99, 0.125, None, "5", True, -1)] == [
        12000000, 9999, 12, None, None, None, None]


@pytest.mark.parametrize(("current", "said", "expected"), [
    ("claimed", Said(None, "C1:PREPARATION", in_process=True), ("quiet", "unknown_stage")),
    ("won", Said("contacted", "IN_PROCESS", in_process=True), ("quiet", "cannot_follow")),
    ("lost", Said("won", "C1:WON"), ("kept", "cannot_follow")),  # final: alerted
    ("claimed", Said(None, "mystery"), ("kept", "unknown_stage")),  # the generic hook
    ("claimed", Said("won", "S", 10, "USD", in_process=False), ("kept", "currency")),
])
def test_a_stage_in_process_is_kept_quietly(current, said, expected):
    """A pipeline's every move is not an alert: only what is final and cannot follow."""
    assert follow(current, said, amount_now=None, currency="RUB") == expected
