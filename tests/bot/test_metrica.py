"""The Yandex Metrica target (bot/deliveries/ads/metrica.py) against a fake Metrica (aiohttp
on 127.0.0.1, tests/fakes/metrica.py) that checks the upload as the real API reads it:
the CSV, the OAuth header, a batch in one upload, the status read back, refusals kept
without anything personal, what is tried again, and a probe that never uploads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.ads.metrica import MetricaTarget
from bot.deliveries.port import Job, Permanent, Skip, Transient
from dialogs.rules.conversions import Metrica
from storage.deliveries.facts import LeadFacts
from tests.fakes.metrica import FakeMetrica

LIMITS = AdLimits().scaled(20.0, timeout=1.0)
NOW = datetime.now(UTC).replace(microsecond=0)
AT = NOW - timedelta(minutes=10)
PHONE = "+79161234567"
GOALS = {"hot": "leadbot_hot", "won": "leadbot_sale"}


@pytest.fixture
async def fake():
    server = FakeMetrica(rate=100.0, burst=100.0)
    for goal in GOALS.values():
        server.goal(goal)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def target(fake):
    found = MetricaTarget(Metrica(counter=fake.counter, goals=GOALS, api_url=fake.url),
                          fake.token, LIMITS)
    yield found
    await found.close()


def job(n: int, event: str = "hot", *, yclid: str | None = None, ym_uid: str | None = None,
        amount: int | None = None, currency: str | None = None,
        created_at: datetime = AT) -> Job:
    facts = LeadFacts(
        lead={"id": n, "phone": PHONE, "email": "anna@example.com", "name": "Anna",
              "amount": amount, "currency": currency, "erased_at": None},
        conversation={"id": n}, answers=[], handoff=None,
        consents={"processing": "v1"},
        click={"yclid": yclid, "gclid": None, "fbclid": None, "ym_uid": ym_uid,
               "ga_client_id": None, "at": created_at - timedelta(hours=1)})
    return Job(key=f"key-{n}-{event}", event=event, data={"goal": GOALS[event]}, facts=facts,
               remote_id=None, contact_id=None, retried=False, now=NOW, created_at=created_at)


async def test_a_batch_goes_in_one_upload_as_metrica_reads_it(fake, target):
    stamp = int(AT.timestamp())
    jobs = [job(1, yclid="7164892360327020543"), job(2, yclid="8164892360327020111"),
            job(3, "won", yclid="7164892360327020543", amount=1500050, currency="RUB")]
    delivered = await target.deliver_many(jobs)
    assert list(fake.uploads) == [int(delivered.remote_id)]
    assert fake.files == [
        b"Yclid,Target,DateTime,Price,Currency\n"
        + f"7164892360327020543,leadbot_hot,{stamp},,\n".encode()
        + f"8164892360327020111,leadbot_hot,{stamp},,\n".encode()
        + f"7164892360327020543,leadbot_sale,{stamp},15000.50,RUB\n".encode()]
    upload = fake.uploads[int(delivered.remote_id)]
    assert (upload["client_id_type"], upload["comment"], upload["status"]) == (
        "YCLID", "leadbot", "UPLOADED")
    assert len(fake.conversions) == 3
    assert "UPLOADED" in delivered.answer


async def test_without_a_sale_no_price_columns_and_a_ym_uid_goes_as_client_id(fake, target):
    delivered = await target.deliver(job(1, ym_uid="1712345678901234567"))
    assert fake.files == [b"ClientId,Target,DateTime\n"
                          + f"1712345678901234567,leadbot_hot,{int(AT.timestamp())}\n".encode()]
    assert fake.uploads[int(delivered.remote_id)]["client_id_type"] == "CLIENT_ID"


async def test_a_click_with_both_ids_goes_by_its_yclid(fake, target):
    await target.deliver(job(1, yclid="555", ym_uid="1712345678901234567"))
    assert fake.files[0].startswith(b"Yclid,Target,DateTime\n555,")


async def test_both_kinds_in_a_batch_go_in_two_uploads_read_back_together(fake, target):
    fake.visitors = {"555"}  # the ClientId is no visitor Metrica knows
    delivered = await target.deliver_many([job(1, ym_uid="1712"), job(2, yclid="555"),
                                           job(3, yclid="556")])
    first, second = (int(part) for part in delivered.remote_id.split("+"))
    assert fake.uploads[first]["client_id_type"] == "YCLID"
    assert fake.uploads[second]["client_id_type"] == "CLIENT_ID"
    assert [f.split(b"\n")[0] for f in fake.files] == [b"Yclid,Target,DateTime",
                                                       b"ClientId,Target,DateTime"]
    assert (await target.check(delivered.remote_id)).status is None
    fake.settle()  # the yclids link, the ClientId does not: Metrica took the batch
    assert fake.uploads[second]["status"] == "LINKAGE_FAILURE"
    assert (await target.check(delivered.remote_id)).status == "accepted"


async def test_a_lead_without_yclid_or_ym_uid_is_skipped_and_the_others_go(fake, target):
    with pytest.raises(Skip) as skipped:
        await target.deliver(job(1, ym_uid="not digits"))
    assert skipped.value.reason == "no_click"
    assert fake.files == [] and fake.uploads == {}
    with pytest.raises(Skip):  # none of the batch can go
        await target.deliver_many([job(3), job(4, "won")])
    assert fake.files == [] and fake.uploads == {}
    # the others go; the two without one are left out and named
    delivered = await target.deliver_many([job(2, yclid="555"), job(3), job(4, "won")])
    assert dict(delivered.skipped) == {"key-3-hot": "no_click", "key-4-won": "no_click"}
    assert len(fake.files) == 1 and fake.files[0].count(b"\n") == 2  # header and one row


async def test_an_upload_repeated_after_a_crash_counts_each_conversion_once(fake, target):
    jobs = [job(1, yclid="555"), job(2, "won", yclid="556", amount=990000, currency="RUB")]
    first = await target.deliver_many(jobs)
    later = [replace(j, retried=True, now=NOW + timedelta(minutes=7))
             for j in jobs]  # the same rows, picked up again minutes later
    second = await target.deliver_many(later)
    assert first.remote_id != second.remote_id
    assert fake.files[0] == fake.files[1]  # written the same: DateTime is the moment's
    assert len(fake.conversions) == 2


@pytest.mark.parametrize(("status", "expected"), [
    ("PREPARED", None), ("UPLOADED", None), ("EXPORTED", None), ("MATCHED", None),
    ("PROCESSED", "accepted"), ("LINKAGE_FAILURE", "failed"), ("SOMETHING_NEW", None)])
async def test_check_reads_each_status_of_the_upload(fake, target, status, expected):
    delivered = await target.deliver(job(1, yclid="555"))
    fake.settle(status)
    checked = await target.check(delivered.remote_id)
    assert checked.status == expected
    assert checked.reason == ("linkage_failure" if expected == "failed" else "")


async def test_an_upload_metrica_does_not_know_is_uploaded_again(fake, target):
    assert (await target.check("999999")).status == "retry"


async def test_a_status_the_bot_cannot_read_is_tried_again(fake, target):
    delivered = await target.deliver(job(1, yclid="555"))
    fake.uploads[int(delivered.remote_id)]["status"] = "<b>" + PHONE
    with pytest.raises(Transient) as odd:
        await target.check(delivered.remote_id)
    assert odd.value.reason == "HTTP 200 bad_answer"


@pytest.mark.parametrize(("token", "counter", "reason"), [
    ("wrong-token", None, "HTTP 403 invalid_token"),
    (None, 87654321, "HTTP 403 access_denied")])
async def test_a_wrong_token_or_counter_is_a_refusal(fake, token, counter, reason):
    target = MetricaTarget(Metrica(counter=counter or fake.counter, goals=GOALS,
                                   api_url=fake.url), token or fake.token, LIMITS)
    try:
        with pytest.raises(Permanent) as refused:
            await target.deliver(job(1, yclid="555"))
        assert refused.value.reason == reason
        with pytest.raises(Permanent):
            await target.probe()
    finally:
        await target.close()
    assert fake.uploads == {}


async def test_no_oauth_header_is_refused_by_the_fake(fake):
    async with aiohttp.ClientSession() as session, session.get(
            f"{fake.url}/management/v1/counter/{fake.counter}/offline_conversions/"
            f"uploadings") as response:
        assert response.status == 401
        assert (await response.json())["errors"][0]["error_type"] == "unauthorized"


@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_parameter"), (401, "unauthorized"), (403, "access_denied")])
async def test_a_refusal_keeps_only_the_status_and_a_known_code(fake, target, status, kind):
    quoted = f"Line 2: invalid ClientId {PHONE} anna@example.com 555"
    fake.fail(status, {"errors": [{"error_type": kind, "message": quoted}],
                       "code": status, "message": quoted})
    with pytest.raises(Permanent) as refused:
        await target.deliver(job(1, yclid="555"))
    assert refused.value.reason == f"HTTP {status} {kind}"


async def test_a_code_metrica_never_documented_is_left_out(fake, target):
    fake.fail(400, {"errors": [{"error_type": PHONE, "message": PHONE}], "code": 400})
    with pytest.raises(Permanent) as refused:
        await target.deliver(job(1, yclid="555"))
    assert refused.value.reason == "HTTP 400"


async def test_a_file_the_real_api_refuses_is_refused_and_its_value_not_kept(fake, target):
    future = job(1, yclid="555", created_at=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(Permanent) as refused:
        await target.deliver(future)
    assert refused.value.reason == "HTTP 400 invalid_parameter"
    assert fake.uploads == {}


@pytest.mark.parametrize(("status", "body", "reason"), [
    (429, None, "HTTP 429 quota_requests_by_uid"),
    (500, {}, "HTTP 500"),
    (503, {"errors": [{"error_type": "backend_error", "message": "Try later"}],
           "code": 503}, "HTTP 503 backend_error")])
async def test_a_limit_or_a_server_error_is_tried_again(fake, target, status, body, reason):
    if body is None:
        body = fake.refusal[1]
    fake.fail(status, body)
    with pytest.raises(Transient) as again:
        await target.deliver(job(1, yclid="555"))
    assert again.value.reason == reason
    assert fake.uploads == {}


@pytest.mark.parametrize(("status", "reason"), [
    (200, "HTTP 200 maintenance_page"), (403, "HTTP 403 maintenance_page"),
    (502, "HTTP 502")])
async def test_an_html_page_is_tried_again_never_a_refusal(fake, target, status, reason):
    fake.answer(status, b"<html><body>Maintenance " + PHONE.encode() + b"</body></html>")
    with pytest.raises(Transient) as again:
        await target.deliver(job(1, yclid="555"))
    assert again.value.reason == reason
    assert fake.uploads == {}


async def test_a_timeout_is_tried_again(fake, target):
    fake.fail(200, {}, hang=5.0, after=True)  # it arrived; the answer did not
    with pytest.raises(Transient) as again:
        await target.deliver(job(1, yclid="555"))
    assert again.value.reason == "timeout"
    assert len(fake.conversions) == 1  # the repeat that follows counts once
    await target.deliver(job(1, yclid="555"))
    assert len(fake.conversions) == 1


async def test_the_probe_reads_the_uploads_and_never_uploads(fake, target):
    assert "no offline conversions uploaded yet" in await target.probe()
    await target.deliver(job(1, yclid="555"))
    fake.settle()
    files = list(fake.files)
    answer = await target.probe()
    assert answer == f"counter {fake.counter}: reachable, 1 uploads, the last PROCESSED"
    assert fake.files == files and fake.reads == 2


@pytest.mark.parametrize(("kind", "condition"), [("url", "exact"), ("action", "contain")])
async def test_the_probe_names_a_goal_that_is_not_a_javascript_event_goal(
        fake, target, kind, condition):
    fake.goals.clear()
    fake.goal("leadbot_hot")
    fake.goal("leadbot_sale", kind, condition)
    with pytest.raises(Permanent) as refused:
        await target.probe()
    assert refused.value.reason == (f"not JavaScript event goals of counter {fake.counter}: "
                                    f"leadbot_sale")
    assert fake.reads == 0 and fake.files == []


async def test_a_currency_metrica_would_refuse_leaves_the_sale_unpriced(fake, target):
    await target.deliver_many([job(1, "won", yclid="555", amount=100, currency="руб"),
                               job(2, "won", yclid="556", amount=250, currency="EUR")])
    stamp = int(AT.timestamp())
    assert fake.files == [f"Yclid,Target,DateTime,Price,Currency\n"
                          f"555,leadbot_sale,{stamp},,\n556,leadbot_sale,{stamp},2.50,EUR\n"
                          .encode()]


async def test_a_click_id_that_would_break_the_file_is_never_written(fake, target):
    bad = 'x,"y\n1'  # a row from before the tracking links' checks, edited by hand
    await target.deliver(job(1, yclid=bad, ym_uid="1712"))
    assert fake.files == [f"ClientId,Target,DateTime\n1712,leadbot_hot,{int(AT.timestamp())}\n"
                          .encode()]
    with pytest.raises(Skip):
        await target.deliver(job(2, yclid=bad, ym_uid="17,12"))


async def post_file(fake, raw: bytes, *, multipart: bool = True) -> tuple[int, dict]:
    """A file POSTed to the fake as the API takes it (or not, with multipart=False)."""
    url = f"{fake.url}/management/v1/counter/{fake.counter}/offline_conversions/upload"
    form = aiohttp.FormData()
    form.add_field("file", raw, filename="data.csv", content_type="text/csv")
    async with aiohttp.ClientSession() as session, session.post(
            url, data=form if multipart else raw,
            headers={"Authorization": f"OAuth {fake.token}"}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(("raw", "multipart", "kind"), [
    (b"Yclid,ClientId,Target,DateTime\n555,1712,leadbot_hot,1700000000\n", True,
     "invalid_parameter"),  # two kinds of id in one file
    (b"Target,DateTime\nleadbot_hot,1700000000\n", True, "invalid_parameter"),
    (b"Yclid,Target\n555,leadbot_hot\n", True, "invalid_parameter"),
    (b"Yclid,Target,DateTime\n555,leadbot_hot,1700000000,9\n", True, "invalid_parameter"),
    (b"Yclid,Target,DateTime,Price\n555,leadbot_hot,1700000000,1 500\n", True,
     "invalid_parameter"),
    ("Yclid,Target,DateTime\n555,цель,1700000000\n".encode("cp1251"), True,
     "invalid_parameter"),
    (b"Yclid,Target,DateTime\n555,leadbot_hot,1700000000\n", False, "invalid_parameter")])
async def test_the_fake_refuses_a_file_metrica_would_refuse(fake, raw, multipart, kind):
    status, answer = await post_file(fake, raw, multipart=multipart)
    assert (status, answer["errors"][0]["error_type"]) == (400, kind)
    assert fake.uploads == {}


async def test_the_fake_reads_the_file_as_csv(fake):
    status, answer = await post_file(
        fake, b'Yclid,Target,DateTime,Price,Currency\r\n"555","leadbot_hot",1700000000,'
              b'12.50,RUB\r\n556,leadbot_sale,1700000001,,\r\n')
    assert status == 200 and answer["uploading"]["line_quantity"] == 2
    assert fake.conversions == {("Yclid", "555", "leadbot_hot", 1700000000): ("12.50", "RUB"),
                                ("Yclid", "556", "leadbot_sale", 1700000001): ("", "")}


async def test_the_target_states_what_the_worker_needs(target):
    assert target.name == "metrica"
    assert target.events == frozenset(GOALS) and target.goals == GOALS
    assert (target.batch, target.window, target.repeat) == (500, 300.0, "dedupe")
    assert target.max_age == timedelta(days=21)
