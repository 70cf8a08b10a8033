"""Prospect input: phone numbers, emails, names and numbers.

Each returns the normalised value, or None when the input is not acceptable; the engine
turns None into a polite message in the prospect's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from dialogs.typed.numbers import parse_words

_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.\-][^\W\d_]*)*$")
_NUMBER = re.compile(r"^[+-]?\d[\d\s\u00a0\u202f',.]*$")
# A unit after the number: letters, then at most a final 2 or 3 ("50 м²", "50m2", "64 кв.м").
_UNIT_TAIL = re.compile(r"^(.*?\d)\s*[^\W\d_][^\d]*?[23]?$")


def normalize_phone(text: str, region: str | None) -> str | None:
    """A phone number in E.164 (`+79991234567`), or None.

    Telegram's shared contacts carry the number without '+'; a typed number may use the
    flow's default region (`phone_region`) or an international prefix.
    """
    raw = text.strip()
    if not raw or len(raw) > 32:
        return None
    digits = re.sub(r"\D", "", raw)
    candidates = [raw]
    if not raw.startswith("+") and region is None:
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def normalize_shared_phone(text: str, region: str | None) -> str | None:
    """A phone from Telegram's share-contact button: digits with or without '+'."""
    raw = text.strip()
    if raw and not raw.startswith("+"):
        raw = "+" + raw
    return normalize_phone(raw, region)


def example_phone(region: str | None) -> str:
    number = phonenumbers.example_number_for_type(
        region or "GB", phonenumbers.PhoneNumberType.MOBILE)
    if number is None:  # pragma: no cover - every region we accept has an example
        return "+44 7400 123456"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_email(text: str) -> str | None:
    """A syntactically valid email address (no DNS lookups), normalised, or None."""
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized


def normalize_name(text: str) -> str | None:
    """A person's name: 2-60 characters, letters with spaces, hyphens, apostrophes, dots."""
    name = " ".join(text.split())
    if not 2 <= len(name) <= 60 or not _NAME.match(name):
        return None
    return name


@dataclass(frozen=True)
class Ambiguous:
    """`2,500` in Russian, `2.500` in English: two and a half, or two and a half thousand."""

    thousands: float
    decimal: float


# One separator between a leading group of 1-3 digits and groups of exactly three.
_GROUPED = {sep: re.compile(rf"^[+-]?[1-9]\d{{0,2}}(?:{re.escape(sep)}\d{{3}})+$")
            for sep in ",."}


def parse_number(text: str, language: str = "en") -> float | Ambiguous | None:
    """A number as people type it, read by the prospect's language.

    `1500`, `1 500`, `1'500`; `12,5` and `12.5`; `1,500.5` and `1.500,5` (the separator
    that comes last is the decimal one); `50 м²`, `-3`. A comma followed by groups of three
    digits is a thousands separator in English (`5,000` is five thousand); in Russian and
    Ukrainian the comma is the decimal one. Where a lone separator before three digits could
    be either (`2,500` in ru / uk, `2.500` in any language), both readings are returned as
    Ambiguous, for the step to keep the one that fits or to ask.

    Words and shorthands too (issue 26): `1.5k`, `1,5 тыс`, `полтора`, `два с половиной`,
    `пятьдесят`, `fifty`, `пятьдесят метров` (a unit word after the number).
    """
    raw = text.strip()
    if _WORDY.search(raw):
        return _in_words(raw, language)
    tail = _UNIT_TAIL.match(raw)
    if tail:
        raw = tail.group(1)
    if not _NUMBER.match(raw):
        return None
    raw = re.sub(r"[\s\u00a0\u202f']", "", raw)
    if "," in raw and "." in raw:
        thousands = "," if raw.rfind(",") < raw.rfind(".") else "."
        return _float(raw.replace(thousands, "").replace(",", "."))
    separator = "," if "," in raw else "." if "." in raw else None
    if separator is None:
        return _float(raw)
    grouped = _GROUPED[separator].match(raw) is not None
    if raw.count(separator) > 1:  # 1.000.000: only ever thousands
        return _float(raw.replace(separator, "")) if grouped else None
    if not grouped:  # 12,5 / 12.5 / 0,500 / 1234,5: a decimal separator
        return _float(raw.replace(separator, "."))
    if separator == "," and language == "en":
        return _float(raw.replace(",", ""))
    whole, decimal = _float(raw.replace(separator, "")), _float(raw.replace(separator, "."))
    if whole is None or decimal is None:  # pragma: no cover - both are digits by now
        return None
    return Ambiguous(thousands=whole, decimal=decimal)


# A number in words or with a word multiplier: letters that are not only a unit ("50 м²").
_WORDY = re.compile(r"\d\s*(?:k|к|тыс|тис|тысяч|тисяч|thousand|млн|mln|million|миллион"
                    r"|мільйон)\w*\.?(?:\s|$)|^\D*[^\W\d_]{3,}", re.IGNORECASE)


def _in_words(raw: str, language: str) -> float | None:
    """«пятьдесят», «два с половиной», "1.5k", «1,5 тыс», «пятьдесят метров»: up to two
    unit words after the number are let go."""
    tokens = raw.split()
    for drop in range(min(3, len(tokens))):
        value = parse_words(" ".join(tokens[:len(tokens) - drop]), language)
        if value is not None:
            return value if abs(value) < 1e15 else None
    return None


_RANGE = re.compile(
    r"^\s*(?:(?:от|від|from|between|с|з)\s+)?(?P<low>.+?)"
    r"(?:\s*(?:-|–|—|\.\.)\s*|\s+(?:до|по|to|and|и|і)\s+)(?P<high>[^-–—].*?)\s*$", re.IGNORECASE)


def parse_range(text: str, language: str = "en") -> tuple[float, float] | None:
    """Two numbers that bound an answer: «от 50 до 70», "50-70", "50 to 70", «50–70 м²»,
    "between 50 and 70"; (low, high) in that order, or None. Each end is read as
    `parse_number` reads it; an end that could be read two ways is not a range."""
    match = _RANGE.match(text)
    if not match:
        return None
    low, high = parse_number(match.group("low"), language), \
        parse_number(match.group("high"), language)
    if not isinstance(low, float) or not isinstance(high, float):
        return None
    return (low, high) if low <= high else (high, low)


def _float(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if abs(value) < 1e15 else None


def format_number(value: float, language: str) -> str:
    """`150000` -> `150 000` (ru, uk) or `150,000` (en); decimals only when there are any."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    if language in ("ru", "uk"):
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text
