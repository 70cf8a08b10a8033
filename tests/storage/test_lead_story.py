"""A lead's story (storage/reports/lead.py) on a lead the real service took through consent,
contact, the card, a claim, two statuses, a follow-up and a CRM delivery: the timeline in
order, with who claimed and how fast, nothing personal in it; the view of its contacts
recorded with who looked. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from storage.reports.lead import lead_story, record_view
from storage.schema.tables import Event
from storage.work.uow import UnitOfWork
from tests.storage.lead_history import (
    CHOSEN,
    COMMENT,
    MANAGER_NAME,
    NAME,
    flows_with_a_comment,
    lead_with_a_story,
)


async def test_the_timeline_of_a_lead_from_start_to_sale(sessions, tmp_path):
    lead_id = await lead_with_a_story(sessions, flows_with_a_comment(tmp_path / "flows"))
    async with sessions() as session:
        story = await lead_story(session, lead_id)
        assert await lead_story(session, lead_id + 1000) is None
    assert story is not None and not story.erased
    assert story.language == "ru" and story.lead.temperature == "hot"
    whats = [m.what for m in story.timeline]
    # in the order it happened (the card is sent after the quiz, by the sender: here, last)
    expected = iter(whats)
    assert all(what in expected for what in (
        "started", "consent", "contact", "qualified", "handed", "claimed", "status",
        "first_contact", "status", "card", "delivery", "follow_up")), whats
    assert [m.at for m in story.timeline] == sorted(m.at for m in story.timeline)
    started = story.timeline[0]
    assert started.data["source"] == "instagram"
    consents = [m.data for m in story.timeline if m.what == "consent"]
    assert consents == [{"purpose": "processing", "granted": True, "withdrawn": False}]
    [claimed] = [m for m in story.timeline if m.what == "claimed"]
    assert claimed.data["manager"] == MANAGER_NAME and claimed.data["seconds"] >= 0
    statuses = [m.data["status"] for m in story.timeline if m.what == "status"]
    assert statuses == ["contacted", "won"]
    deliveries = [m.data for m in story.timeline if m.what == "delivery"]
    assert {d["target"] for d in deliveries} == {"webhook"}
    assert sorted(d["status"] for d in deliveries)[-1] == "sent"  # one went, the rest wait
    assert [d["status"] for d in deliveries].count("sent") == 1
    assert {d["event"] for d in deliveries} >= {"qualified", "handoff", "claimed", "status"}
    assert any(m.what == "card" and m.data["sent"] for m in story.timeline)
    # the answers as given: the multiple choice's every option, the person's own words
    last = story.last_answers()
    assert tuple(last["extras"].value) == CHOSEN and last["comment"].value == COMMENT
    assert story.steps[:2] == ["intro", "location"]
    # nothing personal in the timeline
    said = json.dumps([m.data for m in story.timeline], ensure_ascii=False, default=str)
    assert NAME not in said and "916" not in said and COMMENT not in said


async def test_a_view_of_contacts_is_recorded_with_who_looked(sessions, tmp_path):
    lead_id = await lead_with_a_story(sessions, flows_with_a_comment(tmp_path / "flows"))
    async with UnitOfWork(sessions) as uow:
        story = await lead_story(uow.session, lead_id)
        record_view(uow, story.lead, "Sveta", datetime.now(UTC), "Europe/Moscow")
        await uow.commit()
    async with sessions() as session:
        [event] = (await session.execute(select(Event).where(Event.kind == "export"))
                   ).scalars().all()
    assert event.data["who"] == "Sveta" and event.data["lead"] == lead_id
    assert event.data["via"] == "lead page" and event.data["rows"] == 1
    assert event.data["flow"] == "kitchen-quiz"
    assert NAME not in json.dumps(event.data, ensure_ascii=False)
