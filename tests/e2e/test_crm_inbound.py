"""Sales back from the CRM, through the real bot and its web server on 127.0.0.1: the fake
Bitrix24 and amoCRM send their webhooks as the real ones do (form-urlencoded, their own
fields) and answer the read-backs; another CRM signs a generic event. A sale with its
amount reaches the lead, its hand-off and the OTHER CRMs (never the one that told us),
once however often it is told; a final status that cannot follow is kept as the CRM's word,
with an alert to the managers, a stage in process quietly; leadbot's own calculator price
read back is no sale; a Bitrix24 lead converted into a deal is not sold; a CRM down during
the read-back loses nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.service import callbacks
from storage.schema.tables import Conversation, Handoff
from tests.e2e import test_crm
from tests.e2e.crm_inbound import (
    AMO_SECRET,
    a_lead,
    alerts,
    base,
    crm_events,
    deliveries,
    handoff_of,
    inbound_bot,
    inbound_rows,
    lead_now,
    send_event,
    settled_inbound,
    until_status,
)
from tests.e2e.test_crm import delivered
from tests.e2e.test_handoff import ANNA, GROUP, cards, hot_lead, manager_tap, push
from tests.e2e.test_sales import reply

database, fakes, no_targets = test_crm.database, test_crm.fakes, test_crm.no_targets


def updates_sent_to(fake, method: str) -> int:
    return sum(1 for path, _, status in fake.requests if path.endswith(method))


async def test_a_bitrix24_lead_won_without_a_deal_reaches_leadbot_and_the_other_crms(
        telegram, fakes, database):
    """A lead's S with no deal made from it (a portal without deals): the sale."""
    bitrix, amo, hook = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8201)
        [remote] = bitrix.by_origin(lead.id)
        remote.update(STATUS_ID="CONVERTED", STATUS_SEMANTIC_ID="S",
                      OPPORTUNITY="150000.00", CURRENCY_ID="RUB")
        updates_before = updates_sent_to(bitrix, "crm.lead.update.json")
        status, _ = await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE",
                                        remote["ID"])
        assert status == 200
        won = await until_status(running, lead.id, "won")
        assert won.amount == 15000000 and won.currency == "RUB" and won.won_at is not None
        assert won.crm_status is None
        assert (await handoff_of(running, lead.id)).status == "won"
        await delivered(running)
        [deal] = amo.leads.values()
        assert deal["status_id"] == 142  # amoCRM heard of the sale
        status_event = hook.received[-1]
        assert status_event["event"] == "status"
        assert status_event["data"] == {"status": "won", "reason": None, "crm": "bitrix24"}
        sent = await deliveries(running)
        assert not [d for d in sent if d[0] == "bitrix24" and d[1] == "status"]  # no echo
        assert updates_sent_to(bitrix, "crm.lead.update.json") == updates_before

        for _ in range(2):  # Bitrix24 tells it again (any field edited): nothing more
            assert (await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE",
                                        remote["ID"]))[0] == 200
            await settled_inbound(running)
        rows = await settled_inbound(running)
        assert [(r.target, r.lead_id, r.status, r.amount, r.result) for r in rows] == [
            ("bitrix24", lead.id, "won", 15000000, "applied")]
        events = await crm_events(running)
        assert events == [{"target": "bitrix24", "lead": lead.id, "status": "won",
                           "amount": 15000000, "result": "applied", "why": None}]
        assert len(await deliveries(running)) == len(sent)  # nothing queued again


async def test_a_bitrix24_deal_won_is_mapped_by_its_lead(telegram, fakes, database):
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8202)
        [remote] = bitrix.by_origin(lead.id)
        deal_id = bitrix.deal(int(remote["ID"]), STAGE_ID="C1:WON", STAGE_SEMANTIC_ID="S",
                              OPPORTUNITY="99000.50", CURRENCY_ID="RUB")
        status, _ = await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMDEALUPDATE",
                                        deal_id)
        assert status == 200
        won = await until_status(running, lead.id, "won")
        assert won.amount == 9900050
        rows = await settled_inbound(running)
        assert len(rows) == 1, [(r.key, r.result, r.status, r.lead_id) for r in rows]
        [row] = rows
        assert row.key.startswith(f"deal:{deal_id}:") and row.result == "applied"


async def test_an_amocrm_lead_won_with_its_price(telegram, fakes, database):
    _, amo, hook = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8203)
        [(remote_id, remote)] = amo.leads.items()
        remote.update(status_id=142, price=120000)
        status, _ = await amo.notify(f"{base(running)}/crm/amocrm/{AMO_SECRET}", remote_id)
        assert status == 200
        won = await until_status(running, lead.id, "won")
        assert won.amount == 12000000 and won.currency == "RUB"  # LEADBOT_CURRENCY's
        await delivered(running)
        assert hook.received[-1]["data"]["crm"] == "amocrm"
        sent = await deliveries(running)
        assert not [d for d in sent if d[0] == "amocrm" and d[1] == "status"]


async def test_the_generic_hook_sets_a_sale_once(telegram, fakes, database):
    bitrix, _, hook = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8204)
        event = {"lead_id": lead.id, "status": "won", "amount": "150000.00",
                 "currency": "RUB"}
        status, answer = await send_event(running, event, delivery="d-1")
        assert status == 200 and '"applied"' in answer
        won = await lead_now(running, lead.id)
        assert won.status == "won" and won.amount == 15000000
        status, answer = await send_event(running, {**event, "amount": "1.00"},
                                          delivery="d-1")  # the same delivery again
        assert status == 200 and '"repeat"' in answer
        assert (await lead_now(running, lead.id)).amount == 15000000
        await delivered(running)
        [remote] = bitrix.by_origin(lead.id)
        assert remote["STATUS_ID"] == "PROCESSED"  # Bitrix24 heard of it
        assert [e["event"] for e in hook.received].count("status") == 0  # not echoed
        assert len(await crm_events(running)) == 1

        status, answer = await send_event(running, {"lead_id": 987654, "status": "won"})
        assert status == 200 and '"unknown_lead"' in answer  # no retry forever


async def test_a_status_that_cannot_follow_is_kept_with_an_alert(telegram, fakes, database):
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8205)
        status, _ = await send_event(running, {"lead_id": lead.id, "status": "lost",
                                               "reason": "price"})
        assert status == 200
        assert (await handoff_of(running, lead.id)).lost_reason == "price"
        await delivered(running)  # Bitrix24 heard "lost" (JUNK) before its manager wins it
        [remote] = bitrix.by_origin(lead.id)
        remote.update(STATUS_ID="CONVERTED", STATUS_SEMANTIC_ID="S", OPPORTUNITY="5000")
        for _ in range(2):  # told twice: kept once, one alert
            await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE",
                                remote["ID"])
            await settled_inbound(running)
        kept = await lead_now(running, lead.id)
        assert kept.status == "lost" and kept.crm_status == "CONVERTED"
        assert kept.amount is None and kept.won_at is None
        [alert] = await alerts(running, GROUP)
        assert f"#{lead.id}" in alert and "Bitrix24" in alert and "CONVERTED" in alert
        assert "Olivia" not in alert and "+7916" not in alert
        results = [e["result"] for e in await crm_events(running)]
        assert results == ["applied", "kept"]

        status, _ = await send_event(running, {"lead_id": lead.id, "status": "won",
                                               "amount": "10", "currency": "USD"})
        assert status == 200 and (await lead_now(running, lead.id)).amount is None


async def test_a_crm_down_during_the_read_back_loses_nothing(telegram, fakes, database):
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8206)
        [remote] = bitrix.by_origin(lead.id)
        remote.update(STATUS_SEMANTIC_ID="S", STATUS_ID="CONVERTED", OPPORTUNITY="700")
        # twice (2 s, then 4 s of back-off: a third would add 8 s to the suite, no news)
        bitrix.fail(503, {"error": "INTERNAL_SERVER_ERROR"}, times=2, path="crm.lead.get")
        status, _ = await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE",
                                        remote["ID"])
        assert status == 200  # stored: answered at once, read back when it can be
        won = await until_status(running, lead.id, "won")
        assert won.amount == 70000
        gets = [s for p, _, s in bitrix.requests if p.endswith("crm.lead.get.json")]
        assert gets[:2] == [503, 503] and gets[-1] == 200


@pytest.mark.parametrize("stage", ["UC_CUSTOM"])
async def test_an_unknown_stage_in_process_is_kept_quietly(telegram, fakes, database, stage):
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8207)
        [remote] = bitrix.by_origin(lead.id)
        remote.update(STATUS_SEMANTIC_ID="P", STATUS_ID=stage)
        await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE", remote["ID"])
        await settled_inbound(running)
        kept = await lead_now(running, lead.id)
        assert kept.status == "handoff" and kept.crm_status == stage
        assert await alerts(running, GROUP) == []  # in process: no alert
        assert [e["result"] for e in await crm_events(running)] == ["kept"]  # recorded


async def test_a_bitrix24_lead_converted_into_a_deal_is_not_a_sale(telegram, fakes, database):
    """Classic mode: converting the lead makes a deal and sets the lead CONVERTED (S):
    qualified, not sold; the deal's stages in process are kept quietly (no alert at every
    move); the deal's S is the sale, with the deal's amount."""
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8208)
        [remote] = bitrix.by_origin(lead.id)
        remote.update(STATUS_ID="CONVERTED", STATUS_SEMANTIC_ID="S", OPPORTUNITY="5000.00")
        deal_id = bitrix.deal(int(remote["ID"]), STAGE_ID="C1:NEW")
        await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE", remote["ID"])
        await settled_inbound(running)
        converted = await lead_now(running, lead.id)
        assert converted.status == "handoff" and converted.won_at is None
        assert converted.amount is None and converted.crm_status == "CONVERTED"
        for stage in ("C1:PREPARATION", "C1:PREPAYMENT_INVOICE", "C1:EXECUTING"):
            bitrix.deals[deal_id].update(STAGE_ID=stage, OPPORTUNITY="99000.00")
            await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMDEALUPDATE", deal_id)
            await settled_inbound(running)
            assert (await lead_now(running, lead.id)).crm_status == stage
        assert await alerts(running, GROUP) == []
        bitrix.deals[deal_id].update(STAGE_ID="C1:WON", STAGE_SEMANTIC_ID="S")
        await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMDEALUPDATE", deal_id)
        won = await until_status(running, lead.id, "won")
        assert won.amount == 9900000 and won.crm_status is None
        assert await alerts(running, GROUP) == []


async def test_a_bitrix24_lead_leadbot_did_not_make_is_not_read_back(
        telegram, fakes, database):
    """Bitrix24 tells of every lead edited in the portal: one leadbot did not make is
    answered and forgotten (no row, no crm.lead.get); a deal is still read back."""
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        stranger = bitrix.leads.setdefault(777, {"ID": "777", "STATUS_ID": "NEW",
                                                 "STATUS_SEMANTIC_ID": "P"})
        gets = sum(1 for p, _, _ in bitrix.requests if p.endswith("crm.lead.get.json"))
        status, answer = await bitrix.notify(f"{base(running)}/crm/bitrix24",
                                             "ONCRMLEADUPDATE", stranger["ID"])
        assert status == 200 and "not ours" in answer
        assert await inbound_rows(running) == []
        assert sum(1 for p, _, _ in bitrix.requests if p.endswith("crm.lead.get.json")) \
            == gets
        deal_id = bitrix.deal(777)
        await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMDEALUPDATE", deal_id)
        [row] = await settled_inbound(running)
        assert row.key.startswith(f"deal:{deal_id}") and row.result == "unknown_lead"


async def a_calculator_lead(running, user_id: int):
    """A hot lead whose conversation has the calculator's price 120,000, claimed by Anna,
    delivered. Returns the hand-off and Anna's copy of the lead."""
    await hot_lead(running.prospect(user_id, "en"))
    async with running.app.sessions() as session, session.begin():
        handoff = (await session.execute(select(Handoff).where(
            Handoff.user_id == user_id))).scalar_one()
        conversation = await session.get(Conversation, handoff.conversation_id)
        state = dict(conversation.state or {})
        state["results"] = {**(state.get("results") or {}), "price": 120000}
        conversation.state = state
    claim = cards(running)[-1].params["reply_markup"]["inline_keyboard"][0][0]
    await push(running, manager_tap(running, ANNA, claim["callback_data"]))
    copy = running.telegram.sent(ANNA, "sendMessage")[-1]
    await delivered(running)
    return handoff, copy


async def test_the_calculators_price_echoed_back_is_not_the_sale(telegram, fakes, database):
    """Read back BEFORE the manager's reply: a calculator lead marked won, no amount
    yet. leadbot's status update does not send the price as OPPORTUNITY (it would read
    back as the sale); Bitrix24 still holds the price leadbot wrote on creation, and
    tells of the update: won, no amount. The manager's amount then is the sale, not a
    "correction" of the estimate, and nothing is pushed back."""
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database, manager_ids=[ANNA],
                           currency="RUB") as running:
        handoff, copy = await a_calculator_lead(running, 8301)
        [remote] = bitrix.by_origin(handoff.lead_id)
        remote.pop("OPPORTUNITY", None)
        await push(running, manager_tap(running, ANNA, callbacks.status(handoff.id, "won"),
                                        chat_id=ANNA, message_id=copy.result["message_id"]))
        asked = running.telegram.sent(ANNA, "sendMessage")[-1]
        await delivered(running)
        assert remote["STATUS_ID"] == "PROCESSED" and "OPPORTUNITY" not in remote
        remote["OPPORTUNITY"] = "120000.00"  # what leadbot wrote when it created the lead
        status, _ = await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE",
                                        remote["ID"])
        assert status == 200
        await settled_inbound(running)
        lead = await lead_now(running, handoff.lead_id)
        assert lead.status == "won"
        assert lead.amount is None, "leadbot's own calculator price came back as the sale"
        await push(running, reply(ANNA, "150000", asked.result["message_id"]))
        answer = running.telegram.sent(ANNA, "sendMessage")[-1].params["text"]
        assert "150,000" in answer and "Corrected" not in answer and "120,000" not in answer
        assert (await lead_now(running, handoff.lead_id)).amount == 15000000
        await delivered(running)
        assert float(remote["OPPORTUNITY"]) == 150000


async def test_the_calculators_price_read_back_after_the_managers_amount_is_not_the_sale(
        telegram, fakes, database):
    """Read back AFTER the manager's reply, before the sale reached Bitrix24 (it still
    holds the price leadbot wrote on creation): the manager's amount stands, leadbot does
    not push the estimate back."""
    bitrix, _, _ = fakes
    async with inbound_bot(telegram, fakes, database, manager_ids=[ANNA],
                           currency="RUB") as running:
        handoff, copy = await a_calculator_lead(running, 8302)
        [remote] = bitrix.by_origin(handoff.lead_id)
        await push(running, manager_tap(running, ANNA, callbacks.status(handoff.id, "won"),
                                        chat_id=ANNA, message_id=copy.result["message_id"]))
        asked = running.telegram.sent(ANNA, "sendMessage")[-1]
        await push(running, reply(ANNA, "150000", asked.result["message_id"]))
        await delivered(running)
        sent = await deliveries(running)
        remote.update(OPPORTUNITY="120000.00", STATUS_ID="PROCESSED", STATUS_SEMANTIC_ID="S")
        status, _ = await bitrix.notify(f"{base(running)}/crm/bitrix24", "ONCRMLEADUPDATE",
                                        remote["ID"])
        assert status == 200
        await settled_inbound(running)
        lead = await lead_now(running, handoff.lead_id)
        assert lead.status == "won" and lead.amount == 15000000
        assert len(await deliveries(running)) == len(sent)  # nothing pushed back
        assert "Corrected" not in running.telegram.sent(ANNA, "sendMessage")[-1].params[
            "text"]
