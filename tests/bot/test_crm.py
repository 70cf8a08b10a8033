"""The CRM worker and clients against fake Bitrix24, amoCRM and webhook servers (aiohttp on
127.0.0.1, tests/fakes/crm.py) that keep their rate limits and fail on demand: retries,
refusals, the look-up after an ambiguous failure, a burst within every rate limit, the
managers told once, and the signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.crm import sample
from bot.deliveries.crm import payload
from bot.deliveries.crm.amocrm import AmoCrmTarget
from bot.deliveries.crm.bitrix24 import Bitrix24Target
from bot.deliveries.crm.webhook import WebhookTarget
from bot.deliveries.http import CrmLimits
from bot.deliveries.port import Crm, Job
from bot.deliveries.worker import Backoff, Worker
from dialogs.rules.crm import AmoCrmMapping, Bitrix24Mapping
from storage.deliveries import rows as crm
from storage.schema.tables import (
    Answer,
    Conversation,
    CrmDelivery,
    CrmLink,
    Event,
    Lead,
    OutboxMessage,
    Prospect,
    utcnow,
)
from storage.work.uow import UnitOfWork
from tests.fakes.crm import FakeAmoCrm, FakeBitrix24, FakeWebhook, Fault, Sink

SCALE = 2.0  # the fakes and the clients' limits sped up alike
LIMITS = CrmLimits().scaled(SCALE, timeout=1.0)
FAST = Backoff(first=0.05, cap=0.2)
GROUP = -100500


@pytest.fixture(autouse=True)
def no_targets():
    yield
    crm.configure(())


@pytest.fixture
async def fakes():
    found = (FakeBitrix24(rate=2 * SCALE), FakeAmoCrm(rate=7 * SCALE), FakeWebhook())
    for fake in found:
        await fake.start()
    yield found
    for fake in found:
        await fake.stop()


def targets(fakes, limits: CrmLimits = LIMITS) -> list:
    bitrix, amo, hook = fakes
    return [Bitrix24Target(bitrix.webhook_url, Bitrix24Mapping(stages={"hot": "IN_PROCESS"}),
                           limits),
            AmoCrmTarget(amo.url, amo.token, AmoCrmMapping(), limits),
            WebhookTarget(hook.hook_url, hook.secret, limits)]


async def add_leads(sessions, count: int, *, user: int = 5000, phone: str = "+79161234567",
                    names: tuple[str, ...] = ("crm",)) -> list[int]:
    """`count` hot leads with consent and contacts, each noted for every configured target,
    written as the service writes them: in one transaction with the lead."""
    crm.configure([crm.Spec(name) for name in names])
    now = utcnow()
    ids = []
    async with UnitOfWork(sessions) as uow:
        for n in range(count):
            uow.session.add(Prospect(user_id=user + n, chat_id=user + n, language="en"))
            await uow.session.flush()
            conversation = Conversation(
                user_id=user + n, chat_id=user + n, flow_id="kitchen-quiz", flow_version=1,
                step="done", finished=True, source="instagram",
                state={"language": "en", "consents": {"processing": "1"},
                       "results": {"price": 150000}})
            uow.session.add(conversation)
            await uow.session.flush()
            uow.session.add(Answer(conversation_id=conversation.id, step="layout",
                                   value="island", label="With an island", points=20))
            lead = Lead(conversation_id=conversation.id, user_id=user + n,
                        flow_id="kitchen-quiz", flow_version=1, source="instagram",
                        name="Olivia", phone=phone, email="olivia@example.com", score=98,
                        temperature="hot", mql=True, sql=True, target=True,
                        outcome="handoff", status="handoff", qualified_at=now)
            uow.session.add(lead)
            await uow.session.flush()
            crm.note(uow, lead.id, "qualified", now)
            ids.append(lead.id)
        await uow.commit()
    return ids


async def note(sessions, lead_id: int, event: str, **data) -> None:
    async with UnitOfWork(sessions) as uow:
        crm.note(uow, lead_id, event, utcnow(), **data)
        await uow.commit()


async def rows(sessions, model, *where):
    async with sessions() as session:
        return list((await session.execute(select(model).where(*where))).scalars())


async def test_a_lead_reaches_bitrix24_amocrm_and_the_webhook(sessions, fakes):
    bitrix, amo, hook = fakes
    found = targets(fakes)
    [lead_id] = await add_leads(sessions, 1, names=[t.name for t in found])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    [created] = bitrix.by_origin(lead_id)
    assert created["NAME"] == "Olivia" and created["UTM_SOURCE"] == "instagram"
    assert [v["VALUE"] for v in created["PHONE"]] == ["+79161234567"]
    assert created["EMAIL"][0]["VALUE"] == "olivia@example.com"
    assert "With an island (+20)" in created["COMMENTS"] and "Score 98" in created["COMMENTS"]
    assert created["STATUS_ID"] == "IN_PROCESS" and created["OPPORTUNITY"] == 150000
    [deal] = amo.by_marker(lead_id)
    assert deal["price"] == 150000 and {"name": "hot"} in deal["tags"]
    [contact_id] = deal["contacts"]
    phones = [f for f in amo.contacts[contact_id]["custom_fields_values"]
              if f["field_code"] == "PHONE"]
    assert phones[0]["values"][0]["value"] == "+79161234567"
    [event] = hook.received
    assert event["version"] == 1 and event["event"] == "qualified"
    assert event["lead"]["id"] == lead_id and event["lead"]["source"] == "instagram"
    assert event["lead"]["answers"][0]["label"] == "With an island"
    assert event["lead"]["contact"]["phone"] == "+79161234567"
    assert hook.bad_signatures == 0
    links = {link.target: link.remote_id for link in await rows(sessions, CrmLink)}
    assert links == {"bitrix24": created["ID"], "amocrm": str(deal["id"])}
    # a status change updates the same records
    async with UnitOfWork(sessions) as uow:
        (await uow.session.get(Lead, lead_id)).status = "won"
        crm.note(uow, lead_id, "status", utcnow(), status="won")
        await uow.commit()
    await worker.drain()
    assert len(bitrix.leads) == 1 and bitrix.leads[int(created["ID"])]["STATUS_ID"] == "PROCESSED"
    assert [v["VALUE"] for v in bitrix.leads[int(created["ID"])]["PHONE"]] == ["+79161234567"]
    assert len(amo.leads) == 1 and amo.leads[deal["id"]]["status_id"] == 142
    assert [e["event"] for e in hook.received] == ["qualified", "status"]
    assert hook.received[1]["data"] == {"status": "won"}
    await worker.close()


@pytest.mark.parametrize("fault", ["429", "503", "500", "timeout"])
async def test_transient_failures_are_retried_until_the_lead_arrives_once(sessions, fakes,
                                                                          fault):
    bitrix, amo, hook = fakes
    for fake in fakes:
        if fault == "timeout":
            fake.fail(200, hang=3.0, times=2)  # longer than the client's 1 s
        elif fault == "503":
            fake.fail(503, {"error": "QUERY_LIMIT_EXCEEDED"}, times=2)
        else:
            fake.fail(int(fault), {"error": "busy"}, times=2)
    found = targets(fakes)
    [lead_id] = await add_leads(sessions, 1, names=[t.name for t in found])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    assert len(bitrix.by_origin(lead_id)) == 1 and len(amo.by_marker(lead_id)) == 1
    assert len(hook.deliveries()) == 1
    sent = await rows(sessions, CrmDelivery, CrmDelivery.status == "sent")
    assert len(sent) == 3 and all(row.attempts == 3 for row in sent)
    await worker.close()


async def test_an_ambiguous_failure_looks_the_lead_up_instead_of_creating_it_again(
        sessions, fakes):
    """The CRM created the lead, then the answer never came (a timeout after sending)."""
    bitrix, amo, _ = fakes
    bitrix.fail(200, hang=3.0, after=True, path="crm.lead.add")
    amo.fail(504, {"title": "Gateway Timeout"}, after=True, path="complex")
    found = targets(fakes)[:2]
    [lead_id] = await add_leads(sessions, 1, names=[t.name for t in found])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    assert len(bitrix.leads) == 1 and len(amo.leads) == 1
    assert any("crm.lead.list" in path for path, _, _ in bitrix.requests)
    assert any(path == "/api/v4/leads" for path, _, _ in amo.requests)
    links = {link.target: link.remote_id for link in await rows(sessions, CrmLink)}
    assert links == {"bitrix24": bitrix.by_origin(lead_id)[0]["ID"],
                     "amocrm": str(amo.by_marker(lead_id)[0]["id"])}
    await worker.close()


async def test_a_refusal_is_not_retried_and_leaves_an_event(sessions, fakes, caplog):
    bitrix, _, _ = fakes
    bitrix.fail(400, {"error": "INVALID_FIELD", "error_description": "+79161234567 bad"})
    found = targets(fakes)[:1]
    [lead_id] = await add_leads(sessions, 1, names=["bitrix24"])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    [row] = await rows(sessions, CrmDelivery)
    assert row.status == "failed" and row.attempts == 1
    assert row.error == "HTTP 400"  # not a code of ours (http.py CODES): left out
    [event] = await rows(sessions, Event, Event.kind == "crm_failed")
    assert event.data["target"] == "bitrix24" and event.data["lead"] == lead_id
    assert bitrix.leads == {}
    assert "refused lead" in caplog.text and "+7916" not in caplog.text
    await worker.close()


async def test_the_managers_are_told_once_when_a_crm_is_down_for_hours(sessions, fakes):
    bitrix, _, _ = fakes
    bitrix.fail(503, {"error": "INTERNAL_SERVER_ERROR"}, times=10**6)
    found = targets(fakes)[:1]
    await add_leads(sessions, 2, names=["bitrix24"])
    later = utcnow() + timedelta(hours=3)
    worker = Worker(sessions, found, backoff=FAST, managers_chat_id=GROUP, language="en",
                    clock=lambda: later)
    for _ in range(3):  # three rounds of tries of both rows, all failing
        async with UnitOfWork(sessions) as uow:
            await uow.session.execute(CrmDelivery.__table__.update().values(
                not_before=utcnow()))
            await uow.commit()
        await worker.pass_once()
        while worker._tasks:
            await next(iter(worker._tasks))
    alerts = await rows(sessions, OutboxMessage, OutboxMessage.chat_id == GROUP)
    assert len(alerts) == 1
    assert "Leads have not reached Bitrix24 for 2 h" in alerts[0].payload["text"]
    assert all(row.status == "pending" for row in await rows(sessions, CrmDelivery))
    await worker.close()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # the rates are the CRMs'
async def test_a_burst_of_100_hot_leads_keeps_every_rate_limit(sessions, fakes):
    bitrix, amo, hook = fakes
    found = targets(fakes)
    ids = await add_leads(sessions, 100, names=[t.name for t in found])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain(timeout=300)
    assert (bitrix.refused, amo.refused) == (0, 0)
    assert all(len(bitrix.by_origin(i)) == 1 and len(amo.by_marker(i)) == 1 for i in ids)
    assert len(hook.deliveries()) == 100
    await worker.close()


async def test_the_fakes_refuse_a_client_with_no_limiter(fakes):
    """The burst test above can fail: the same clients without their limits, 100 leads at
    once, are refused by both fakes."""
    bitrix, amo, _ = fakes
    unlimited = CrmLimits(bitrix24_rate=10_000, bitrix24_burst=10_000, amocrm_rate=10_000,
                          amocrm_burst=10_000, timeout=10.0)
    found = targets(fakes, unlimited)[:2]
    now = utcnow()
    jobs = [Job(key=f"k{n}", event="qualified", data={}, facts=sample(now), remote_id=None,
                contact_id=None, retried=False, now=now) for n in range(100)]
    await asyncio.gather(*(target.deliver(job) for target in found for job in jobs),
                         return_exceptions=True)
    assert bitrix.refused > 0 and amo.refused > 0
    for target in found:
        await target.close()


def test_the_signature_verifies_as_the_docs_show():
    raw = payload.encode({"event": "qualified", "lead": {"id": 1, "name": "Олена"}})
    header = payload.signature("s3cret", raw)
    # the raw body, the secret, compare_digest: what the receiver's snippet does
    expected = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, expected)
    assert json.loads(raw)["lead"]["name"] == "Олена"
    assert not hmac.compare_digest(payload.signature("other", raw), expected)
    # and the snippet itself, as docs/crm.md gives it to whoever writes the receiver
    verify = docs_snippet("def verify(")["verify"]
    now = str(int(time.time()))
    assert verify(raw, {"X-Leadbot-Signature": header, "X-Leadbot-Timestamp": now}, "s3cret")
    assert not verify(raw, {"X-Leadbot-Signature": header, "X-Leadbot-Timestamp": now}, "x")
    assert not verify(raw + b" ", {"X-Leadbot-Signature": header,
                                   "X-Leadbot-Timestamp": now}, "s3cret")
    stale = str(int(time.time()) - 3600)
    assert not verify(raw, {"X-Leadbot-Signature": header, "X-Leadbot-Timestamp": stale},
                      "s3cret")


def docs_snippet(marker: str) -> dict:
    """The names defined by the Python block of docs/crm.md that holds `marker`."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "crm.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in page.split("```python\n")[1:]]
    [code] = [block for block in blocks if marker in block]
    names: dict = {}
    exec(compile(code, "docs/crm.md", "exec"), names)
    return names


async def test_retention_sends_an_erased_event_too(sessions, fakes):
    """Erasure notes an `erased` delivery for every target, whoever erases (here the
    retention job's call: some conversations of the prospect, reason "retention")."""
    from storage.privacy import erasure as privacy

    _, _, hook = fakes
    found = targets(fakes)[2:]
    [lead_id] = await add_leads(sessions, 1, names=["webhook"])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    async with UnitOfWork(sessions) as uow:
        lead = await uow.session.get(Lead, lead_id)
        await privacy.erase(uow, lead.user_id, now=utcnow(), reason="retention",
                            conversation_ids=[lead.conversation_id])
        await uow.commit()
    await worker.drain()
    erased = hook.received[-1]
    assert erased["event"] == "erased" and erased["data"] == {"reason": "retention"}
    assert erased["lead"]["contact"] is None and erased["lead"]["erased_at"]
    await worker.close()


async def test_a_row_in_hand_is_not_taken_by_a_second_worker(sessions, fakes):
    """Two processes pick the same due row: the lease gives it to one."""
    [lead_id] = await add_leads(sessions, 1, names=["webhook"])
    now = utcnow()
    async with UnitOfWork(sessions) as uow:
        [row] = await crm.due(uow, now)
        first = await crm.attempt(uow, row.id, now, timedelta(seconds=30))
        second = await crm.attempt(uow, row.id, now, timedelta(seconds=30))
        await uow.commit()
    assert (first, second) == (0, None)
    async with UnitOfWork(sessions) as uow:
        assert await crm.due(uow, now + timedelta(seconds=10)) == []
        assert [r.lead_id for r in await crm.due(uow, now + timedelta(seconds=31))] == [
            lead_id]


async def test_pruning_deletes_old_sent_rows_and_keeps_pending_ones(sessions, fakes):
    found = targets(fakes)[2:]
    await add_leads(sessions, 2, names=["webhook"])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    await add_leads(sessions, 1, user=7000, names=["webhook"])
    async with UnitOfWork(sessions) as uow:
        removed = await crm.prune(uow, utcnow() + timedelta(seconds=1))
        await uow.commit()
    assert removed == 2
    assert [r.status for r in await rows(sessions, CrmDelivery)] == ["pending"]
    await worker.close()


async def pass_and_wait(worker: Worker) -> None:
    await worker.pass_once()
    while worker._tasks:
        await next(iter(worker._tasks))


async def make_due(sessions) -> None:
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(CrmDelivery.__table__.update().values(not_before=utcnow()))
        await uow.commit()


async def test_a_refusal_quoting_the_phone_keeps_no_trace_of_it(sessions, fakes, caplog):
    """A CRM's error text may quote what it refused: nothing of it is stored or logged, only
    the status (and a code of our fixed list). Before: `invalidphone79164372958` in
    crm_deliveries.error, events.data and the log."""
    import logging

    caplog.set_level(logging.DEBUG, logger="bot")  # every line of ours (not SQL echo)
    bitrix, amo, hook = fakes
    quoted = "invalid phone +79164372958"
    bitrix.fail(503, {"error": quoted, "error_description": quoted})  # retried first
    bitrix.fail(400, {"error": quoted, "error_description": quoted})
    amo.fail(500, {"title": quoted, "detail": quoted, "status": 500})
    amo.fail(400, {"title": quoted, "detail": quoted, "status": 400})
    hook.fail(502, {"error": quoted})
    hook.fail(422, {"error": quoted})
    found = targets(fakes)
    await add_leads(sessions, 1, phone="+79164372958", names=[t.name for t in found])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    deliveries = await rows(sessions, CrmDelivery)
    assert sorted((r.target, r.status, r.error) for r in deliveries) == [
        ("amocrm", "failed", "HTTP 400"), ("bitrix24", "failed", "HTTP 400"),
        ("webhook", "failed", "HTTP 422")]
    events = await rows(sessions, Event)
    assert len([e for e in events if e.kind == "crm_failed"]) == 3
    stored = repr([r.model_dump() for r in deliveries + events])
    assert "refused lead" in caplog.text  # the lines are there, without the CRM's words
    for trace in ("4372958", "invalid", "phone"):
        assert trace not in stored and trace not in caplog.text, trace
    await worker.close()


@pytest.mark.parametrize("status", [302, 307])
async def test_a_redirect_is_never_followed_and_never_a_success(sessions, fakes, status):
    """A 302 was followed as a GET (its page counted as delivered), a 307 re-POSTed the
    signed lead to the host it named. Now: not followed, tried again later."""
    bitrix, amo, hook = fakes
    elsewhere = Sink()
    await elsewhere.start()
    bitrix.redirect(status, f"{elsewhere.url}/rest/1/other/crm.lead.add.json")
    amo.redirect(status, f"{elsewhere.url}/api/v4/leads/complex")
    hook.redirect(status, f"{elsewhere.url}/hooks/leads")
    found = targets(fakes)
    [lead_id] = await add_leads(sessions, 1, names=[t.name for t in found])
    worker = Worker(sessions, found, backoff=FAST)
    await pass_and_wait(worker)
    first = await rows(sessions, CrmDelivery)
    assert {(r.status, r.error) for r in first} == {("pending", f"HTTP {status} redirect")}
    events = await rows(sessions, Event, Event.kind == "crm_failed")
    assert sorted(e.data["target"] for e in events) == ["amocrm", "bitrix24", "webhook"]
    assert all(e.data["retrying"] is True for e in events)
    await worker.drain()  # the redirect was once: the next try delivers, once
    assert len(bitrix.by_origin(lead_id)) == 1 and len(amo.by_marker(lead_id)) == 1
    assert len(hook.deliveries()) == 1
    assert elsewhere.requests == [] and elsewhere.bodies == []  # nothing went there
    await elsewhere.stop()
    await worker.close()


NOT_UTF8 = "ошибка".encode("cp1251")


@pytest.mark.parametrize("case", ["bitrix24 not utf-8", "amocrm not utf-8",
                                  "amocrm a list for an object", "amocrm no id",
                                  "amocrm an id that is not one", "bitrix24 a result object"])
async def test_an_answer_the_bot_cannot_read_is_retried_with_backoff_an_event_and_the_alert(
        sessions, fakes, case):
    """Before: the error escaped the worker (the row retried every 30 s forever, no event,
    no alert), or the lead failed for good, or a non-id was kept as the CRM's id."""
    bitrix, amo, _ = fakes
    name = case.split()[0]
    if case == "bitrix24 not utf-8":
        bitrix.answer(200, NOT_UTF8, content_type="application/json")
    elif case == "amocrm not utf-8":
        amo.answer(200, NOT_UTF8, content_type="application/json")
    elif case == "amocrm a list for an object":
        amo.fail(200, [["id", 5001]], path="complex")
    elif case == "amocrm no id":
        amo.fail(200, [{"lead": 5001}], path="complex")
    elif case == "amocrm an id that is not one":
        amo.fail(200, [{"id": "five thousand", "contact_id": None}], path="complex")
    else:
        bitrix.fail(200, {"result": {"ID": "+79164372958"}}, path="crm.lead.add")
    found = [t for t in targets(fakes) if t.name == name]
    await add_leads(sessions, 1, names=[name])
    later = utcnow() + timedelta(hours=3)
    worker = Worker(sessions, found, backoff=Backoff(first=600, cap=900),
                    managers_chat_id=GROUP, language="en", clock=lambda: later)
    await pass_and_wait(worker)
    [row] = await rows(sessions, CrmDelivery)
    assert row.status == "pending" and row.attempts == 1
    assert row.error in ("HTTP 200 not_utf8", "HTTP 200 bad_answer")
    assert row.not_before - later >= timedelta(seconds=400)  # the back-off, not the lease
    [event] = await rows(sessions, Event, Event.kind == "crm_failed")
    assert event.data["retrying"] is True and event.data["reason"] == row.error
    [alert] = await rows(sessions, OutboxMessage, OutboxMessage.chat_id == GROUP)
    assert f"last answer: {row.error}" in alert.payload["text"]
    assert await rows(sessions, CrmLink) == []  # nothing but a number is kept as an id
    await make_due(sessions)
    worker.clock, worker.backoff = utcnow, FAST
    await worker.drain()  # the odd answer was once: the lead arrives, once
    [row] = await rows(sessions, CrmDelivery)
    assert row.status == "sent" and row.attempts == 2
    assert len(bitrix.leads) + len(amo.leads) == 1
    [link] = await rows(sessions, CrmLink)
    assert link.remote_id.isdigit()
    await worker.close()


async def test_a_maintenance_page_is_tried_again_until_the_lead_arrives_once(sessions, fakes):
    """One 200 HTML page from Bitrix24 failed the lead for good. Now the add, and the
    look-ups after it, may each get the page: the lead arrives when the portal is back."""
    bitrix, _, _ = fakes
    page = b"<!DOCTYPE html><html><body>Portal maintenance, back soon</body></html>"
    bitrix.answer(200, page, times=3)
    found = targets(fakes)[:1]
    [lead_id] = await add_leads(sessions, 1, names=["bitrix24"])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    [row] = await rows(sessions, CrmDelivery)
    assert row.status == "sent" and row.attempts == 4
    assert len(bitrix.by_origin(lead_id)) == 1 and len(bitrix.leads) == 1
    [event] = await rows(sessions, Event, Event.kind == "crm_failed")  # once per reason
    assert event.data["reason"] == "HTTP 200 maintenance_page"
    await worker.close()


@pytest.mark.parametrize("status", [403, 404])
async def test_a_4xx_page_not_json_is_tried_again_not_a_refusal(sessions, fakes, status):
    """A proxy's 403 page in front of the portal during maintenance (HTML, where Bitrix24
    answers JSON) failed the lead for good: it is not the CRM refusing the lead."""
    bitrix, _, _ = fakes
    bitrix.answer(status, b"<html><body>Forbidden by the gateway</body></html>", times=2)
    found = targets(fakes)[:1]
    [lead_id] = await add_leads(sessions, 1, names=["bitrix24"])
    worker = Worker(sessions, found, backoff=FAST)
    await worker.drain()
    [row] = await rows(sessions, CrmDelivery)
    assert row.status == "sent" and len(bitrix.by_origin(lead_id)) == 1
    [event] = await rows(sessions, Event, Event.kind == "crm_failed")
    assert event.data["reason"] == f"HTTP {status} maintenance_page"
    await worker.close()


async def test_a_retry_after_no_date_can_hold_is_capped(sessions, fakes):
    _, amo, _ = fakes
    amo.faults.append(Fault(429, {}, headers={"Retry-After": "1e300"}))
    found = targets(fakes)[1:2]
    await add_leads(sessions, 1, names=["amocrm"])
    worker = Worker(sessions, found, backoff=FAST)
    await pass_and_wait(worker)
    [row] = await rows(sessions, CrmDelivery)
    assert row.status == "pending" and row.error == "HTTP 429"
    assert row.not_before - utcnow() <= timedelta(hours=1)
    await worker.close()


class Surprised(Crm):
    """A target whose client meets what no check of it foresaw (the net under them all)."""

    name = "webhook"

    async def deliver(self, job):
        raise KeyError("+79164372958")  # as if a CRM's value ended up in the message

    async def close(self) -> None:
        pass


async def test_an_error_no_client_foresaw_is_a_retry_not_an_escape(sessions, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="bot")
    await add_leads(sessions, 1, names=["webhook"])
    worker = Worker(sessions, [Surprised()], backoff=Backoff(first=600, cap=900))
    await pass_and_wait(worker)
    [row] = await rows(sessions, CrmDelivery)
    assert (row.status, row.error, row.attempts) == ("pending", "bad_answer", 1)
    assert row.not_before - utcnow() >= timedelta(seconds=400)  # the back-off, not the lease
    [event] = await rows(sessions, Event, Event.kind == "crm_failed")
    assert event.data["retrying"] is True
    assert "could not read (KeyError)" in caplog.text and "4372958" not in caplog.text
