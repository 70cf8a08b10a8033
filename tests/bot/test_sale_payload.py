"""A won sale in what the CRMs are sent (bot/deliveries/crm/payload.py, bitrix24.py, amocrm.py): the
webhook's `lead.sale`, Bitrix24's OPPORTUNITY and CURRENCY_ID, amoCRM's price; before the
amount, and after a sale fell through, the calculator's price as before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.cli.crm import sample
from bot.deliveries.crm import payload
from bot.deliveries.crm.amocrm import AmoCrmTarget
from bot.deliveries.crm.bitrix24 import Bitrix24Target
from bot.deliveries.http import CrmLimits
from bot.deliveries.port import Job
from dialogs.rules.crm import AmoCrmMapping, Bitrix24Mapping

NOW = datetime(2026, 12, 3, 13, 50, tzinfo=UTC)


def facts(**lead):
    found = sample(NOW)
    return dataclasses.replace(found, lead={**found.lead, **lead})


def job(event: str, **lead) -> Job:
    return Job(key="k", event=event, data={}, facts=facts(**lead), remote_id="1",
               contact_id=None, retried=False, now=NOW)


@pytest.fixture
async def targets():
    found = (Bitrix24Target("http://127.0.0.1:9/rest/1/k/", Bitrix24Mapping(currency="USD"),
                            CrmLimits()),
             AmoCrmTarget("http://127.0.0.1:9", "t", AmoCrmMapping(), CrmLimits()))
    yield found
    for target in found:
        await target.close()


@pytest.mark.parametrize(("lead", "expected"), [
    ({}, None),  # not won
    ({"status": "won", "won_at": NOW}, {"amount": None, "amount_minor": None,
                                        "currency": None, "won_at": NOW.isoformat()}),
    ({"status": "won", "won_at": NOW, "amount": 15_000_050, "currency": "RUB"},
     {"amount": "150000.50", "amount_minor": 15_000_050, "currency": "RUB",
      "won_at": NOW.isoformat()}),
    ({"status": "won", "won_at": NOW, "amount": 7, "currency": "RUB"},
     {"amount": "0.07", "amount_minor": 7, "currency": "RUB", "won_at": NOW.isoformat()}),
    ({"status": "lost", "won_at": None, "amount": None}, None),  # fell through
])
def test_the_webhooks_lead_carries_its_sale(lead, expected):
    body = payload.body("sale", "k", facts(**lead), {}, NOW)
    assert body["version"] == 1 and body["lead"]["sale"] == expected


async def test_the_sale_is_the_crms_amount_and_the_price_only_an_estimate(targets):
    bitrix, amo = targets
    won = {"status": "won", "won_at": NOW, "amount": 15_000_050, "currency": "RUB"}
    fields = bitrix.fields(job("sale", **won))
    assert (fields["OPPORTUNITY"], fields["CURRENCY_ID"]) == (150000.5, "RUB")
    assert fields["STATUS_ID"] == "PROCESSED"
    assert "Sale 150,000.50 RUB" in fields["COMMENTS"]
    assert amo.lead(job("sale", **won))["price"] == 150001  # whole units, half up
    assert amo.lead(job("sale", **won))["status_id"] == 142
    # won, no amount yet: NOT the calculator's price (it would come back as the sale)
    fields = bitrix.fields(job("status", status="won", won_at=NOW))
    assert "OPPORTUNITY" not in fields and "CURRENCY_ID" not in fields
    assert "Sale" not in fields["COMMENTS"]
    assert "price" not in amo.lead(job("status", status="won", won_at=NOW))
    # nor with any status update; on the lead's creation: the price, the mapping's currency
    for event in ("claimed", "status"):
        assert "OPPORTUNITY" not in bitrix.fields(job(event, status="claimed"))
        assert "price" not in amo.lead(job(event, status="claimed"))
    fields = bitrix.fields(job("qualified"))
    assert (fields["OPPORTUNITY"], fields["CURRENCY_ID"]) == (150000, "USD")
    assert amo.lead(job("qualified"))["price"] == 150000
