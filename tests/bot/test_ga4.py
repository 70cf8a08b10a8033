"""The Google Analytics 4 target (bot/deliveries/ads/ga4.py) against a fake Measurement
Protocol on 127.0.0.1 (tests/fakes/ga4.py) that checks the payload as GA4 documents it and
fails on demand: the request exactly, a sale's value and currency, no client id -> not
sent, every answer mapped to a retry or a refusal keeping only its status, the probe on
the validation server, and the fake dropping a malformed payload as Google does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.ads.ga4 import Ga4Target, micros, params, refused
from bot.deliveries.port import Job, Permanent, Skip, Transient
from dialogs.rules.conversions import ConversionsError, Ga4
from storage.deliveries.facts import LeadFacts
from tests.fakes.ga4 import FakeGa4

CLIENT = "1234567890.1700000000"
PHONE, EMAIL, NAME = "+79161234567", "olivia.stone@example.com", "Olivia Stone"
GOALS = {"lead": "generate_lead", "hot": "qualify_lead", "won": "close_convert_lead",
         "lost": "close_unconvert_lead"}
NOW = datetime(2026, 12, 3, 12, 0, 0, 123456, tzinfo=UTC)
LIMITS = AdLimits(timeout=1.0)


@pytest.fixture
async def fake():
    server = FakeGa4()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def target(fake):
    found = Ga4Target(Ga4(measurement_id=fake.measurement_id, goals=GOALS,
                          api_url=fake.url), fake.api_secret, LIMITS)
    yield found
    await found.close()


def facts(client: str | None = CLIENT, amount: int | None = None,
          currency: str | None = None, source: str | None = "vk") -> LeadFacts:
    return LeadFacts(
        lead={"id": 7, "name": NAME, "phone": PHONE, "email": EMAIL, "amount": amount,
              "currency": currency, "erased_at": None},
        conversation={"id": 3, "source": source, "flow_id": "kitchen-quiz"},
        answers=[{"step": "name", "value": NAME, "label": NAME, "points": 0}],
        handoff=None, consents={"processing": "v1"},
        click={"yclid": None, "gclid": None, "fbclid": None, "ym_uid": None,
               "ga_client_id": client, "at": NOW - timedelta(hours=2)} if client else {})


def job(moment: str = "hot", lead: LeadFacts | None = None, *,
        created_at: datetime | None = NOW - timedelta(minutes=5),
        now: datetime | None = None, retried: bool = False) -> Job:
    return Job(key="5f0c6a1e9b8d4c2f8a7e6d5c4b3a2910", event=moment,
               data={"goal": GOALS[moment]}, facts=lead or facts(), remote_id=None,
               contact_id=None, retried=retried, now=now or datetime.now(UTC),
               created_at=created_at)


async def test_a_conversion_is_one_post_of_exactly_this_json(fake, target):
    when = datetime.now(UTC) - timedelta(minutes=5)
    delivered = await target.deliver(job("hot", created_at=when))
    assert delivered.answer == "HTTP 204" and not delivered.accepted
    assert fake.dropped == []
    assert fake.received == [{
        "client_id": CLIENT, "timestamp_micros": micros(when),
        "events": [{"name": "qualify_lead", "params": {
            "event_id": "5f0c6a1e9b8d4c2f8a7e6d5c4b3a2910", "lead_source": "vk"}}]}]
    assert [path for path, _, status in fake.requests] == ["/mp/collect"]
    sent = json.dumps(fake.received)
    assert PHONE not in sent and EMAIL not in sent and "Olivia" not in sent


def test_timestamps_are_exact_microseconds():
    assert micros(NOW) == 1_796_299_200_123_456
    assert len(str(micros(NOW))) == 16


async def test_a_sale_carries_its_value_and_currency(fake, target):
    await target.deliver(job("won", facts(amount=150_050, currency="RUB")))
    await target.deliver(job("won", facts(amount=None, currency="RUB")))  # no amount yet
    await target.deliver(job("lead", facts(amount=150_050, currency="RUB")))
    await target.deliver(job("won", facts(amount=990_000, currency="rub")))  # not ISO 4217
    assert fake.dropped == []
    [sale, bare, lead, odd] = [e for _, _, e in fake.events()]
    assert (sale["value"], sale["currency"]) == (1500.5, "RUB")
    assert [e.get("value") for e in (bare, lead, odd)] == [None] * 3
    assert [name for _, name, _ in fake.events()] == [
        "close_convert_lead", "close_convert_lead", "generate_lead", "close_convert_lead"]


async def test_no_client_id_is_skipped_and_nothing_is_sent(fake, target):
    for lead in (facts(client=None), facts(client="")):
        with pytest.raises(Skip) as skipped:
            await target.deliver(job("hot", lead))
        assert skipped.value.reason == "no_click"
    assert fake.requests == []


async def test_a_moment_older_than_72_hours_is_not_sent_and_a_future_one_is_now(
        fake, target):
    now = datetime.now(UTC)
    with pytest.raises(Skip) as skipped:
        await target.deliver(job("hot", created_at=now - timedelta(hours=72, seconds=1),
                                 now=now))
    assert skipped.value.reason == "too_old" and fake.requests == []
    await target.deliver(job("hot", created_at=now + timedelta(minutes=3), now=now))
    assert fake.received[0]["timestamp_micros"] == micros(now)  # never ahead of the request
    assert Ga4Target.max_age == timedelta(hours=72) and Ga4Target.repeat == "never"
    assert (target.name, target.batch, target.events) == ("ga4", 1, frozenset(GOALS))


@pytest.mark.parametrize(("status", "error"), [
    (429, Transient), (500, Transient), (502, Transient), (503, Transient),
    (400, Permanent), (401, Permanent), (403, Permanent), (404, Permanent),
    (413, Permanent)])
async def test_an_error_keeps_its_status_only(fake, target, status, error):
    fake.fail(status, {"error": {"code": status, "message": f"refused {PHONE} {EMAIL}",
                                 "status": "INVALID_ARGUMENT"}})
    with pytest.raises(error) as raised:
        await target.deliver(job())
    assert raised.value.reason == f"HTTP {status}"
    assert fake.received == []


async def test_a_page_a_timeout_and_a_redirect_are_not_a_success(fake, target):
    fake.answer(403, f"<html>blocked {EMAIL}</html>".encode())
    with pytest.raises(Permanent) as refused_page:
        await target.deliver(job())
    assert refused_page.value.reason == "HTTP 403"
    fake.fail(204, hang=5.0, after=True)  # arrived, the answer never came: ambiguous
    with pytest.raises(Transient) as timed_out:
        await target.deliver(job())
    assert timed_out.value.reason == "timeout"
    fake.redirect(302, "https://example.com/elsewhere")
    with pytest.raises(Transient) as moved:
        await target.deliver(job())
    assert moved.value.reason == "HTTP 302 redirect" and moved.value.odd
    assert len(fake.received) == 1  # only the one that timed out after arriving


async def test_the_probe_validates_every_goal_on_the_debug_endpoint(fake, target):
    line = await target.probe()
    assert line == ("HTTP 200: the validation server found nothing wrong with "
                    "generate_lead, qualify_lead, close_convert_lead, close_unconvert_lead "
                    "(it does not check the API secret)")
    assert fake.received == [] and fake.dropped == []
    assert [path for path, _, _ in fake.requests] == ["/debug/mp/collect"]
    [sample] = fake.validated
    assert sample["validation_behavior"] == "ENFORCE_RECOMMENDATIONS"
    assert [e["name"] for e in sample["events"]] == list(GOALS.values())
    [won] = [e for e in sample["events"] if e["name"] == "close_convert_lead"]
    assert (won["params"]["value"], won["params"]["currency"]) == (1500.0, "RUB")


async def test_the_probe_shows_the_validation_messages(fake, target):
    fake.answer(200, json.dumps({"validationMessages": [
        {"fieldPath": "events", "validationCode": "NAME_INVALID",
         "description": "Event at index: [0] has invalid name [_x]. " + "x" * 500},
        {"fieldPath": "events.params.currency", "validationCode": "VALUE_REQUIRED",
         "description": "Currency is required."}]}).encode(),
        content_type="application/json")
    with pytest.raises(Permanent) as wrong:  # GA4 would drop them: `conversions test`
        await target.probe()  # fails (before: "ok", exit 0)
    line = wrong.value.reason
    assert line.startswith("HTTP 200: 2 validation message(s): events NAME_INVALID Event at ")
    assert "; events.params.currency VALUE_REQUIRED Currency is required." in line
    assert "x" * 200 not in line and "\n" not in line
    fake.answer(200, b"[]", content_type="application/json")
    with pytest.raises(Transient) as odd:
        await target.probe()
    assert odd.value.reason == "HTTP 200 bad_answer"
    fake.fail(503)
    with pytest.raises(Transient):
        await target.probe()


@pytest.mark.parametrize("name", ["page_view", "session_start", "ga_lead", "google_x",
                                  "firebase_y", "first_visit"])
def test_a_reserved_goal_stops_the_start(name):
    config = Ga4(measurement_id="G-TEST12345", goals={"hot": name})
    with pytest.raises(ConversionsError, match=f"ga4.goals.hot: '{name}': a name Google"):
        Ga4Target(config, "secret", LIMITS)
    assert refused("generate_lead") == refused("close_convert_lead") == ""
    assert refused("x" * 41) and refused("1lead") and refused("lead-x")


def test_parameters_keep_ga4s_limits():
    given = {f"p{i}": "v" * 150 for i in range(30)}
    kept = params({"_hidden": 1, "ga_x": 2, "google_y": 3, "bad name": 4, "n" * 41: 5,
                   "none": None, "empty": "", **given})
    assert list(kept) == [f"p{i}" for i in range(25)]
    assert {len(v) for v in kept.values()} == {100}
    assert params({"value": 1500.5, "currency": "RUB"}) == {"value": 1500.5,
                                                            "currency": "RUB"}


async def test_the_fake_drops_a_malformed_payload_as_ga4_does(fake):
    now = int(datetime.now(UTC).timestamp()) * 1_000_000
    good = {"client_id": CLIENT, "timestamp_micros": now,
            "events": [{"name": "qualify_lead", "params": {"event_id": "k"}}]}
    bad = {
        "client_id": [{**good, "client_id": "GA1.1.123.456"}, {**good, "client_id": None}],
        "timestamp_micros": [{**good, "timestamp_micros": now // 1000},
                             {**good, "timestamp_micros": now - 73 * 3600 * 10**6}],
        "events": [{**good, "events": []}, {**good, "events": good["events"] * 26}],
        "events[0].name": [{**good, "events": [{"name": "_bad"}]},
                           {**good, "events": [{"name": "page_view"}]}],
        "events[0].params": [{**good, "events": [{"name": "x", "params": {
            f"p{i}": 1 for i in range(26)}}]}],
        "events[0].params.note": [
            {**good, "events": [{"name": "x", "params": {"note": "n" * 101}}]},
            {**good, "events": [{"name": "x", "params": {"note": f"mail {EMAIL}"}}]},
            {**good, "events": [{"name": "x", "params": {"note": f"call {PHONE}"}}]}],
        "events[0].params.currency": [
            {**good, "events": [{"name": "x", "params": {"value": 10}}]}],
        "extra": [{**good, "extra": 1}],
    }
    url = f"{fake.url}/mp/collect?measurement_id={fake.measurement_id}"
    async with aiohttp.ClientSession() as session:
        async def post(path: str, payload: object, secret: str = fake.api_secret) -> int:
            async with session.post(f"{fake.url}{path}", json=payload, params={
                    "measurement_id": fake.measurement_id, "api_secret": secret}) as answer:
                return answer.status

        for field_path, bodies in bad.items():
            for payload in bodies:
                assert await post("/mp/collect", payload) == 204  # Google says nothing
                [paths] = [[m["fieldPath"] for m in fake.dropped[-1]["messages"]]]
                assert field_path in paths, (field_path, paths)
        assert await post("/mp/collect", good, secret="wrong") == 204
        assert fake.dropped[-1]["messages"][0]["fieldPath"] == "api_secret"
        async with session.post(url + f"&api_secret={fake.api_secret}",
                                data=b"{not json") as answer:
            assert answer.status == 204
        assert fake.received == []
        assert await post("/mp/collect", good) == 204
        assert fake.received == [good]
        async with session.post(f"{fake.url}/debug/mp/collect", json=bad["events"][0],
                                params={"measurement_id": fake.measurement_id}) as answer:
            found = await answer.json()
    assert found["validationMessages"][0]["fieldPath"] == "events"
    assert found["validationMessages"][0]["validationCode"] == "EXCEEDED_MAX_ENTITIES"
