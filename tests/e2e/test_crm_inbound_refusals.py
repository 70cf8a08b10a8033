"""Forged, replayed and malformed inbound CRM webhooks, sent to the running bot's web
server: each refused with its status, and nothing stored (the tables are counted before
and after): no notification, no event, no delivery, no status, no kept word."""

from __future__ import annotations

import json
import time

from tests.e2e import test_crm
from tests.e2e.crm_inbound import (
    AMO_SECRET,
    INBOUND_SECRET,
    a_lead,
    base,
    counts,
    inbound_bot,
    send_event,
    signed,
)
from tests.e2e.test_crm import with_crm
from tests.fakes.crm import post

database, fakes, no_targets = test_crm.database, test_crm.fakes, test_crm.no_targets
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def chunks(first: bytes, kib: int):
    """A body sent chunked (no Content-Length): the cap must hold as it is read."""
    yield first
    for _ in range(kib):
        yield b"&x=" + b"a" * 1021


async def test_forged_replayed_and_malformed_webhooks_are_refused_with_nothing_stored(
        telegram, fakes, database):
    bitrix, amo, _ = fakes
    async with inbound_bot(telegram, fakes, database) as running:
        lead = await a_lead(running, 8301)
        [remote] = bitrix.by_origin(lead.id)
        remote.update(STATUS_SEMANTIC_ID="S", OPPORTUNITY="100")
        [remote_amo] = amo.leads
        before = await counts(running)
        url = base(running)
        hook, amo_hook = f"{url}/crm/bitrix24", f"{url}/crm/amocrm/{AMO_SECRET}"
        lead_update = f"event=ONCRMLEADUPDATE&data%5BFIELDS%5D%5BID%5D={remote['ID']}"
        token = f"&auth%5Bapplication_token%5D={bitrix.app_token}"
        refused = {
            "bitrix24 without a token": (
                await bitrix.notify(hook, "ONCRMLEADUPDATE", remote["ID"], token=""), 401),
            "bitrix24 with another token": (
                await bitrix.notify(hook, "ONCRMLEADUPDATE", remote["ID"],
                                    token="forged-token-0123456789abcdef"), 403),
            "bitrix24 of another event": (
                await bitrix.notify(hook, "ONCRMCONTACTUPDATE", remote["ID"]), 400),
            "bitrix24 without an id": (
                await post(hook, body=f"event=ONCRMLEADUPDATE{token}".encode(),
                           headers=FORM), 400),
            "bitrix24 as JSON": (
                await post(hook, body=json.dumps({"event": "ONCRMLEADUPDATE"}).encode(),
                           headers={"Content-Type": "application/json"}), 415),
            "bitrix24 not a form": (
                await post(hook, body=b"%%%&&==", headers=FORM), 400),
            "bitrix24 with a NUL": (
                await post(hook, body=f"{lead_update}%00{token}".encode(), headers=FORM),
                400),
            "bitrix24 with a raw NUL": (
                await post(hook, body=f"{lead_update}\x00{token}".encode(), headers=FORM),
                400),
            "bitrix24 not UTF-8": (
                await post(hook, body=lead_update.encode() + b"\xff\xfe" + token.encode(),
                           headers=FORM), 400),
            "bitrix24 huge": (
                await post(hook, body=(lead_update + token + "&x=" + "a" * 200_000)
                           .encode(), headers=FORM), 413),
            "bitrix24 huge, chunked": (
                await post(hook, body=chunks((lead_update + token).encode(), 70),
                           headers=FORM), 413),
            "amocrm at another secret": (
                await post(f"{url}/crm/amocrm/{AMO_SECRET[:-1]}x",
                           body=f"leads%5Bstatus%5D%5B0%5D%5Bid%5D={remote_amo}".encode(),
                           headers=FORM), 404),
            "amocrm without a lead": (
                await post(amo_hook, body=b"account%5Bid%5D=29000000", headers=FORM), 400),
            "amocrm with a NUL": (
                await post(amo_hook, body=f"leads%5Bstatus%5D%5B0%5D%5Bid%5D={remote_amo}"
                           "%00".encode(), headers=FORM), 400),
            "event forged": (
                await send_event(running, {"lead_id": lead.id, "status": "won"},
                                 secret="another-secret-0123456789abcdef"), 401),
            "event from before": (
                await send_event(running, {"lead_id": lead.id, "status": "won"},
                                 stamp=int(time.time()) - 3600), 401),
            "event from the future": (
                await send_event(running, {"lead_id": lead.id, "status": "won"},
                                 stamp=int(time.time()) + 3600), 401),
            "event unsigned": (
                await post(f"{url}/crm/events", body=json.dumps(
                    {"lead_id": lead.id, "status": "won"}).encode(),
                    headers={"Content-Type": "application/json"}), 401),
            "event not JSON": (await send_event(running, b"won, please"), 400),
            "event a list": (await send_event(running, b"[1, 2]"), 400),
            "event without a lead": (await send_event(running, {"status": "won"}), 400),
            "event without a status": (
                await send_event(running, {"lead_id": lead.id}), 400),
            "event with a word for an amount": (
                await send_event(running, {"lead_id": lead.id, "status": "won",
                                           "amount": "a lot"}), 400),
            "event with a JSON number of three decimals": (  # never rounded to 0.12
                await send_event(running, {"lead_id": lead.id, "status": "won",
                                           "amount": 0.125}), 400),
            "event with a sale of a trillion": (
                await send_event(running, {"lead_id": lead.id, "status": "won",
                                           "amount": 1e12}), 400),
            "event with a NUL": (
                await send_event(running, {"lead_id": lead.id, "status": "won\x00"}), 400),
            "event huge": (
                await send_event(running, {"lead_id": lead.id, "status": "won",
                                           "pad": "a" * 100_000}), 413),
        }
        raw, headers = signed({"lead_id": lead.id, "status": "won"}, delivery="d-9")
        headers["X-Leadbot-Delivery"] = "d-10"  # a delivery id not the one signed
        refused["event with another delivery id"] = (
            await post(f"{url}/crm/events", body=raw, headers=headers), 400)
        got = {name: answer[0] for name, (answer, _) in refused.items()}
        assert got == {name: status for name, (_, status) in refused.items()}
        await running.app.inbound.reader.pass_once()  # were anything stored, it is read
        assert await counts(running) == before
        assert not [text for (_, text), _ in refused.values() if INBOUND_SECRET in text
                    or bitrix.app_token in text]


async def test_the_routes_are_not_there_unless_configured(telegram, fakes, tmp_path):
    async with with_crm(telegram, fakes, f"sqlite:///{tmp_path}/bot.db") as running:
        from tests.e2e.harness import eventually

        async def listening() -> bool:
            return running.app.address is not None

        await eventually(listening, what="the web server")
        url = base(running)
        for path in ("/crm/bitrix24", f"/crm/amocrm/{AMO_SECRET}", "/crm/events"):
            status, _ = await post(f"{url}{path}", body=b"x=1", headers=FORM)
            assert status == 404, path
