"""Meta's Conversions API target (bot/deliveries/ads/meta.py) against a fake Meta on
127.0.0.1 (tests/fakes/meta.py) that checks what the real API requires (pixel, token, the
event's fields, hashes, fbc, the 7 days) and deduplicates as Meta does: the event exactly,
contacts only where allowed, a sale's value, a repeat counted once, errors kept without
anything personal, and the test mode."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.ads.meta import PAUSE, MetaTarget
from bot.deliveries.port import Job, Permanent, Skip, Transient
from dialogs.rules.conversions import Meta
from storage.deliveries.facts import LeadFacts
from tests.fakes.meta import FakeMeta, error

LIMITS = AdLimits().scaled(10.0, timeout=1.0)
FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"  # Meta's example
PHONE, EMAIL = "+16505551212", "  John_Smith@gmail.com "
# Meta's documented examples (customer information parameters): the normalised value and
# its SHA-256, which the target must reproduce
EM_DOC = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
PH_DOC = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
GOALS = {"lead": "Lead", "hot": "QualifiedLead", "won": "Purchase"}


@pytest.fixture
async def fake():
    server = FakeMeta()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def meta(fake):
    made: list[MetaTarget] = []

    def target(contacts: bool = True, test_event_code: str | None = None,
               pixel: str | None = None, token: str | None = None) -> MetaTarget:
        config = Meta(pixel=pixel or fake.pixel, goals=GOALS, contacts=contacts,
                      test_event_code=test_event_code, api_url=fake.api_url)
        made.append(MetaTarget(config, token or fake.token, LIMITS))
        return made[-1]

    yield target
    for found in made:
        await found.close()


def facts(*, fbclid: str | None = FBCLID, clicked: datetime | None = None,
          consented: bool = True, amount: int | None = None,
          currency: str | None = None) -> LeadFacts:
    now = datetime.now(UTC)
    click = {} if fbclid is None else {"fbclid": fbclid, "yclid": None, "gclid": None,
                                       "ym_uid": None, "ga_client_id": None,
                                       "at": clicked or now - timedelta(hours=2)}
    return LeadFacts(
        lead={"id": 7, "phone": PHONE, "email": EMAIL, "amount": amount,
              "currency": currency, "erased_at": None},
        conversation={"id": 3}, answers=[], handoff=None,
        consents={"processing": "v1"} if consented else {}, click=click)


def job(lead: LeadFacts, moment: str = "hot", key: str = "crm-delivery-41",
        created: datetime | None = None) -> Job:
    now = datetime.now(UTC)
    return Job(key=key, event=moment, data={"goal": GOALS[moment]}, facts=lead,
               remote_id=None, contact_id=None, retried=False, now=now,
               created_at=created or now - timedelta(minutes=5))


async def test_the_event_is_what_meta_requires(fake, meta):
    clicked = datetime(2026, 11, 30, 9, 15, 42, 123000, tzinfo=UTC)
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    sent = await meta().deliver(job(facts(clicked=clicked), created=created))
    assert sent.accepted and "events_received 1" in sent.answer
    # the hashes as Meta normalises: email trimmed and lower-cased; phone digits with the
    # country code, no plus
    em = hashlib.sha256(b"john_smith@gmail.com").hexdigest()
    ph = hashlib.sha256(b"16505551212").hexdigest()
    assert (em, ph) == (EM_DOC, PH_DOC)
    ms = (clicked - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert ms == 1796030142123
    assert fake.received == [{
        "event_name": "QualifiedLead", "event_time": int(created.timestamp()),
        "event_id": "crm-delivery-41", "action_source": "chat",
        "user_data": {"fbc": f"fb.1.1796030142123.{FBCLID}", "em": [em], "ph": [ph]}}]
    form = fake.forms[0]
    assert set(form) == {"data", "access_token"} and form["access_token"] == fake.token
    assert isinstance(json.loads(form["data"]), list)


async def test_contacts_go_only_when_the_file_allows_and_the_consent_stands(fake, meta):
    await meta(contacts=False).deliver(job(facts(), key="a"))
    await meta(contacts=True).deliver(job(facts(consented=False), key="b"))
    assert [e["user_data"] for e in fake.received] == [
        {"fbc": f"fb.1.{e['user_data']['fbc'].split('.')[2]}.{FBCLID}"}
        for e in fake.received]
    sent = "".join(json.dumps(form) for form in fake.forms)
    assert "16505551212" not in sent and "john_smith" not in sent.lower()
    # nothing Meta could match: not sent at all
    for target, lead in ((meta(contacts=False), facts(fbclid=None)),
                         (meta(contacts=True), facts(fbclid=None, consented=False))):
        with pytest.raises(Skip) as skipped:
            await target.deliver(job(lead, key="c"))
        assert skipped.value.reason == "no_click"
    # no click but contacts allowed: the hashed contacts alone
    await meta(contacts=True).deliver(job(facts(fbclid=None), key="d"))
    assert set(fake.received[-1]["user_data"]) == {"em", "ph"}
    assert len(fake.received) == 3


async def test_fbc_is_built_from_the_click(fake, meta):
    clicked = datetime.now(UTC) - timedelta(days=2, minutes=3)
    await meta(contacts=False).deliver(job(facts(clicked=clicked)))
    fbc = fake.received[0]["user_data"]["fbc"]
    assert fbc == f"fb.1.{int(clicked.timestamp() * 1000)}.{FBCLID}"  # case kept


async def test_a_sale_carries_its_value_and_currency(fake, meta):
    target = meta(contacts=False)
    sent = await target.deliver(job(facts(amount=150050, currency="rub"), "won"))
    assert sent.accepted
    assert fake.received[0]["event_name"] == "Purchase"
    assert fake.received[0]["custom_data"] == {"value": 1500.5, "currency": "RUB"}
    await target.deliver(job(facts(amount=90000, currency="EUR"), "won", key="k2"))
    assert fake.received[1]["custom_data"] == {"value": 900, "currency": "EUR"}
    # other moments carry no value; a Purchase without an amount is not sent
    await target.deliver(job(facts(amount=90000, currency="EUR"), "hot", key="k3"))
    assert "custom_data" not in fake.received[2]
    with pytest.raises(Skip) as skipped:
        await target.deliver(job(facts(), "won", key="k4"))
    assert skipped.value.reason == "no_value" and len(fake.received) == 3


async def test_a_repeat_after_a_timeout_is_counted_once(fake, meta):
    target = meta()
    row = job(facts())
    fake.fail(200, {"events_received": 1}, hang=5.0, after=True)  # it arrived; we timed out
    with pytest.raises(Transient) as lost:
        await target.deliver(row)
    assert lost.value.reason == "timeout"
    assert (await target.deliver(row)).accepted  # the worker's next try, the same key
    assert len(fake.received) == 2 and len(fake.events) == 1
    assert list(fake.events) == [("QualifiedLead", "crm-delivery-41")]


async def test_a_200_that_counts_no_event_is_not_a_delivery(fake, meta):
    """`events_received: 0` (or 2 of our one): Meta did not take the event as sent. Before:
    the row ended `sent`, never to go again. It is tried again (Meta drops a repeat)."""
    target = meta()
    for count in (0, 2):
        fake.fail(200, {"events_received": count, "fbtrace_id": "AbC"})
        with pytest.raises(Transient) as odd:
            await target.deliver(job(facts()))
        assert odd.value.reason == "HTTP 200 bad_answer" and odd.value.odd


async def test_errors_are_mapped_and_keep_nothing_personal(fake, meta):
    target = meta()
    row = job(facts())
    fake.refuse(100, f"(#100) Invalid parameter: ph {PHONE} em {EMAIL.strip()}", 2804018)
    with pytest.raises(Permanent) as refused:
        await target.deliver(row)
    assert refused.value.reason == "HTTP 400 #100/2804018"
    for personal in ("6505551212", "john_smith", "John_Smith"):
        assert personal not in refused.value.reason
    fake.refuse(4, "(#4) Application request limit reached", 1504022)
    with pytest.raises(Transient) as limited:
        await target.deliver(row)
    assert limited.value.reason == "HTTP 400 #4/1504022" and limited.value.after == PAUSE
    assert target.client.throttle.paused_until > time.monotonic() + PAUSE - 5
    target.client.throttle.paused_until = 0.0  # the test need not wait the minute
    for status, body, reason in (
            (400, error(80004, "There have been too many calls to this ad-account"),
             "HTTP 400 #80004"),
            (500, error(2, "An unexpected error has occurred. Please retry"), "HTTP 500 #2"),
            (400, error(1, "An unknown error occurred", 99), "HTTP 400 #1/99"),
            (429, {}, "HTTP 429"), (503, b"<html>down</html>", "HTTP 503")):
        if isinstance(body, bytes):
            fake.answer(status, body)
        else:
            fake.fail(status, body)
        with pytest.raises(Transient) as retried:
            await target.deliver(row)
        assert retried.value.reason.startswith(reason), retried.value.reason
        target.client.throttle.paused_until = 0.0
    assert fake.received == []


async def test_a_wrong_token_or_pixel_is_tried_again(fake, meta):
    for target in (meta(token="EAAB-revoked"), meta(pixel="999")):
        with pytest.raises(Transient) as refused:
            await target.deliver(job(facts()))
        assert refused.value.reason in ("HTTP 400 #190", "HTTP 400 #100/33")
        assert "999" not in refused.value.reason and "EAAB" not in refused.value.reason
    assert fake.received == []


async def test_the_fake_refuses_what_meta_refuses(fake, meta):
    """The fake is worth testing against: an old event, an unhashed phone (its words quote
    it: never kept), a bad fbc are refused for good."""
    target = meta()
    now = int(time.time())
    good = {"event_name": "Lead", "event_time": now, "event_id": "x", "action_source": "chat",
            "user_data": {"fbc": f"fb.1.{now * 1000}.{FBCLID}"}}
    bad = [{**good, "event_time": now - 8 * 24 * 3600},
           {**good, "user_data": {"ph": ["16505551212"]}},
           {**good, "user_data": {"em": ["62A14E44F765419D10FEA99367361A727C12365E2520F32218D5"
                                         "05ED9AA0F62F"]}},
           {**good, "user_data": {"fbc": f"fb.1.{now}.{FBCLID}"}},  # seconds, not ms
           {**good, "action_source": "business_messaging"},
           {**good, "event_name": "Purchase"}]
    for event in bad:
        with pytest.raises(Permanent) as refused:
            await target.post([event])
        assert refused.value.reason.startswith("HTTP 400 #100/")
        assert "6505551212" not in refused.value.reason
    assert fake.received == []
    await target.post([good])
    assert fake.received == [good]


async def test_an_event_over_a_week_old_is_not_sent(fake, meta):
    with pytest.raises(Skip) as skipped:
        await meta().deliver(job(facts(), created=datetime.now(UTC) - timedelta(days=8)))
    assert skipped.value.reason == "too_old" and fake.forms == []


async def test_probe_sends_one_test_event_with_the_test_code(fake, meta):
    line = await meta(test_event_code="TEST12345").probe()
    assert line.startswith("HTTP 200: events_received 1") and "TEST12345" in line
    assert "\n" not in line
    assert fake.received == [] and len(fake.tests) == 1
    code, event = fake.tests[0]
    assert code == "TEST12345" and event["action_source"] == "chat"
    assert event["event_name"] == "Lead" and event["user_data"]["fbc"].startswith("fb.1.")
    with pytest.raises(Permanent) as refused:
        await meta(test_event_code=None).probe()
    assert "test_event_code" in refused.value.reason and len(fake.forms) == 1
