import pytest

from dialogs.rules.validators import (
    Ambiguous,
    format_number,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_shared_phone,
    parse_number,
)


@pytest.mark.parametrize(("text", "region", "expected"), [
    ("+7 999 123-45-67", "RU", "+79991234567"),
    ("8 (999) 123 45 67", "RU", "+79991234567"),
    ("89991234567", "RU", "+79991234567"),
    ("067 123 4567", "UA", "+380671234567"),
    ("+380 67 123 4567", "RU", "+380671234567"),  # an international number in any region
    ("+44 7400 123456", None, "+447400123456"),
    ("447400123456", None, "+447400123456"),  # no region: digits read as international
    ("067 123 4567", "RU", None),  # a Ukrainian local number is not a Russian one
    ("12345", "RU", None),
    ("+7 999", "RU", None),
    ("call me", "RU", None),
    ("", "RU", None),
    ("+7" + "9" * 40, "RU", None),
])
def test_phone(text, region, expected):
    assert normalize_phone(text, region) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("79991234567", "+79991234567"),  # Telegram sends shared contacts without '+'
    ("+79991234567", "+79991234567"),
    ("380671234567", "+380671234567"),
    ("123", None),
])
def test_shared_phone(text, expected):
    assert normalize_shared_phone(text, "UA") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("ivan@example.com", "ivan@example.com"),
    ("  Ivan@Mail.RU ", "Ivan@mail.ru"),  # the domain is lower-cased, the local part kept
    ("олена@пошта.укр", "олена@пошта.укр"),
    ("a@b", None),
    ("no-at-sign", None),
    ("two@@example.com", None),
    ("x@localhost", None),
    ("", None),
])
def test_email(text, expected):
    assert normalize_email(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Иван", "Иван"),
    ("  Анна-Мария  ", "Анна-Мария"),
    ("Іван   Петренко", "Іван Петренко"),
    ("O'Brien", "O'Brien"),
    ("J. R. R.", "J. R. R."),
    ("Ї", None),  # too short
    ("Ivan2", None),
    ("+79991234567", None),  # a phone typed where the name was asked
    ("😀😀", None),
    ("x" * 61, None),
])
def test_name(text, expected):
    assert normalize_name(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("64", 64.0),
    ("1 500", 1500.0),
    ("1\u00a0500", 1500.0),
    ("12,5", 12.5),
    ("12.5", 12.5),
    ("1,500.5", 1500.5),
    ("1.500,5", 1500.5),
    ("50 м²", 50.0),
    ("120m2", 120.0),
    ("-3", -3.0),
    ("1.2.3", None),
    ("five", 5.0),  # words since issue 26 (before: None)
    ("a few", None),
    ("", None),
    ("1e5", None),
    ("9" * 20, None),
])
def test_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(("text", "en", "ru"), [
    ("1,000", 1000.0, Ambiguous(1000.0, 1.0)),  # before: 1.0 in every language
    ("5,000", 5000.0, Ambiguous(5000.0, 5.0)),
    ("1,000,000", 1e6, 1e6),
    ("2.500", Ambiguous(2500.0, 2.5), Ambiguous(2500.0, 2.5)),
    ("1.000.000", 1e6, 1e6),
    ("12,5", 12.5, 12.5),
    ("0,500", 0.5, 0.5),
    ("1234,567", 1234.567, 1234.567),
    ("1,5,5", None, None),
])
def test_numbers_are_read_by_the_prospects_language(text, en, ru):
    assert parse_number(text, "en") == en
    assert parse_number(text, "ru") == ru == parse_number(text, "uk")


@pytest.mark.parametrize(("value", "language", "expected"), [
    (150000, "ru", "150\u00a0000"),
    (150000, "en", "150,000"),
    (12.5, "uk", "12,5"),
    (12.0, "en", "12"),
    (0, "ru", "0"),
])
def test_format_number(value, language, expected):
    assert format_number(value, language) == expected
