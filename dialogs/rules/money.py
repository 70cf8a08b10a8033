"""Money's rules, pure: an amount as people write it, a day or a month, a spend CSV read
into rows (or the problems, one line each, naming the row), a span's spend spread over its
days, and the report's ratios. storage/work/spend.py writes what `read_spend` returns;
storage/reports/money.py counts with `spread`, `ratio`, `romi` and `median`.

Money is an integer of hundredths of the installation's one currency (LEADBOT_CURRENCY),
never a float.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

MAX_AMOUNT = 100_000_000_000  # hundredths: a billion in a row is a typo, not a budget
MAX_PROBLEMS = 10  # lines told about a bad file; the rest are counted
MAX_BYTES = 2_000_000  # a spend file: a year of days for a few hundred campaigns
MAX_ROWS = 20_000
SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what a deep link or a tracking link carries
CAMPAIGN_LENGTH = 64
COLUMNS = ("date", "source", "campaign", "amount", "currency")
REQUIRED = ("date", "source", "amount")
_AMOUNT = re.compile(r"^(\d{1,3}(?:[ \u00a0\u202f']\d{3})+|\d+)(?:[.,](\d{1,2}))?$")


class MoneyError(ValueError):
    """A value that is not money, a day or a month (the message says what it should be)."""


def amount(text: str) -> int:
    """`1234.50`, `1 234,50`, `1234,5`, `12345` -> hundredths (123450, 123450, 123450,
    1234500). A thousands separator is a space (also a no-break one) or an apostrophe;
    the decimal mark a point or a comma with one or two digits after it."""
    value = text.strip()
    if value.startswith(("-", "\u2212")):
        raise MoneyError(f"{text!r} is negative: spend is 0 or more")
    found = _AMOUNT.match(value)
    if not found:
        raise MoneyError(f"{text!r} is not an amount: write e.g. 1234.50 or 1 234,50")
    whole = int(re.sub(r"\D", "", found.group(1)))
    cents = int((found.group(2) or "0").ljust(2, "0"))
    hundredths = whole * 100 + cents
    if hundredths > MAX_AMOUNT:
        raise MoneyError(f"{text!r} is too large for a row (at most "
                         f"{money(MAX_AMOUNT)})")
    return hundredths


def span(text: str) -> tuple[date, date]:
    """`2026-11-03` (that day) or `2026-11` (the month: its first to its last day)."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}", value):
            first = date.fromisoformat(value + "-01")
            return first, first.replace(day=monthrange(first.year, first.month)[1])
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            return day, day
    except ValueError:
        pass
    raise MoneyError(f"{text!r} is not a day or a month: write 2026-11-03 or 2026-11")


def money(hundredths: int | Fraction, currency: str = "") -> str:
    """12345678 -> `123,456.78 RUB`: thousands separated, two decimals, the code after."""
    rounded = round(hundredths)
    sign = "-" if rounded < 0 else ""
    whole, cents = divmod(abs(rounded), 100)
    return f"{sign}{whole:,}.{cents:02d}" + (f" {currency}" if currency else "")


@dataclass(frozen=True)
class SpendRow:
    """One row of a spend file, checked: what it cost a source (and campaign) over days."""

    row: int  # the file's line number, the header being 1
    first_day: date
    last_day: date
    source: str
    campaign: str | None
    amount: int  # hundredths of `currency`
    currency: str


def read_spend(data: bytes, currency: str) -> tuple[list[SpendRow], list[str]]:
    """A spend CSV (UTF-8, with or without a BOM; `,` or `;` between cells; columns date,
    source, amount and optionally campaign and currency, in any order) -> its rows, or the
    problems: one line per bad row naming it, at most MAX_PROBLEMS and a count of the rest.
    Rows come only when there is no problem at all: a file is imported whole or not at
    all. A currency other than `currency` (the installation's) is a problem."""
    if len(data) > MAX_BYTES:
        return [], [f"the file is {len(data):,} bytes: at most {MAX_BYTES:,} (split it "
                    "by months)"]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["the file is not UTF-8 text: save it as CSV UTF-8"]
    if "\x00" in text:
        return [], ["the file is not a CSV (it holds binary data)"]
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return [], ["the file is empty: its first line must name the columns "
                    f"({', '.join(COLUMNS)})"]
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader)]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        return [], [f"row 1: the columns are {', '.join(header) or 'none'}; a spend file "
                    f"needs {', '.join(REQUIRED)} (and may have campaign, currency), each "
                    "once" + (f"; unknown: {', '.join(unknown)}" if unknown else "")]
    rows: list[SpendRow] = []
    problems: list[str] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # an empty line (Excel leaves some at the end)
        if len(rows) + len(problems) >= MAX_ROWS:
            return [], [f"more than {MAX_ROWS:,} rows: split the file by months"]
        if len(cells) != len(header):
            problems.append(f"row {number}: {len(cells)} cells, the header has "
                            f"{len(header)}")
            continue
        try:
            rows.append(_row(number, dict(zip(header, cells, strict=True)), currency))
        except MoneyError as error:
            problems.append(f"row {number}: {error}")
    if not rows and not problems:
        problems.append("the file has no rows under its header")
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [f"... and {rest} more bad row(s)"]
    return ([] if problems else rows), problems


def _row(number: int, cells: dict[str, str], currency: str) -> SpendRow:
    first, last = span(cells["date"])
    source = cells["source"].strip()
    if not SOURCE.match(source):
        raise MoneyError(f"source {source!r}: 1 to 64 characters of A-Z a-z 0-9 _ - (as "
                         "the bot's links carry it)")
    campaign = (cells.get("campaign") or "").strip() or None
    if campaign is not None and (len(campaign) > CAMPAIGN_LENGTH
                                 or not campaign.isprintable()):
        raise MoneyError(f"campaign {campaign[:20]!r}...: at most {CAMPAIGN_LENGTH} "
                         "printable characters")
    hundredths = amount(cells["amount"])
    given = (cells.get("currency") or "").strip().upper() or currency
    if given != currency:
        raise MoneyError(f"currency {given}: this installation counts in {currency} "
                         "(LEADBOT_CURRENCY); convert the amount first")
    return SpendRow(number, first, last, source, campaign, hundredths, currency)


def days(first: date, last: date) -> int:
    return (last - first).days + 1


def spread(amount: int, first: date, last: date, since: date, until: date) -> Fraction:
    """The part of a span's `amount` that falls on since..until: the amount spread evenly
    over the span's days, the days inside the period counted (exact, rounded when shown)."""
    inside = days(max(first, since), min(last, until))
    return Fraction(amount * max(inside, 0), days(first, last))


def daily(amount: int, first: date, last: date, since: date, until: date
          ) -> Iterable[tuple[date, Fraction]]:
    """A span's amount per day of since..until it covers."""
    each = Fraction(amount, days(first, last))
    day = max(first, since)
    while day <= min(last, until):
        yield day, each
        day += timedelta(days=1)


def ratio(spend: Fraction | int | None, count: int) -> Fraction | None:
    """A cost per lead / hot lead / sale: None when nothing to divide by or no spend."""
    if spend is None or not count:
        return None
    return Fraction(spend) / count


def romi(revenue: int, spend: Fraction | int | None) -> float | None:
    """Return on marketing investment, percent: (revenue - spend) / spend."""
    if not spend:
        return None
    return round(float((revenue - Fraction(spend)) / Fraction(spend) * 100), 1)


def median(values: Iterable[float]) -> float | None:
    found = list(values)
    return round(statistics.median(found), 1) if found else None
