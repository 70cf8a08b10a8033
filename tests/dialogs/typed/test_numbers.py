"""Numbers as people type them (dialogs/rules/validators.py, dialogs/typed/numbers.py)."""

from __future__ import annotations

import pytest

from dialogs.rules.validators import Ambiguous, parse_number, parse_range
from dialogs.typed.numbers import numbers_in, ordinal


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("1.5k", "en", 1500.0),
    ("2k", "en", 2000.0),
    ("150к", "ru", 150000.0),
    ("1,5 тыс", "ru", 1500.0),
    ("1,5 тыс.", "ru", 1500.0),
    ("10тыс", "ru", 10000.0),
    ("полтора", "ru", 1.5),
    ("півтора", "uk", 1.5),
    ("два с половиной", "ru", 2.5),
    ("one and a half", "en", 1.5),
    ("пятьдесят", "ru", 50.0),
    ("п'ятдесят", "uk", 50.0),
    ("fifty", "en", 50.0),
    ("two hundred fifty", "en", 250.0),
    ("двісті п'ятдесят", "uk", 250.0),
    ("сто тысяч", "ru", 100000.0),
    ("a thousand", "en", 1000.0),
    ("пятьдесят метров", "ru", 50.0),
    ("два с половиной миллиона", "ru", 2500000.0),
    ("1 000", "ru", 1000.0),
    ("1,000", "en", 1000.0),
    ("1,000", "ru", Ambiguous(1000.0, 1.0)),
    ("много", "ru", None),
    ("hello there", "en", None),
])
def test_parse_number_reads_words_and_shorthands(text, language, expected):
    assert parse_number(text, language) == expected


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("от 50 до 70", "ru", (50.0, 70.0)),
    ("від 50 до 70 м2", "uk", (50.0, 70.0)),
    ("50-70", "en", (50.0, 70.0)),
    ("50 - 70", "en", (50.0, 70.0)),
    ("50–70 м²", "ru", (50.0, 70.0)),
    ("50 to 70", "en", (50.0, 70.0)),
    ("between 50 and 70", "en", (50.0, 70.0)),
    ("с 50 по 70", "ru", (50.0, 70.0)),
    ("70-50", "en", (50.0, 70.0)),
    ("from 1,000 to 2,000", "en", (1000.0, 2000.0)),
    ("от пятидесяти до семидесяти", "ru", (50.0, 70.0)),
    ("1.5k-2k", "en", (1500.0, 2000.0)),
    ("-3", "en", None),
    ("50", "en", None),
    ("5-", "en", None),
    ("от 2,500 до 3,000", "ru", None),  # each end could be read two ways: not guessed
])
def test_parse_range(text, language, expected):
    assert parse_range(text, language) == expected


@pytest.mark.parametrize(("word", "language", "expected"), [
    ("третью", "ru", 3), ("третю", "uk", 3), ("2nd", "en", 2), ("3й", "ru", 3),
    ("first", "en", 1), ("последний", "ru", -1), ("last", "en", -1), ("стол", "ru", None),
])
def test_ordinals(word, language, expected):
    assert ordinal(word, language) == expected


def test_numbers_in_text():
    assert numbers_in("две комнаты и 3,5 метра", "ru") == (2.0, 3.5)
    assert numbers_in("the large one", "en") == ()
