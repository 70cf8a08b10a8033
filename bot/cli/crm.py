"""`leadbot crm test`: a sample lead to every configured CRM target, and what each answered
— the first thing to run when setting a CRM up. The sample is obviously a test (its name
says so, the phone is a fictional +1 555 01xx number); nothing is written to the database.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime

from bot.deliveries.port import Job, Permanent, Transient
from bot.deliveries.targets import CrmConfigError, targets_from
from bot.settings import Settings
from storage.deliveries.facts import LeadFacts


def sample(now: datetime) -> LeadFacts:
    return LeadFacts(
        lead={"id": 0, "status": "handoff", "name": "leadbot test lead",
              "phone": "+15550100000", "email": "test@example.com", "score": 98,
              "temperature": "hot", "mql": True, "sql": True, "target": True,
              "outcome": "handoff", "discount": 15.0, "reward_code": "TEST15",
              "breakdown": [{"step": "timing", "label": "Within a month", "points": 25}],
              "tags": ["test"], "qualified_at": now, "erased_at": None},
        conversation={"id": 0, "flow_id": "leadbot-test", "flow_version": 1,
                      "source": "crm_test", "language": "en", "variant": None,
                      "started_at": now, "results": {"price": 150000}},
        answers=[{"step": "timing", "value": "month", "label": "Within a month",
                  "points": 25}],
        handoff=None, consents={"processing": "test"})


def crm_test(settings: Settings) -> int:
    try:
        targets = targets_from(settings)
    except CrmConfigError as error:
        print(f"leadbot crm test: {error}", file=sys.stderr)
        return 1
    if not targets:
        print("leadbot crm test: no CRM target is set (LEADBOT_WEBHOOK_URL, "
              "LEADBOT_BITRIX24_WEBHOOK_URL, LEADBOT_AMOCRM_URL)", file=sys.stderr)
        return 1
    return asyncio.run(_send(targets))


async def _send(targets: list) -> int:
    now = datetime.now(UTC)
    failures = 0
    for target in targets:
        job = Job(key=uuid.uuid4().hex, event="qualified", data={"test": True},
                  facts=sample(now), remote_id=None, contact_id=None, retried=False, now=now)
        try:
            result = await target.deliver(job)
            print(f"{target.name}: ok, {result.answer}")
        except (Transient, Permanent) as error:
            failures += 1
            print(f"{target.name}: FAILED, {error.reason}")
        finally:
            await target.close()
    return 1 if failures else 0
