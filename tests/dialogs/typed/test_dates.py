"""parse_when: a time typed in words, read against a fixed today (Friday 4 Dec 2026)."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs.typed.dates import parse_when

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("в марте", "ru", date(2027, 3, 1)),
    ("у березні", "uk", date(2027, 3, 1)),
    ("in March", "en", date(2027, 3, 1)),
    ("в декабре", "ru", TODAY),
    ("через месяц", "ru", date(2027, 1, 4)),
    ("in a month", "en", date(2027, 1, 4)),
    ("через три месяца", "ru", date(2027, 3, 4)),
    ("через 2 недели", "ru", date(2026, 12, 18)),
    ("in three weeks", "en", date(2026, 12, 25)),
    ("весной", "ru", date(2027, 3, 1)),
    ("навесні", "uk", date(2027, 3, 1)),
    ("next month", "en", date(2027, 1, 1)),
    ("в следующем месяце", "ru", date(2027, 1, 1)),
    ("наступного місяця", "uk", date(2027, 1, 1)),
    ("завтра", "ru", date(2026, 12, 5)),
    ("this month", "en", TODAY),
    ("next year", "en", date(2027, 1, 1)),
    ("не знаю", "ru", None),
    ("", "en", None),
])
def test_parse_when(text, language, expected):
    assert parse_when(text, language, TODAY) == expected
