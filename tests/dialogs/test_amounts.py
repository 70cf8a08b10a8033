"""A sale's amount as managers type it (dialogs/rules/amounts.py): read exactly, by the
managers' language, only in the installation's currency; written back their way."""

from decimal import Decimal

import pytest

from dialogs.rules.amounts import format_amount, parse_amount, to_minor

D = Decimal


@pytest.mark.parametrize(("text", "ru", "en"), [
    ("150000", D("150000"), D("150000")),
    ("150 000", D("150000"), D("150000")),
    ("150\u00a0000", D("150000"), D("150000")),  # copied from the bot's own answer
    ("150\u202f000", D("150000"), D("150000")),
    ("1'500'000", D("1500000"), D("1500000")),
    ("  150000  ", D("150000"), D("150000")),
    ("+150000", D("150000"), D("150000")),
    ("150 000,50", D("150000.50"), None),  # the comma is decimal in ru / uk only
    ("150000,5", D("150000.5"), None),
    ("150 000.50", D("150000.50"), D("150000.50")),  # a dot is decimal everywhere
    ("150,000", D("150000"), D("150000")),  # before three digits: thousands (money: 2
    ("150.000", D("150000"), D("150000")),  # decimals at most), in every language
    ("1,500,000", D("1500000"), D("1500000")),
    ("1.500.000", D("1500000"), D("1500000")),
    ("1,500,000.50", D("1500000.50"), D("1500000.50")),  # the last separator is decimal
    ("1.500.000,50", D("1500000.50"), None),
    ("0,99", D("0.99"), None),
    ("0.99", D("0.99"), D("0.99")),
    ("150k", D("150000"), D("150000")),
    ("150 K", D("150000"), D("150000")),
    ("150к", D("150000"), D("150000")),
    ("1,5к", D("1500"), None),  # a multiplier: a lone separator is decimal (not "," in en)
    ("1.5k", D("1500"), D("1500")),
    ("1.255k", D("1255"), D("1255")),
    ("1,2 млн", D("1200000"), None),
    ("2 mln", D("2000000"), D("2000000")),
    ("1.5m", D("1500000"), D("1500000")),
    ("150 тыс.", D("150000"), D("150000")),
    ("150 тис", D("150000"), D("150000")),
    ("150 000 руб.", D("150000"), D("150000")),  # the installation's currency, named
    ("150 000 ₽", D("150000"), D("150000")),
    ("₽150000", D("150000"), D("150000")),
    ("150000 RUB", D("150000"), D("150000")),
    ("150 тыс. руб", D("150000"), D("150000")),
    ("150000 USD", None, None),  # another currency: never recorded as roubles
    ("$150000", None, None),
    ("150000 kzt", None, None),
    ("150000 грн", None, None),
    ("0", None, None),
    ("0,00", None, None),
    ("-150000", None, None),
    ("150,5555", None, None),  # more than hundredths
    ("1.234567k", None, None),  # 1234.567
    ("1000000000000", None, None),  # a trillion: a typo's zeros
    ("999999999999.99", D("999999999999.99"), D("999999999999.99")),
    ("1500 000", None, None),  # groups of three after the first
    ("15 00", None, None),
    ("150,", None, None),
    ("abc", None, None),
    ("", None, None),
    ("150 000 рублей за кухню", None, None),  # words: ask again rather than guess
    ("١٥٠", None, None),  # digits of another script
    ("1" * 70, None, None),
    ("about 150000", None, None),
])
def test_parse_amount(text, ru, en):
    assert parse_amount(text, "ru", "RUB") == ru
    assert parse_amount(text, "uk", "RUB") == ru  # Ukrainian writes numbers as Russian
    assert parse_amount(text, "en", "RUB") == en


def test_a_currency_is_named_only_when_it_is_the_installations():
    assert parse_amount("2000 грн", "uk", "UAH") == D("2000")
    assert parse_amount("₴2 000", "uk", "UAH") == D("2000")
    assert parse_amount("$2,000", "en", "USD") == D("2000")
    assert parse_amount("2000 €", "en", "EUR") == D("2000")
    assert parse_amount("2000 chf", "en", "CHF") == D("2000")  # any code names itself
    assert parse_amount("2000 RUB", "en", None) is None  # no currency given: none named
    assert parse_amount("2000", "en", None) == D("2000")


@pytest.mark.parametrize(("minor", "ru", "en"), [
    (15000000, "150\u00a0000", "150,000"),
    (15000050, "150\u00a0000,50", "150,000.50"),
    (99, "0,99", "0.99"),
    (100, "1", "1"),
    (123456789012, "1\u00a0234\u00a0567\u00a0890,12", "1,234,567,890.12"),
])
def test_format_amount(minor, ru, en):
    assert format_amount(minor, "ru") == ru == format_amount(minor, "uk")
    assert format_amount(minor, "en") == en


@pytest.mark.parametrize("text", ["150 000", "150 000,50", "0,99", "1 234 567 890,12"])
def test_what_the_bot_writes_reads_back_the_same(text):
    minor = to_minor(parse_amount(text, "ru", "RUB"))
    assert parse_amount(format_amount(minor, "ru"), "ru", "RUB") == D(minor) / 100
    assert parse_amount(format_amount(minor, "en"), "en", "RUB") == D(minor) / 100


def test_to_minor_is_exact():
    assert to_minor(D("150000.50")) == 15000050
    assert to_minor(D("0.29")) == 29  # 0.29 * 100 in floats is 28.999…
    assert to_minor(D("999999999999.99")) == 99999999999999
