"""The sales team's working hours: "mon-fri 09:00-19:00" in a time zone. Pure.

Outside them a prospect is told honestly when to expect a call, and a lead's SLA clock
starts at the next opening time, not at the moment of the hand-off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPEC = re.compile(r"^\s*(?:(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+)?"
                  r"(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})\s*$")


class HoursError(ValueError):
    pass


@dataclass(frozen=True)
class WorkingHours:
    days: frozenset[int]  # 0 = Monday
    opens: time
    closes: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str | None, zone: str = "UTC") -> WorkingHours | None:
        """None (always open) for an empty spec; HoursError saying what is wrong."""
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"unknown time zone {zone!r} (like Europe/Moscow)") from None
        if not spec or not spec.strip():
            return None
        match = SPEC.match(spec.lower())
        if match is None:
            raise HoursError(f"working hours {spec!r}: write them like 'mon-fri 09:00-19:00'")
        first, last = match["first"] or "mon", match["last"] or match["first"] or "sun"
        if first not in DAYS or last not in DAYS:
            raise HoursError(f"working hours {spec!r}: days are {', '.join(DAYS)}")
        start, end = DAYS.index(first), DAYS.index(last)
        days = frozenset(range(start, end + 1)) if start <= end else frozenset(
            [*range(start, 7), *range(0, end + 1)])
        try:
            opens, closes = (time.fromisoformat(match[k].zfill(5)) for k in ("open", "close"))
        except ValueError:
            raise HoursError(f"working hours {spec!r}: times are HH:MM") from None
        if opens >= closes:
            raise HoursError(f"working hours {spec!r}: opening must come before closing")
        return cls(days, opens, closes, tz)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` itself when open, else the next opening time (aware, in UTC terms)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            opening = datetime.combine(day, self.opens, self.zone)
            if day.weekday() in self.days and opening > local:
                return opening.astimezone(moment.tzinfo)
        raise AssertionError("a week always has an opening")  # days is never empty

    def clock_starts(self, moment: datetime) -> datetime:
        return self.next_opening(moment)
