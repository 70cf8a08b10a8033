"""The one deliveries' worker with ad-platform targets, on real databases (SQLite and
PostgreSQL): what is skipped and why, a never-repeat target after a crash, and a batch
target's uploads read back. The targets here are small doubles of a remote platform (the
port's Target and Batched protocols), not of our code: they record what reached them and
fail on demand; the real platforms' clients are tested against their fake servers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.deliveries.port import Checked, Delivered, Job, Skip, Transient
from bot.deliveries.worker import Backoff, Worker
from storage.deliveries import rows as crm
from storage.schema.money import Click
from storage.schema.tables import (
    Conversation,
    CrmDelivery,
    Event,
    Lead,
    OutboxMessage,
    Prospect,
    utcnow,
)
from storage.work.uow import UnitOfWork

FAST = Backoff(first=0.05, cap=0.2)
CHECKS = Backoff(first=0.02, cap=0.1)
GROUP = -100500


class Platform:
    """An ad platform taking one conversion a request (Meta, GA4)."""

    def __init__(self, name: str = "meta", goals: dict[str, str] | None = None, *,
                 repeat: str = "dedupe", max_age: timedelta | None = None,
                 accepted: bool = False) -> None:
        self.name, self.repeat, self.max_age, self.accepted = name, repeat, max_age, accepted
        self.goals = goals or {"hot": "QualifiedLead", "sql": "SQL"}
        self.events = frozenset(self.goals)
        self.batch, self.window = 1, 0.0
        self.received: list[Job] = []
        self.faults: list[Exception] = []  # raised by the next calls, in turn
        self.calls = 0
        self.stuck = False  # the next calls never end (the process is killed during them)

    async def deliver(self, job: Job) -> Delivered:
        self.calls += 1
        if self.stuck:
            await asyncio.Event().wait()
        if self.faults:
            raise self.faults.pop(0)
        self.received.append(job)
        return Delivered(accepted=self.accepted)

    async def close(self) -> None:
        pass


class Uploads(Platform):
    """An ad platform taking conversions in uploads, read back later (Metrica): a row whose
    lead came with no yclid is left out of its upload (`no_click`)."""

    def __init__(self, answers: Sequence[Checked | None] = (), **kwargs) -> None:
        super().__init__("metrica", {"hot": "leadbot_hot", "sql": "leadbot_sql"}, **kwargs)
        self.batch = 500
        self.uploads: dict[str, list[Job]] = {}
        self.answers = list(answers)  # what the next checks say (then: accepted)
        self.checked: list[str] = []

    async def deliver_many(self, jobs: Sequence[Job]) -> Delivered:
        if self.faults:
            raise self.faults.pop(0)
        await asyncio.sleep(0.01)  # another worker's pass may come meanwhile
        upload = str(len(self.uploads) + 1)
        self.uploads[upload] = [j for j in jobs if j.facts.click.get("yclid")]
        return Delivered(remote_id=upload, skipped={
            j.key: "no_click" for j in jobs if not j.facts.click.get("yclid")})

    async def check(self, remote_id: str) -> Checked:
        self.checked.append(remote_id)
        answer = self.answers.pop(0) if self.answers else Checked("accepted")
        return answer if answer is not None else Checked(None)

    def keys(self) -> list[str]:
        return [job.key for jobs in self.uploads.values() for job in jobs]


async def add_lead(sessions, targets, *, user: int = 5000, consent: bool = True,
                   erased: bool = False, events: int = 1, yclid: str | None = "y1") -> int:
    """A hot lead that came by a click (with `yclid`), its `qualified` noted `events` times
    for the targets' goals, in one transaction with the lead, as the service writes it."""
    crm.configure([crm.Spec(t.name, t.events, t.goals, 0.0) for t in targets])
    now = utcnow()
    async with UnitOfWork(sessions) as uow:
        uow.session.add(Prospect(user_id=user, chat_id=user, language="en"))
        click = Click(token=f"t{user}", link="direct", flow_id="kitchen-quiz", source="yandex",
                      yclid=yclid)
        uow.session.add(click)
        await uow.session.flush()
        conversation = Conversation(
            user_id=user, chat_id=user, flow_id="kitchen-quiz", flow_version=1, step="done",
            finished=True, source="yandex", click_id=click.id,
            state={"language": "en", "consents": {"processing": "1"} if consent else {}})
        uow.session.add(conversation)
        await uow.session.flush()
        lead = Lead(conversation_id=conversation.id, user_id=user, flow_id="kitchen-quiz",
                    flow_version=1, source="instagram", name="Olivia", phone="+79161234567",
                    score=98, temperature="hot", mql=True, sql=True, target=True,
                    outcome="handoff", status="handoff", qualified_at=now,
                    erased_at=now if erased else None)
        uow.session.add(lead)
        await uow.session.flush()
        for _ in range(events):
            crm.note(uow, lead.id, "qualified", now, temperature="hot", mql=False, sql=False)
        await uow.commit()
    return lead.id


async def rows(sessions, *where) -> list[CrmDelivery]:
    async with sessions() as session:
        return list((await session.execute(
            select(CrmDelivery).where(*where).order_by(CrmDelivery.id))).scalars())


async def change(sessions, **values) -> None:
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(CrmDelivery.__table__.update().values(**values))
        await uow.commit()


@pytest.fixture(autouse=True)
def no_targets():
    yield
    crm.configure(())


async def test_a_conversion_noted_twice_is_sent_once_and_accepted(sessions):
    meta = Platform(accepted=True)
    lead_id = await add_lead(sessions, [meta], events=2)
    worker = Worker(sessions, [meta], backoff=FAST)
    counters = await worker.drain()
    [job] = meta.received
    assert job.event == "hot" and job.data == {"goal": "QualifiedLead"}
    assert job.facts.lead["id"] == lead_id and job.created_at is not None
    first, second = await rows(sessions)
    assert (first.status, first.error, first.sent_at is not None) == ("accepted", None, True)
    assert (second.status, second.error, second.attempts) == ("skipped", "duplicate", 0)
    assert (counters.accepted, counters.skipped, counters.reasons) == (1, 1, {"duplicate": 1})


@pytest.mark.parametrize("lead, reason", [({"consent": False}, "no_consent"),
                                          ({"erased": True}, "erased")])
async def test_nothing_goes_without_consent(sessions, lead, reason):
    meta = Platform()
    await add_lead(sessions, [meta], **lead)
    await Worker(sessions, [meta], backoff=FAST).drain()
    assert meta.received == []
    [row] = await rows(sessions)
    assert (row.status, row.error, row.attempts) == ("skipped", reason, 0)
    assert await rows(sessions, CrmDelivery.status == "pending") == []


async def test_a_conversion_older_than_the_platform_takes_is_skipped(sessions):
    meta = Platform(max_age=timedelta(days=7))
    await add_lead(sessions, [meta])
    await change(sessions, created_at=utcnow() - timedelta(days=8))
    await Worker(sessions, [meta], backoff=FAST).drain()
    assert meta.received == []
    assert [(r.status, r.error) for r in await rows(sessions)] == [("skipped", "too_old")]


async def test_a_skip_of_the_target_ends_the_row_with_its_reason(sessions):
    ga4 = Platform("ga4", {"hot": "qualify_lead"}, repeat="never")
    ga4.faults = [Skip("no_click")]
    await add_lead(sessions, [ga4])
    await Worker(sessions, [ga4], backoff=FAST).drain()
    assert [(r.status, r.error, r.attempts) for r in await rows(sessions)] == [
        ("skipped", "no_click", 0)]


@pytest.mark.parametrize("error", [None, "timeout"])
async def test_a_never_repeat_target_is_not_tried_again_after_a_crash(sessions, error):
    """A kill -9 mid-call (attempts counted, no outcome) or a timeout: it may have arrived,
    and nothing would drop a repeat. Before: sent again."""
    ga4 = Platform("ga4", {"hot": "qualify_lead"}, repeat="never")
    await add_lead(sessions, [ga4])
    await change(sessions, attempts=1, error=error)
    await Worker(sessions, [ga4], backoff=FAST).drain()
    assert ga4.received == []
    [row] = await rows(sessions)
    assert (row.status, row.error, row.attempts) == ("failed", "ambiguous", 1)
    [event] = await rows_of_events(sessions)
    assert event.data["reason"] == "ambiguous"


@pytest.mark.parametrize("faults, ended, error, received", [
    (["HTTP 503"], "sent", None, 1),  # refused to take it: safe to send again
    (["HTTP 503", "timeout"], "failed", "ambiguous", 0),  # may have arrived: never again
])
async def test_a_never_repeat_target_retries_only_what_surely_did_not_arrive(
        sessions, faults, ended, error, received):
    ga4 = Platform("ga4", {"hot": "qualify_lead"}, repeat="never")
    ga4.faults = [Transient(reason) for reason in faults]
    await add_lead(sessions, [ga4])
    await Worker(sessions, [ga4], backoff=FAST).drain()
    [row] = await rows(sessions)
    assert (row.status, row.error, row.attempts) == (ended, error, 2)
    assert len(ga4.received) == received


async def test_a_crash_after_a_refusal_is_still_an_unknown_outcome(sessions):
    """A 503 (surely not taken), then a try killed mid-call: the row must not read as
    "last answer 503, safe to send again" (the lease clears the error of a never-repeat
    target's row)."""
    ga4 = Platform("ga4", {"hot": "qualify_lead"}, repeat="never")
    await add_lead(sessions, [ga4])
    await change(sessions, attempts=1, error="HTTP 503")
    ga4.stuck = True
    killed = Worker(sessions, [ga4], backoff=FAST)
    await killed.pass_once()
    while not ga4.calls:
        await asyncio.sleep(0.01)
    for task in killed._tasks:  # kill -9 during the call
        task.cancel()
    await asyncio.gather(*killed._tasks, return_exceptions=True)
    ga4.stuck = False
    await change(sessions, not_before=utcnow())  # its lease ran out
    await Worker(sessions, [ga4], backoff=FAST).drain()
    assert ga4.received == [] and ga4.calls == 1
    assert [(r.status, r.error, r.attempts) for r in await rows(sessions)] == [
        ("failed", "ambiguous", 2)]


async def rows_of_events(sessions) -> list[Event]:
    async with sessions() as session:
        return list((await session.execute(
            select(Event).where(Event.kind == "crm_failed"))).scalars())


async def test_the_managers_are_told_which_platform_misses_conversions(sessions):
    meta = Platform()
    meta.faults = [Transient("HTTP 503")] * 3
    await add_lead(sessions, [meta])
    later = utcnow() + timedelta(hours=3)
    worker = Worker(sessions, [meta], backoff=FAST, managers_chat_id=GROUP, language="en",
                    clock=lambda: later)
    await worker.pass_once()
    await asyncio.gather(*worker._tasks)
    async with sessions() as session:
        [alert] = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.chat_id == GROUP))).scalars()
    assert alert.payload["text"].startswith(
        "⚠️ Conversions have not reached Meta for 2 h (last answer: HTTP 503)")


async def test_a_batch_goes_in_one_upload_and_is_read_back(sessions):
    metrica = Uploads()
    ids = [await add_lead(sessions, [metrica], user=5000 + n) for n in range(3)]
    # the worker's clock stands still until the upload is asserted: its read-back (due
    # CHECKS.first after it) cannot come first on a slow machine
    now = [utcnow()]
    worker = Worker(sessions, [metrica], backoff=FAST, checks=CHECKS, clock=lambda: now[0])
    await worker.drain()
    assert list(metrica.uploads) == ["1"] and len(metrica.uploads["1"]) == 3
    assert sorted(j.facts.lead["id"] for j in metrica.uploads["1"]) == ids
    sent = await rows(sessions)
    assert [(r.status, r.data) for r in sent] == [
        ("sent", {"goal": "leadbot_hot", "upload": "1"})] * 3
    now[0] += timedelta(seconds=1)  # the read-back is due
    counters = await worker.drain(checks=True)
    assert metrica.checked == ["1"]  # once for the upload, not per row
    assert [r.status for r in await rows(sessions)] == ["accepted"] * 3
    assert (counters.sent, counters.accepted, counters.uploads, counters.checks) == (
        3, 3, 1, 1)


@pytest.mark.parametrize("answer, ended, error", [
    (Checked("failed", "bad_rows"), "failed", "bad_rows"),
    (None, "accepted", None),  # still processing: read back again, then accepted
])
async def test_an_upload_read_back(sessions, answer, ended, error):
    metrica = Uploads([answer])
    await add_lead(sessions, [metrica])
    worker = Worker(sessions, [metrica], backoff=FAST, checks=CHECKS)
    await worker.drain(checks=True)
    [row] = await rows(sessions)
    assert (row.status, row.error, row.attempts) == (ended, error, 1)
    assert len(metrica.uploads) == 1
    assert len(metrica.checked) == (2 if answer is None else 1)


async def test_an_upload_the_platform_asks_to_repeat_goes_again(sessions):
    metrica = Uploads([Checked("retry", "processing_error")])
    await add_lead(sessions, [metrica])
    worker = Worker(sessions, [metrica], backoff=FAST, checks=CHECKS)
    await worker.drain(checks=True)
    [row] = await rows(sessions)
    assert (row.status, row.attempts, row.data) == (
        "accepted", 2, {"goal": "leadbot_hot", "upload": "2"})
    assert list(metrica.uploads) == ["1", "2"] and metrica.checked == ["1", "2"]


async def test_a_failed_upload_retries_all_its_rows_together(sessions):
    metrica = Uploads()
    metrica.faults = [Transient("HTTP 503")]
    for n in range(3):
        await add_lead(sessions, [metrica], user=5000 + n)
    worker = Worker(sessions, [metrica], backoff=FAST, checks=CHECKS)
    counters = await worker.drain(checks=True)
    assert list(metrica.uploads) == ["1"] and len(metrica.uploads["1"]) == 3
    assert [(r.status, r.attempts) for r in await rows(sessions)] == [("accepted", 2)] * 3
    assert counters.retried == 3


async def test_a_row_left_out_of_an_upload_is_skipped(sessions):
    metrica = Uploads()
    await add_lead(sessions, [metrica], user=5000)
    lead_id = await add_lead(sessions, [metrica], user=5001, yclid=None)
    await Worker(sessions, [metrica], backoff=FAST, checks=CHECKS).drain(checks=True)
    assert [(r.lead_id == lead_id, r.status, r.error, r.attempts)
            for r in await rows(sessions)] == [(False, "accepted", None, 1),
                                               (True, "skipped", "no_click", 0)]


async def test_two_workers_put_each_row_in_one_upload(sessions):
    """Two processes on one database: the lease gives a row to one upload."""
    metrica = Uploads()
    for n in range(20):
        await add_lead(sessions, [metrica], user=5000 + n)
    first = Worker(sessions, [metrica], backoff=FAST, checks=CHECKS)
    second = Worker(sessions, [metrica], backoff=FAST, checks=CHECKS)
    await asyncio.gather(first.drain(checks=True), second.drain(checks=True))
    keys = metrica.keys()
    assert len(keys) == len(set(keys)) == 20
    assert len(metrica.checked) == len(set(metrica.checked)) == len(metrica.uploads)
    assert {r.status for r in await rows(sessions)} == {"accepted"}


async def test_pruning_keeps_the_conversions_a_later_duplicate_is_told_by(sessions):
    """A week on, the lead requalified hot (or its sale corrected) must still find its
    conversion sent: the ad platforms' rows are never pruned, so it stays one."""
    meta = Platform(accepted=True)
    lead_id = await add_lead(sessions, [meta])
    worker = Worker(sessions, [meta], backoff=FAST)
    await worker.drain()
    async with UnitOfWork(sessions) as uow:
        removed = await crm.prune(uow, utcnow() + timedelta(days=30))
        await uow.commit()
    assert removed == 0
    async with UnitOfWork(sessions) as uow:  # the lead requalified hot, after the pruning
        crm.note(uow, lead_id, "qualified", utcnow(), temperature="hot", mql=False, sql=False)
        await uow.commit()
    await worker.drain()
    assert [(r.status, r.error) for r in await rows(sessions)] == [
        ("accepted", None), ("skipped", "duplicate")]
    assert len(meta.received) == 1


async def test_rows_in_an_upload_or_its_check_are_not_taken_by_a_second_process(
        sessions, engine):
    """What the two workers above rely on, met head on: while one process leases rows
    (not yet committed), another passes them over (PostgreSQL: SKIP LOCKED); once leased,
    they are not due again until the lease runs out."""
    for n in range(3):
        await add_lead(sessions, [Uploads()], user=5000 + n)
    now, lease = utcnow(), timedelta(seconds=30)
    other: list[CrmDelivery] = []
    async with UnitOfWork(sessions) as first:
        taken = await crm.take_batch(first, "metrica", now, lease, 2)
        if engine.dialect.name == "postgresql":
            async with UnitOfWork(sessions) as second:  # meanwhile, another process
                other = await crm.take_batch(second, "metrica", now, lease, 500)
                await second.commit()
        await first.commit()
    ids = [row.id for row in await rows(sessions)]
    assert [row.id for row in taken] == ids[:2] and all(r.attempts == 0 for r in taken)
    assert [row.id for row in other] == (ids[2:] if engine.dialect.name == "postgresql" else [])
    async with UnitOfWork(sessions) as uow:
        later = await crm.take_batch(uow, "metrica", now + timedelta(seconds=10), lease, 500)
        await uow.commit()
    assert [row.id for row in later] == ([] if other else ids[2:])  # not leased yet: due
    await change(sessions, status="sent", sent_at=now, data={"upload": "7"})
    since = now - timedelta(days=1)
    async with UnitOfWork(sessions) as uow:
        checks = await crm.take_checks(uow, "metrica", now + 2 * lease, since, lease, 500)
        again = await crm.take_checks(uow, "metrica", now + 2 * lease, since, lease, 500)
        await uow.commit()
    assert (len(checks), again) == (3, [])
