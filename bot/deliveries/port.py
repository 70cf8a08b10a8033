"""What every remote target of the deliveries is to the one worker (worker.py): a CRM
(crm/: the signed webhook, Bitrix24, amoCRM) or an ad platform (ads/: Yandex Metrica, Meta,
Google Analytics 4). A target states what the worker would otherwise branch on by name:

- `events`: what it takes. A CRM takes leadbot's events (storage/deliveries/rows.py EVENTS);
  an ad platform takes conversion moments (dialogs/rules/conversions.py MOMENTS), and
  `goals` says which goal each moment is on that platform.
- `batch`: rows per request (1 for a CRM; many for Metrica's CSV upload), and `window`:
  seconds a row waits so that rows go together (Metrica: a few minutes).
- `max_age`: rows older than this are not sent (Meta refuses events over a week old).
- `repeat`: what makes a try after one that may have arrived safe: `lookup` (a CRM finds
  the lead before creating it), `dedupe` (the platform drops a repeat of the row's `key`:
  the webhook's receiver, Meta's `event_id`, Metrica's identical rows) or `never` (nothing
  does: GA4; such a row is not tried again, at most once).

A target imports this module, http.py, its payload and storage.deliveries.facts; never the
worker, a sibling or the settings (only targets.py reads settings; only worker.py opens a
unit of work).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from storage.deliveries.facts import LeadFacts
from storage.deliveries.rows import CRM_EVENTS


class Transient(Exception):
    """Try again later (`after`: seconds the target asked for; `odd`: an answer the bot
    could not read, worth a `crm_failed` event, not just a retry; `unknown`: the request
    may have arrived: a timeout, a connection lost once it was made, so a `repeat =
    "never"` target's row is not tried again)."""

    def __init__(self, reason: str, after: float | None = None, odd: bool = False,
                 unknown: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.after, self.odd = reason, after, odd
        self.unknown = unknown or reason == "timeout"


class Permanent(Exception):
    """The target refused this request for what it is: trying again will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Skip(Exception):
    """Not sent, by design, not a failure: the lead lacks what the platform needs (no click
    id of it, no identifier it accepts). The row ends `skipped` with this reason of ours."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Job:
    """One delivery row as a target sees it: the event (a CRM's) or moment (an ad
    platform's), the lead read now, and the target's id for it if known. `retried`: an
    earlier try may have reached the target (a timeout after sending, a crash), so a CRM
    looks the lead up before creating it. `created_at`: when the moment happened (an ad
    platform's conversion time)."""

    key: str  # the delivery id: the webhook's idempotency key, Meta's event_id
    event: str
    data: dict[str, Any]
    facts: LeadFacts
    remote_id: str | None
    contact_id: str | None
    retried: bool
    now: datetime
    created_at: datetime | None = None


@dataclass(frozen=True)
class Delivered:
    remote_id: str | None = None  # the target's id of the lead or of the upload (None: the
    contact_id: str | None = None  # webhook, or nothing to clear on erasure)
    answer: str = ""  # what the target said, for `leadbot crm test` / `conversions test`
    accepted: bool = False  # the platform confirmed it took the rows (Meta's count)
    # deliver_many: the jobs left out of the request, by key, with a Skip reason of ours
    # (a Metrica row with no click id); raising Skip instead skips every job of the call
    skipped: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    """What a batch target's upload became, read back later (Metrica): `accepted` or
    `failed` (with a reason of ours), or None while the platform is still processing."""

    status: str | None
    reason: str = ""


class Target(Protocol):
    name: str  # the rows' `target`: webhook, bitrix24, amocrm, metrica, meta, ga4
    events: frozenset[str]
    goals: Mapping[str, str]  # ad platforms: moment -> the platform's goal (CRMs: empty)
    batch: int
    window: float
    max_age: timedelta | None
    repeat: str  # lookup, dedupe, never

    async def deliver(self, job: Job) -> Delivered: ...

    async def close(self) -> None: ...


class Batched(Protocol):
    """A target with `batch` > 1: the due rows go in one request, and what the platform
    made of them is read back later (`check`, with the `remote_id` deliver_many gave)."""

    async def deliver_many(self, jobs: Sequence[Job]) -> Delivered: ...

    async def check(self, remote_id: str) -> Checked: ...


class Crm:
    """What the CRM targets (crm/*.py) share as a Target: leadbot's events, one row per
    request and at once, no age limit, a look-up before re-creating a lead."""

    events: frozenset[str] = frozenset(CRM_EVENTS)
    goals: Mapping[str, str] = {}
    batch = 1
    window = 0.0
    max_age: timedelta | None = None
    repeat = "lookup"
