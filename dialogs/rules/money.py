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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

MAX_AMOUNT = 100_000_000_000  # hundredths: a billion in a row is a typo, not a budget
MAX_PROBLEMS = 10  # lines told about a bad file; the rest are counted
MAX_BYTES = 2_000_000  # a spend file: a year of days for a few hundred campaigns
MAX_ROWS = 20_000
EARLIEST = date(2000, 1, 1)  # spend before it is a typo'd year, not history
AHEAD = 366  # days after today a spend row may reach (a budget planned a year ahead)
SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")  # what a deep link or a tracking link carries
CAMPAIGN_LENGTH = 64
COLUMNS = ("date", "source", "campaign", "amount", "currency")
REQUIRED = ("date", "source", "amount")
_AMOUNT = re.compile(r"^(\d{1,3}(?:[ \u00a0\u202f']\d{3})+|\d+)(?:[.,](\d{1,2}))?\Z")


# What can be wrong, in English (the CLI's words); the dashboard says the same in ru / uk
# from the same keys and values (bot/web/money_words.py, PROBLEMS).
ENGLISH = {
    "negative": "{text!r} is negative: spend is 0 or more",
    "not_amount": "{text!r} is not an amount: write e.g. 1234.50 or 1 234,50",
    "too_large": "{text!r} is too large for a row (at most {most})",
    "not_day": "{text!r} is not a day or a month: write 2026-11-03 or 2026-11 (03.11.2026 "
               "or 11.2026)",
    "far_day": "{text!r}: a day before {earliest} or after {latest} is a typo, not spend",
    "overlap": "{pair}: the month of row {month_row} ({month}) and the day of row {day_row} "
               "({day}) overlap: give the month's days or the month, not both",
    "not_csv": "the file cannot be read as CSV near line {line}: {why}",
    "too_big": "the file is {size} bytes: at most {most} (split it by months)",
    "not_utf8": "the file is not UTF-8 text: save it as CSV UTF-8",
    "binary": "the file is not a CSV (it holds binary data)",
    "empty": "the file is empty: its first line must name the columns ({columns})",
    "columns": "the columns are {found}; a spend file needs {needed} (and may have "
               "campaign, currency), each once",
    "columns_unknown": "the columns are {found}; a spend file needs {needed} (and may have "
                       "campaign, currency), each once; unknown: {unknown}",
    "too_many_rows": "more than {most} rows: split the file by months",
    "cells": "{cells} cells, the header has {header}",
    "no_rows": "the file has no rows under its header",
    "more": "... and {rest} more bad row(s)",
    "source": "source {source!r}: 1 to 64 characters of A-Z a-z 0-9 _ - (as the bot's "
              "links carry it)",
    "campaign": "campaign {campaign!r}...: at most 64 printable characters",
    "currency": "currency {given}: this installation counts in {currency} "
                "(LEADBOT_CURRENCY); convert the amount first",
    "conflict": "{pair}: spend stored for {first}..{last} is only partly among the days "
                "given for it: give the whole of {first}..{last} to replace it",
}


class Problem(str):
    """One thing wrong, as the English line (a str: printed, compared) that also keeps its
    key, values and row for saying it in another language."""

    key: str
    row: int | None
    values: dict[str, object]

    def __new__(cls, key: str, row: int | None = None, **values: object) -> Problem:
        text = ENGLISH[key].format(**values)
        found = super().__new__(cls, f"row {row}: {text}" if row is not None else text)
        found.key, found.row, found.values = key, row, values
        return found


class MoneyError(ValueError):
    """A value that is not money, a day or a month (the message says what it should be)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(ENGLISH[key].format(**values))
        self.key, self.values = key, values


def amount(text: str) -> int:
    """`1234.50`, `1 234,50`, `1234,5`, `12345` -> hundredths (123450, 123450, 123450,
    1234500). A thousands separator is a space (also a no-break one) or an apostrophe;
    the decimal mark a point or a comma with one or two digits after it."""
    value = text.strip()
    if value.startswith(("-", "\u2212")):
        raise MoneyError("negative", text=text)
    found = _AMOUNT.match(value)
    if not found:
        raise MoneyError("not_amount", text=text)
    whole = int(re.sub(r"\D", "", found.group(1)))
    cents = int((found.group(2) or "0").ljust(2, "0"))
    hundredths = whole * 100 + cents
    if hundredths > MAX_AMOUNT:
        raise MoneyError("too_large", text=text, most=money(MAX_AMOUNT))
    return hundredths


def span(text: str) -> tuple[date, date]:
    """`2026-11-03` (that day) or `2026-11` (the month: its first to its last day); as
    Russian Excel writes them too, `03.11.2026` and `11.2026`."""
    value = text.strip()
    try:
        if found := re.fullmatch(r"(\d{4})-(\d{2})|(\d{2})\.(\d{4})", value):
            year, month = (found[1], found[2]) if found[1] else (found[4], found[3])
            first = date(int(year), int(month), 1)
            return first, first.replace(day=monthrange(first.year, first.month)[1])
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            return day, day
        if found := re.fullmatch(r"(\d{2})\.(\d{2})\.(\d{4})", value):
            day = date(int(found[3]), int(found[2]), int(found[1]))
            return day, day
    except ValueError:
        pass
    raise MoneyError("not_day", text=text)


def plausible(text: str, first: date, last: date, today: date) -> None:
    """MoneyError for a span before EARLIEST or reaching more than AHEAD days after today:
    a typo'd year (1926 for 2026) would otherwise store spend nobody meant."""
    latest = today + timedelta(days=AHEAD)
    if first < EARLIEST or last > latest:
        raise MoneyError("far_day", text=text, earliest=EARLIEST, latest=latest)


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


def read_spend(data: bytes, currency: str, today: date | None = None
               ) -> tuple[list[SpendRow], list[Problem]]:
    """A spend CSV (UTF-8, with or without a BOM; `,` or `;` between cells; columns date,
    source, amount and optionally campaign and currency, in any order) -> its rows, or the
    problems: one line per bad row naming it, at most MAX_PROBLEMS and a count of the rest.
    Rows come only when there is no problem at all: a file is imported whole or not at
    all. A currency other than `currency` (the installation's) is a problem, so is a day
    before EARLIEST or more than AHEAD days after `today` (default: the computer's), and a
    month row and a day row of one pair that overlap (`overlaps`). What the csv module
    cannot read (a cell over its 128 KB limit, a stray quote) is one problem too."""
    today = today or date.today()
    if len(data) > MAX_BYTES:
        return [], [Problem("too_big", size=f"{len(data):,}", most=f"{MAX_BYTES:,}")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [Problem("not_utf8")]
    if "\x00" in text:
        return [], [Problem("binary")]
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return [], [Problem("empty", columns=", ".join(COLUMNS))]
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    # newline="": the csv module splits lines itself, CR-only ends (old Mac exporters) too
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _read(reader, currency, today)
    except csv.Error as error:
        why = str(error)
        if "field larger than field limit" in why:
            why = f"a cell is longer than {csv.field_size_limit():,} characters"
        return [], [Problem("not_csv", line=reader.line_num, why=why)]


def _read(reader: Iterator[list[str]], currency: str, today: date
          ) -> tuple[list[SpendRow], list[Problem]]:
    header = [cell.strip().lower() for cell in next(reader)]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        return [], [Problem("columns_unknown" if unknown else "columns", 1,
                            found=", ".join(header) or "—", needed=", ".join(REQUIRED),
                            unknown=", ".join(unknown))]
    rows: list[SpendRow] = []
    problems: list[Problem] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # an empty line (Excel leaves some at the end)
        if len(rows) + len(problems) >= MAX_ROWS:
            return [], [Problem("too_many_rows", most=f"{MAX_ROWS:,}")]
        if len(cells) != len(header):
            problems.append(Problem("cells", number, cells=len(cells), header=len(header)))
            continue
        try:
            rows.append(_row(number, dict(zip(header, cells, strict=True)), currency, today))
        except MoneyError as error:
            problems.append(Problem(error.key, number, **error.values))
    if not rows and not problems:
        problems.append(Problem("no_rows"))
    problems += overlaps(rows)
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        problems = problems[:MAX_PROBLEMS] + [Problem("more", rest=rest)]
    return ([] if problems else rows), problems


def _row(number: int, cells: dict[str, str], currency: str, today: date) -> SpendRow:
    first, last = span(cells["date"])
    plausible(cells["date"], first, last, today)
    source = cells["source"].strip()
    if not SOURCE.match(source):
        raise MoneyError("source", source=source)
    campaign = (cells.get("campaign") or "").strip() or None
    if campaign is not None and (len(campaign) > CAMPAIGN_LENGTH
                                 or not campaign.isprintable()):
        raise MoneyError("campaign", campaign=campaign[:20])
    hundredths = amount(cells["amount"])
    given = (cells.get("currency") or "").strip().upper() or currency
    if given != currency:
        raise MoneyError("currency", given=given, currency=currency)
    return SpendRow(number, first, last, source, campaign, hundredths, currency)


def pair_name(source: str, campaign: str | None) -> str:
    return source + (f" / {campaign}" if campaign else "")


def overlaps(rows: list[SpendRow]) -> list[Problem]:
    """A month row and a day row of one (source, campaign) pair for overlapping days, one
    line naming both: more often a month total pasted beside its days than meant (rows of
    the same kind for the same days add up: an ad cabinet's export per ad group)."""
    months: dict[tuple, dict[tuple[date, date], SpendRow]] = defaultdict(dict)
    for r in rows:
        if r.first_day != r.last_day:
            months[(r.source, r.campaign)].setdefault((r.first_day, r.last_day), r)
    found = []
    for r in rows:
        for (first, last), month in months.get((r.source, r.campaign), {}).items():
            if r.first_day == r.last_day and first <= r.first_day <= last:
                found.append(Problem("overlap", r.row, pair=pair_name(r.source, r.campaign),
                                     month_row=month.row, month=f"{first:%Y-%m}",
                                     day_row=r.row, day=r.first_day))
    return found


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
