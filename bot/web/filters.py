"""The flow page's filters (a plain GET form) read from the query string, and numbers,
percentages and durations written the way each language writes them (Babel's CLDR data).

Bad values are not an error page of the server: `read` returns what it could read and the
words of what it could not, which the page shows politely (with a 400).

May import: babel, the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

DEFAULT_DAYS = 30  # like `leadbot report`
PAGE_SIZE = 25
TEMPERATURES = ("hot", "warm", "cold")
OUTCOMES = ("handoff", "nurture", "close")
MAX_SOURCE = 64
FIELDS = ("since", "until", "source", "version", "temperature", "outcome", "page")
# the days a filter may name: any period of the bot's life, and far enough from datetime's
# ends (years 1 and 9999) that a day's bounds in any time zone, and the day after, exist
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


@dataclass
class Filters:
    flow: str
    since: date
    until: date
    source: str | None = None
    version: int | None = None
    temperature: str | None = None
    outcome: str | None = None
    page: int = 1
    contacts: bool = False
    problems: list[str] = field(default_factory=list)  # i18n keys of what was not read
    wrong: dict[str, str] = field(default_factory=dict)  # field -> the i18n key of its fault
    typed: dict[str, str] = field(default_factory=dict)  # field -> what was typed there

    def shown(self, name: str) -> str:
        """What a form field shows: as typed when the filters were refused (the person
        corrects what they wrote), else the value used."""
        if self.problems:
            return self.typed.get(name, "")
        value = getattr(self, name)
        return "" if value is None else value.isoformat() if isinstance(value, date) else str(
            value)

    def query(self, **changes: Any) -> str:
        """This page's query string with `changes`, for links (pages, the contacts toggle)."""
        values = {"flow": self.flow, "since": self.since.isoformat(),
                  "until": self.until.isoformat(), "source": self.source or "",
                  "version": "" if self.version is None else str(self.version),
                  "temperature": self.temperature or "", "outcome": self.outcome or "",
                  "page": str(self.page), "contacts": "1" if self.contacts else ""}
        values.update({k: "" if v is None else str(v) for k, v in changes.items()})
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def read(query: Any, flow: str, timezone: str, days: int = DEFAULT_DAYS) -> Filters:
    """The filters of `query` (a request's query mapping); defaults: the last `days` days up
    to today in the operator's time zone."""
    problems: list[str] = []
    wrong: dict[str, str] = {}
    typed = {name: (query.get(name) or "").strip()[:200] for name in FIELDS}
    today = datetime.now(ZoneInfo(timezone)).date()

    def fault(name: str, key: str) -> None:
        problems.append(key)
        wrong.setdefault(name, key)

    def day(name: str) -> date | None:
        text = (query.get(name) or "").strip()
        if not text:
            return None
        try:
            value = date.fromisoformat(text)
        except ValueError:
            fault(name, "bad_date")
            return None
        if not FIRST_DAY <= value <= LAST_DAY:
            fault(name, "bad_year")
            return None
        return value

    until = day("until") or today
    since = day("since") or until - timedelta(days=days - 1)
    if until < since:
        fault("until", "bad_range")
        since, until = until - timedelta(days=days - 1), until
    if (until - since).days > 400:
        fault("since", "bad_range")
        since = until - timedelta(days=days - 1)
    source = (query.get("source") or "").strip() or None
    if source is not None and (len(source) > MAX_SOURCE or not source.isprintable()):
        # NUL (PostgreSQL refuses it in text), control characters, lone surrogates: no
        # source a deep link carries
        fault("source", "bad_source")
        source = None
        typed["source"] = "".join(c for c in typed["source"] if c.isprintable())

    def number(name: str, least: int) -> int | None:
        text = (query.get(name) or "").strip()
        if not text:
            return None
        if text.isascii() and text.isdigit() and least <= int(text) < 2**31:  # not "²"
            return int(text)
        fault(name, "bad_number")
        return None

    def choice(name: str, allowed: tuple[str, ...]) -> str | None:
        text = (query.get(name) or "").strip()
        if text and text not in allowed:
            fault(name, "bad_choice")
            return None
        return text or None

    return Filters(flow=flow, since=since, until=until, source=source,
                   version=number("version", 1), temperature=choice("temperature", TEMPERATURES),
                   outcome=choice("outcome", OUTCOMES), page=number("page", 1) or 1,
                   contacts=query.get("contacts") == "1",
                   problems=list(dict.fromkeys(problems)), wrong=wrong, typed=typed)


def number(value: float | int | None, lang: str) -> str:
    """1234 -> "1,234" (en), "1 234" (ru, uk); None -> "—"."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.#", locale=lang)


def percent(value: float | None, lang: str) -> str:
    return "—" if value is None else f"{format_decimal(value, format='#,##0.0', locale=lang)} %"


UNITS = {"en": ("s", "min", "h"), "ru": ("с", "мин", "ч"), "uk": ("с", "хв", "год")}


def duration(seconds: float | None, lang: str) -> str:
    """A duration in the unit that reads best: 45 s, 12.5 min, 3.2 h (in the language)."""
    if seconds is None:
        return "—"
    s, minutes, hours = UNITS.get(lang, UNITS["en"])
    if seconds < 60:
        return f"{number(round(seconds), lang)} {s}"
    if seconds < 3600:
        return f"{number(round(seconds / 60, 1), lang)} {minutes}"
    return f"{number(round(seconds / 3600, 1), lang)} {hours}"


def local_time(text: str | None, timezone: str) -> str:
    """A row's ISO time (UTC) as "YYYY-MM-DD HH:MM" in the operator's time zone."""
    if not text:
        return "—"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def seconds_between(since: str | None, until: str | None) -> float | None:
    """Seconds from one of a lead row's ISO times to another (the export's minutes are
    rounded to a tenth: a claim within 3 s read as 0 s)."""
    if not since or not until:
        return None
    return (datetime.fromisoformat(until) - datetime.fromisoformat(since)).total_seconds()
