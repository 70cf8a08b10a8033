"""What every ad platform's conversion is made of, read from the lead when sent
(storage.deliveries.facts): the moment's value (a sale's amount and currency), the click
that brought the prospect, whether contacts may go, and each platform's limits.

Nothing here is sent or kept: the targets build their requests from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from storage.deliveries.facts import LeadFacts


@dataclass(frozen=True)
class AdLimits:
    """Requests per second and burst per platform, and how long a call may take. Metrica
    allows a few uploads a second per token (we upload a batch every few minutes); Meta's
    and GA4's limits are far above a bot's conversions: we stay polite all the same."""

    metrica_rate: float = 1.0
    metrica_burst: float = 3.0
    meta_rate: float = 10.0
    meta_burst: float = 10.0
    ga4_rate: float = 10.0
    ga4_burst: float = 10.0
    timeout: float = 15.0  # seconds for one call

    def scaled(self, factor: float, timeout: float | None = None) -> AdLimits:
        """Faster limits for tests."""
        return AdLimits(self.metrica_rate * factor, self.metrica_burst,
                        self.meta_rate * factor, self.meta_burst,
                        self.ga4_rate * factor, self.ga4_burst,
                        timeout if timeout is not None else self.timeout)


def value(facts: LeadFacts, moment: str) -> tuple[Decimal, str] | None:
    """A `won` conversion's value: the sale's amount (in whole units, exact) and currency,
    as recorded when it is sent; None for every other moment, or a sale without amount."""
    lead = facts.lead
    if moment != "won" or lead.get("amount") is None or not lead.get("currency"):
        return None
    return Decimal(int(lead["amount"])) / 100, str(lead["currency"])


def click(facts: LeadFacts) -> dict[str, Any]:
    """The click that brought the prospect: yclid, gclid, fbclid, ym_uid, ga_client_id and
    `at` (its time), or empty."""
    return dict(facts.click or {})


def consented(facts: LeadFacts) -> bool:
    """Whether anything may be sent for this lead: the processing consent in force, not
    erased."""
    return "processing" in facts.consents and not facts.lead.get("erased_at")


def contacts(facts: LeadFacts) -> dict[str, str]:
    """The lead's email and phone as kept, for a platform allowed them (Meta with
    `contacts: true`): only while consented; the target hashes them as the platform says."""
    if not consented(facts):
        return {}
    return {k: str(facts.lead[k]) for k in ("email", "phone") if facts.lead.get(k)}


def moment_time(created_at: datetime | None, now: datetime) -> datetime:
    """When the moment happened (the row's `created_at`): the conversion's time."""
    return created_at or now
