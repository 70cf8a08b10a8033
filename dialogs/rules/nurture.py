"""When a follow-up may go: quiet hours in the prospect's time zone, the weekly cap on
marketing messages, stale messages after downtime, and the conditions that end a sequence.
Pure: bot/jobs/followups.py reads the rows, asks these, and writes the answer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_QUIET = "21:00-09:00"
WEEK = timedelta(days=7)
# Telegram tells no time zone: a prospect's language is the best guess we have.
LANGUAGE_ZONES = {"ru": "Europe/Moscow", "uk": "Europe/Kyiv", "en": "Europe/London"}
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# A hand-off past these: a manager has the lead, the sequence has done its work.
HANDED_OFF = {"new": "handed_off", "claimed": "claimed", "contacted": "claimed",
              "meeting": "claimed", "won": "won", "lost": "lost"}


def parse_quiet(spec: str | None) -> tuple[time, time] | None:
    """"21:00-09:00" -> (21:00, 09:00); "" or "off" -> None (no quiet hours); ValueError."""
    if spec is None or spec.strip().lower() in ("", "off", "none"):
        return None
    match = _QUIET.match(spec)
    if match is None:
        raise ValueError(f"{spec!r}: write quiet hours like 21:00-09:00 (or off)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{spec!r}: hours 0-23, minutes 0-59")
    return time(h1, m1), time(h2, m2)


def zone_named(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_for(*, flow_zone: str | None, default: str | None, language: str | None) -> ZoneInfo:
    """The prospect's time zone as well as we know it: the flow's, the operator's setting,
    a guess from their language, UTC."""
    for name in (flow_zone, default, LANGUAGE_ZONES.get((language or "").split("-")[0])):
        zone = zone_named(name)
        if zone is not None:
            return zone
    return ZoneInfo("UTC")


def quiet_until(now: datetime, zone: ZoneInfo, quiet: tuple[time, time] | None
                ) -> datetime | None:
    """The end of the quiet hours `now` (aware) falls in, or None when it does not."""
    if quiet is None or quiet[0] == quiet[1]:
        return None
    start, end = quiet
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start > end:  # over midnight: 21:00-09:00
        if clock >= start:
            day = local.date() + timedelta(days=1)
        elif clock < end:
            day = local.date()
        else:
            return None
    elif start <= clock < end:  # within a day: 13:00-15:00
        day = local.date()
    else:
        return None
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def cap_until(sent: Sequence[datetime], now: datetime, cap: int) -> datetime | None:
    """With `cap` marketing messages already sent in the week before `now`, the moment the
    oldest of them leaves the week; None while there is room (cap 0: no cap)."""
    if cap <= 0:
        return None
    recent = sorted(t for t in sent if now - t < WEEK)
    if len(recent) < cap:
        return None
    return recent[len(recent) - cap] + WEEK


def is_stale(due_at: datetime, now: datetime, window: timedelta) -> bool:
    """Due so long ago (the bot was down) that it would arrive as a stale burst."""
    return window.total_seconds() > 0 and now - due_at > window


def stop_reason(*, kind: str, marketing: bool, consents: Collection[str], blocked: bool,
                handoff_status: str | None, latest: bool, finished: bool) -> str | None:
    """Why this follow-up must not go (and its sequence ends), or None when it may.

    The reminder continues the prospect's own request: it needs no consent, but ends when
    they finished or left the quiz. A sequence needs its consent (marketing: the opt-in) and
    ends once a manager has the lead, or the prospect started over."""
    if blocked:
        return "blocked"
    if not latest:
        return "restarted"
    if kind == "reminder":
        return "finished" if finished else None
    if ("marketing" if marketing else "processing") not in consents:
        return "consent"
    if handoff_status is not None and handoff_status in HANDED_OFF:
        return HANDED_OFF[handoff_status]
    return None
