"""Reading a spend file: amounts as people write them, days and months, the delimiters
Excel writes, a BOM, and every problem named by its row."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from dialogs.rules.money import (
    MAX_BYTES,
    MAX_PROBLEMS,
    MoneyError,
    amount,
    money,
    read_spend,
    romi,
    span,
    spread,
)


@pytest.mark.parametrize(("text", "hundredths"), [
    ("1234.50", 123450), ("1 234,50", 123450), ("1234,5", 123450), ("12345", 1234500),
    ("1\u00a0234\u00a0567,89", 123456789), ("0", 0), (" 7.05 ", 705), ("1'000", 100000),
])
def test_amounts_as_people_write_them(text, hundredths):
    assert amount(text) == hundredths


@pytest.mark.parametrize(("text", "why"), [
    ("-5", "negative"), ("abc", "not an amount"), ("1,234.50", "not an amount"),
    ("12.345", "not an amount"), ("", "not an amount"), ("1e5", "not an amount"),
    ("99999999999", "too large"), ("NaN", "not an amount"),
])
def test_amounts_refused(text, why):
    with pytest.raises(MoneyError, match=why):
        amount(text)


def test_days_and_months():
    assert span("2026-11-03") == (date(2026, 11, 3), date(2026, 11, 3))
    assert span("2026-11") == (date(2026, 11, 1), date(2026, 11, 30))
    assert span("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert span("03.11.2026") == (date(2026, 11, 3), date(2026, 11, 3))  # Russian Excel
    assert span("11.2026") == (date(2026, 11, 1), date(2026, 11, 30))
    for bad in ("2026-13", "31.11.2026", "13.2026", "3.11.2026", "2026-11-31", "november"):
        with pytest.raises(MoneyError, match="not a day or a month"):
            span(bad)


@pytest.mark.parametrize("data", [
    b"date,source,campaign,amount\n2026-11-03,vk,spring,1234.50\n2026-11,ig,,500\n",
    "\ufeffdate;source;campaign;amount\n2026-11-03;vk;spring;1 234,50\n2026-11;ig;;500\n"
    .encode(),
    b"Amount,Date,Source,Campaign\r\n1234.5,2026-11-03,vk,spring\r\n500,2026-11,ig,\r\n\r\n",
])
def test_a_file_read_whatever_its_dialect(data):
    rows, problems = read_spend(data, "RUB")
    assert problems == []
    assert [(r.row, r.first_day, r.last_day, r.source, r.campaign, r.amount) for r in rows] == [
        (2, date(2026, 11, 3), date(2026, 11, 3), "vk", "spring", 123450, ),
        (3, date(2026, 11, 1), date(2026, 11, 30), "ig", None, 50000)]


def test_the_currency_column():
    rows, problems = read_spend(b"date,source,amount,currency\n2026-11-03,vk,1,rub\n"
                                b"2026-11-04,vk,1,\n", "RUB")
    assert problems == [] and [r.currency for r in rows] == ["RUB", "RUB"]
    rows, problems = read_spend(b"date,source,amount,currency\n2026-11-03,vk,1,USD\n", "RUB")
    assert rows == []
    assert problems == ["row 2: currency USD: this installation counts in RUB "
                        "(LEADBOT_CURRENCY); convert the amount first"]


def test_bad_rows_each_named_and_nothing_returned():
    rows, problems = read_spend(
        b"date,source,amount\n2026-11-03,vk,1\n2026-11-32,vk,1\n2026-11-03,,1\n"
        b"2026-11-03,vk,-1\n2026-11-03,vk\n", "RUB")
    assert rows == []
    assert [p.split(":")[0] for p in problems] == ["row 3", "row 4", "row 5", "row 6"]


def test_at_most_ten_lines():
    body = b"".join(b"2026-11-03,vk,x\n" for _ in range(25))
    _, problems = read_spend(b"date,source,amount\n" + body, "RUB")
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == "... and 15 more bad row(s)"


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "the file is empty"),
    (b"date,amount\n2026-11-03,1\n", "row 1: the columns are date, amount"),
    (b"date,source,amount,clicks\n", "unknown: clicks"),
    (b"date,source,amount\n", "no rows under its header"),
    (b"\xff\xfed\x00a\x00", "not UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
    (b"date,source,amount\n\x00\x00\x00", "binary"),
    (b"x" * (MAX_BYTES + 1), "at most"),
])
def test_files_that_are_not_spend(data, problem):
    rows, problems = read_spend(data, "RUB")
    assert rows == [] and len(problems) == 1 and problem in problems[0]


def test_spread_and_romi():
    november = (date(2026, 11, 1), date(2026, 11, 30))
    assert spread(3000, *november, date(2026, 11, 1), date(2026, 11, 10)) == 1000
    assert spread(100, *november, date(2026, 10, 1), date(2026, 10, 31)) == 0
    assert spread(100, *november, date(2026, 11, 30), date(2026, 12, 5)) == Fraction(10, 3)
    assert romi(300, 100) == 200.0 and romi(0, 100) == -100.0 and romi(5, 0) is None
    assert money(123456789, "RUB") == "1,234,567.89 RUB" and money(Fraction(1, 3)) == "0.00"


@pytest.mark.parametrize(("data", "said"), [
    (b"date,source,amount\r2026-11-01,vk,1\r2026-11-02,vk,2\r", None),  # old Mac ends
    (b"date,source,amount\n2026-11-01,vk,\"" + b"1" * 200_000 + b"\"\n",
     "the file cannot be read as CSV near line 2: a cell is longer than 131,072 characters"),
])
def test_a_csv_the_csv_module_cannot_read_is_a_problem_not_a_traceback(data, said):
    """`leadbot spend import` printed a traceback (_csv.Error) and the dashboard's upload
    answered 500: read_spend let csv.Error out."""
    rows, problems = read_spend(data, "RUB")
    if said is None:
        assert problems == [] and [r.amount for r in rows] == [100, 200]
    else:
        assert rows == [] and problems == [said]


def test_days_before_2000_or_over_a_year_ahead_are_typos():
    today = date(2026, 12, 3)
    rows, problems = read_spend(b"date,source,amount\n2026-12-01,vk,1\n1926-12-05,vk,1\n"
                                b"2027-12-05,vk,1\n2027-12,vk,1\n2027-12-04,vk,1\n", "RUB",
                                today)
    assert rows == [] and [p.split(":")[0] for p in problems] == ["row 3", "row 4", "row 5"]
    assert problems[0] == ("row 3: '1926-12-05': a day before 2000-01-01 or after "
                           "2027-12-04 is a typo, not spend")


def test_a_month_and_its_day_of_one_pair_in_one_file_are_refused():
    rows, problems = read_spend(
        b"date,source,campaign,amount\n11.2026,vk,spring,3000\n03.11.2026,vk,spring,100\n"
        b"03.11.2026,vk,autumn,100\n2026-12-01,vk,spring,1\n2026-11-03,vk,spring,5\n",
        "RUB", date(2026, 12, 3))
    assert rows == []
    assert problems == [
        "row 3: vk / spring: the month of row 2 (2026-11) and the day of row 3 (2026-11-03) "
        "overlap: give the month's days or the month, not both",
        "row 6: vk / spring: the month of row 2 (2026-11) and the day of row 6 (2026-11-03) "
        "overlap: give the month's days or the month, not both"]


def test_a_source_with_a_trailing_newline_is_not_a_source():
    """`$` matches before a final newline: "vk\\n" passed, and its spend stood apart from
    vk's (the tracking links' checks had the same hole)."""
    from dialogs.rules.money import SOURCE

    assert SOURCE.match("vk") and not SOURCE.match("vk\n") and not SOURCE.match("vk\n\n")
