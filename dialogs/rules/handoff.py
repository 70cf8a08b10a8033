"""Hand-off decisions, pure and table-tested: whether a lead goes to the managers, which
status may follow which, what the SLA timer does next, which manager a route assigns, and
whether a follow-up may go out. bot/ reads rows, asks these, and writes rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from dialogs.rules.hours import WorkingHours

TEMPERATURES = ("hot", "warm", "cold")
STATUSES = ("contacted", "meeting", "won", "lost", "nurture")  # a manager's buttons
LOST_REASONS = ("price", "competitor", "no_answer", "not_target", "other")
IN_HAND = ("claimed", "contacted", "meeting")  # a manager's load: leads still being worked
CONTACTED = ("contacted", "meeting", "won")  # the prospect was reached
# Which status may follow which. A claimed lead may go anywhere; a won deal can still fall
# through (lost); a lost lead can be warmed again (nurture) or turn out reachable after all.
NEXT_STATUS: Mapping[str, frozenset[str]] = {
    "claimed": frozenset(STATUSES),
    "contacted": frozenset({"meeting", "won", "lost", "nurture"}),
    "meeting": frozenset({"contacted", "won", "lost", "nurture"}),
    "nurture": frozenset({"contacted", "meeting", "won", "lost"}),
    "won": frozenset({"lost"}),
    "lost": frozenset({"contacted", "nurture"}),
}


def hands_off(*, outcome: str | None, temperature: str | None, also: Collection[str],
              consented: bool) -> bool:
    """A lead goes to the managers when the flow decided so, or its temperature is one the
    operator always wants (LEADBOT_HANDOFF_ALSO) — and never without the prospect's consent
    to processing: no card, no link to their account, no call."""
    return consented and (outcome == "handoff" or temperature in also)


StatusStep = Literal["set", "ask_reason", "unknown", "not_now"]


def status_step(current: str, new: str, reason: str | None = None) -> StatusStep:
    """What a manager's status tap does: `set` it, `ask_reason` first (lost needs one),
    `unknown` (a status or reason nobody offers), or `not_now` (cannot follow `current`)."""
    if new not in STATUSES or (reason is not None and reason not in LOST_REASONS):
        return "unknown"
    if reason is not None and new != "lost":
        return "unknown"
    if new not in NEXT_STATUS.get(current, frozenset()):
        return "not_now"
    if new == "lost" and reason is None:
        return "ask_reason"
    return "set"


SlaStep = Literal["remind", "escalate", "stop"]


def sla_step(*, reminded: bool, escalated: bool, escalation_chat: bool) -> SlaStep:
    """A lead nobody claimed in time: re-announce it once, then hand it to the escalation
    chat (when there is one), then stop."""
    if not reminded:
        return "remind"
    if not escalated and escalation_chat:
        return "escalate"
    return "stop"


def sla_due(now: datetime, temperature: str, minutes: Mapping[str, int],
            hours: WorkingHours | None) -> datetime:
    """When an unclaimed lead's next SLA step is due: its temperature's minutes from now,
    or from the next opening outside working hours."""
    start = hours.clock_starts(now) if hours is not None else now
    return start + timedelta(minutes=minutes.get(temperature, 30))


M = TypeVar("M")


@dataclass(frozen=True)
class Assignment:
    """What the database knows about a route's managers, for `pick_manager`."""

    last_assigned: int | None = None  # the manager the route's previous lead went to
    loads: Mapping[int, int] | None = None  # leads in hand per manager id


def pick_manager(policy: str, managers: Sequence[M], ids: Sequence[int],
                 known: Assignment) -> M:
    """round_robin: the one after the last assigned (the first when none or gone);
    least_loaded: the one with the fewest leads in hand, the earlier listed on a tie."""
    if not managers or len(managers) != len(ids):
        raise ValueError("a route assigns among its managers: give each with its id")
    if policy == "round_robin":
        last = known.last_assigned
        return managers[(ids.index(last) + 1) % len(managers) if last in ids else 0]
    if policy == "least_loaded":
        loads = known.loads or {}
        return min(zip(managers, ids, strict=True), key=lambda pair: loads.get(pair[1], 0))[0]
    raise ValueError(f"unknown assignment policy {policy!r}")


def may_follow_up(*, marketing: bool, consents: Collection[str], blocked: bool) -> bool:
    """A follow-up goes out while the prospect has not blocked the bot and still holds the
    consent it needs: the marketing opt-in for marketing ones, processing for the rest."""
    return not blocked and ("marketing" if marketing else "processing") in consents
