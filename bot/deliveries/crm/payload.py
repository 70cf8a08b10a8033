"""What the CRMs are sent, built from the lead when sent (storage.deliveries.facts), never
stored: the signed webhook's versioned JSON, and the plain words a CRM shows (a title,
comments).

Contacts (name, phone, email) are included only while the prospect's consent to processing
is in force; after erasure they are gone from the lead, so nothing can carry them.

A won lead carries its sale (`sale`, `sale_amount`): the amount a manager recorded
(bot/handoff/sales.py), in the lead's currency; it stands in for the calculator's price
wherever a CRM has one amount (Bitrix24's OPPORTUNITY, amoCRM's price). The calculator's
price goes into that field only as an estimate (`estimate`): never with a status update and
never once the lead is won, so a CRM's won stage read back never carries leadbot's own price
as if it were the sale (bot/deliveries/crm/inbound; dialogs.rules.sales.echoed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from dialogs.rules.amounts import format_amount
from storage.deliveries.facts import LeadFacts

VERSION = 1  # of the webhook's JSON: raised when a field changes meaning or goes
SIGNATURE_HEADER = "X-Leadbot-Signature"
DELIVERY_HEADER = "X-Leadbot-Delivery"
TIMESTAMP_HEADER = "X-Leadbot-Timestamp"
EVENT_HEADER = "X-Leadbot-Event"


def iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def seconds(start: Any, end: Any) -> int | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return int((end - start).total_seconds())
    return None


def contact(facts: LeadFacts) -> dict[str, str | None] | None:
    """Name, phone, email: only with consent to processing in force, and only what is kept."""
    lead = facts.lead
    if "processing" not in facts.consents or lead.get("erased_at"):
        return None
    found = {k: lead.get(k) for k in ("name", "phone", "email")}
    return found if any(found.values()) else None


def price(facts: LeadFacts) -> float | None:
    value = facts.conversation["results"].get("price")
    return float(value) if isinstance(value, int | float) else None


STATUS_EVENTS = ("claimed", "status", "sale")  # the deliveries that move a CRM's stage


def estimate(facts: LeadFacts, event: str) -> float | None:
    """The calculator's price for a CRM's amount field: on the lead's creation and its
    other updates, not with a status (a won stage beside it would read back as the sale)
    and not once won (the sale's amount, when there is one, is what stands)."""
    lead = facts.lead
    if event in STATUS_EVENTS or lead.get("won_at") is not None or lead.get("status") == "won":
        return None
    return price(facts)


def sale_amount(facts: LeadFacts) -> Decimal | None:
    """A won sale's amount in whole units of its currency (exact), if one was recorded."""
    lead = facts.lead
    if lead.get("won_at") is None or lead.get("amount") is None:
        return None
    return Decimal(int(lead["amount"])) / 100


def sale(facts: LeadFacts) -> dict[str, Any] | None:
    """The webhook's `lead.sale`: null unless the lead is won; its amount null until the
    manager gave it. `amount` a decimal string (exact), `amount_minor` in hundredths."""
    lead = facts.lead
    if lead.get("won_at") is None:
        return None
    amount = sale_amount(facts)
    return {"amount": None if amount is None else f"{amount:.2f}",
            "amount_minor": lead.get("amount") if amount is not None else None,
            "currency": lead.get("currency") if amount is not None else None,
            "won_at": iso(lead.get("won_at"))}


def body(event: str, delivery_id: str, facts: LeadFacts, data: dict[str, Any],
         now: datetime) -> dict[str, Any]:
    """The webhook's JSON, version VERSION (docs/crm.md documents every field)."""
    lead, conversation, handoff = facts.lead, facts.conversation, facts.handoff
    timings = None
    if handoff is not None:
        submitted = handoff.get("submitted_at")
        timings = {
            "submitted_at": iso(submitted), "claimed_at": iso(handoff.get("claimed_at")),
            "first_contact_at": iso(handoff.get("first_contact_at")),
            "status": handoff.get("status"), "status_at": iso(handoff.get("status_at")),
            "lost_reason": handoff.get("lost_reason"), "route": handoff.get("route"),
            "manager_id": handoff.get("claimed_by"),
            "manager_name": handoff.get("claimed_by_name"),
            "seconds_to_claim": seconds(submitted, handoff.get("claimed_at")),
            "seconds_to_first_contact": seconds(submitted, handoff.get("first_contact_at"))}
    return {
        "version": VERSION, "event": event, "delivery_id": delivery_id,
        "timestamp": int(now.timestamp()), "data": data,
        "lead": {
            "id": lead["id"], "status": lead.get("status"),
            "flow": {"id": conversation["flow_id"], "version": conversation["flow_version"],
                     "variant": conversation.get("variant")},
            "source": conversation.get("source"), "language": conversation.get("language"),
            "answers": facts.answers,
            "score": lead.get("score"),
            "breakdown": lead.get("breakdown") or [],
            "temperature": lead.get("temperature"), "mql": lead.get("mql"),
            "sql": lead.get("sql"), "target": lead.get("target"),
            "outcome": lead.get("outcome"), "tags": lead.get("tags") or [],
            "discount": lead.get("discount"), "reward_code": lead.get("reward_code"),
            "price": price(facts),
            "sale": sale(facts),
            "contact": contact(facts),
            "started_at": iso(conversation.get("started_at")),
            "qualified_at": iso(lead.get("qualified_at")),
            "erased_at": iso(lead.get("erased_at")),
            "handoff": timings,
        },
    }


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode()


def signature(secret: str, raw: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body>`, as X-Leadbot-Signature carries it."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def title(facts: LeadFacts) -> str:
    """A CRM record's title: nothing personal in it (erasure need not find it)."""
    lead = facts.lead
    temperature = lead.get("temperature") or "new"
    return f"{facts.conversation['flow_id']}: {temperature} lead {marker(lead['id'])}"


def marker(lead_id: int) -> str:
    """leadbot's lead id as a CRM's search finds it: `[leadbot-12]` (never `-123`)."""
    return f"[leadbot-{lead_id}]"


def comments(facts: LeadFacts) -> str:
    """Answers with their points, score, temperature, MQL / SQL, price, sale, status: the lead as
    a manager reads it in the CRM."""
    lead = facts.lead
    lines = [f"{a['label']} ({a['points']:+d})" if a.get("points") else str(a["label"])
             for a in facts.answers]
    yes = {True: "yes", False: "no", None: "—"}
    summary = [f"Score {lead.get('score')} · {lead.get('temperature') or '—'} · "
               f"MQL {yes[lead.get('mql')]} · SQL {yes[lead.get('sql')]} · "
               f"target {yes[lead.get('target')]}"]
    if price(facts) is not None:
        summary.append(f"Price {price(facts):,.0f}")
    if sale_amount(facts) is not None:
        summary.append(f"Sale {format_amount(int(lead['amount']), 'en')} {lead.get('currency')}")
    if lead.get("discount"):
        summary.append(f"Discount {lead['discount']:g} %"
                       + (f" · code {lead['reward_code']}" if lead.get("reward_code") else ""))
    conversation = facts.conversation
    summary.append(f"{conversation['flow_id']} v{conversation['flow_version']} · "
                   f"source {conversation.get('source') or '—'} · status {lead.get('status')}")
    return "\n".join(["Answers:", *lines, "", *summary])
