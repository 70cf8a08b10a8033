"""The dashboard's own queries on tests/storage/funnel_history.py, on SQLite and PostgreSQL:
hand-off speed per manager (adding up to the funnel's), the leads table's pages."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.reports.funnel import funnel
from storage.reports.leads import LeadFilter, page, record_lead_view
from storage.reports.speed import handoff_speed
from storage.schema.tables import Event, Handoff
from storage.work.uow import UnitOfWork
from tests.storage.funnel_history import PERIOD, PHONE, build

NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
async def history(sessions):
    async with UnitOfWork(sessions) as uow:
        await build(uow)
        await uow.commit()
    return sessions


async def test_speed_per_manager_adds_up_to_the_funnel(history):
    async with history() as session:
        [manager] = await handoff_speed(session, PERIOD)
        [group] = (await funnel(session, PERIOD))["groups"]
    # u1 claimed after 60 s and contacted after 600 s, u4 after 180 s and never contacted;
    # both by manager 77, who had no name
    assert manager == {"manager": "77", "manager_id": 77, "claimed": 2,
                       "time_to_claim": {"count": 2, "p50": 120.0, "p90": 168.0},
                       "time_to_first_contact": {"count": 1, "p50": 600.0, "p90": 600.0}}
    assert manager["time_to_claim"] == group["time_to_claim"]
    assert manager["time_to_first_contact"] == group["time_to_first_contact"]


async def test_speed_names_managers_and_follows_the_filters(history):
    async with history() as session:
        u4 = (await session.execute(select(Handoff).where(Handoff.user_id == 4))).scalar_one()
        u4.claimed_by, u4.claimed_by_name = 78, "Олена"
        await session.commit()
    async with history() as session:
        managers = await handoff_speed(session, PERIOD)
        assert [(m["manager"], m["claimed"]) for m in managers] == [("77", 1), ("Олена", 1)]
        vk = await handoff_speed(session, dataclasses.replace(PERIOD, source="vk"))
        assert [m["manager"] for m in vk] == ["Олена"]
        assert await handoff_speed(session, PERIOD, version=2) == []


async def test_the_leads_pages(history):
    async with UnitOfWork(history) as uow:
        total, rows = await page(uow, PERIOD, LeadFilter(), size=1, number=1,
                                 with_contacts=False, now=NOW)
        assert total == 3 and len(rows) == 1 and "phone" not in rows[0]
        _, second = await page(uow, PERIOD, LeadFilter(), size=1, number=2,
                               with_contacts=False, now=NOW)
        assert second[0]["created_at"] <= rows[0]["created_at"]  # newest first
        hot, rows = await page(uow, PERIOD, LeadFilter(temperature="hot"), size=10, number=1,
                               with_contacts=False, now=NOW)
        assert hot == 2 and {r["temperature"] for r in rows} == {"hot"}
        closed, _ = await page(uow, PERIOD, LeadFilter(outcome="close"), size=10, number=1,
                               with_contacts=False, now=NOW)
        assert closed == 1
        await uow.commit()
    async with history() as session:
        assert (await session.execute(select(Event).where(Event.kind == "export"))).all() == []


async def test_a_page_with_contacts_is_recorded(history):
    async with UnitOfWork(history) as uow:
        _, rows = await page(uow, PERIOD, LeadFilter(temperature="hot"), size=10, number=1,
                             with_contacts=True, now=NOW, who="Olga")
        await uow.commit()
    assert PHONE in {r["phone"] for r in rows}
    async with history() as session:
        [event] = (await session.execute(
            select(Event.data).where(Event.kind == "export"))).scalars().all()
    assert event == {"what": "leads", "who": "Olga", "rows": 2, "with_contacts": True,
                     "since": "2026-11-02", "until": "2026-11-03", "flow": "quiz", "source": None,
                     "via": "dashboard", "temperature": "hot"}


async def test_contacts_are_never_shown_to_nobody_and_a_lead_view_names_its_viewer(history):
    """`page` with contacts needs `who`; the lead page's helper records one lead's view."""
    async with UnitOfWork(history) as uow:
        with pytest.raises(ValueError, match="who"):
            await page(uow, PERIOD, LeadFilter(), size=10, number=1, with_contacts=True,
                       now=NOW)
        record_lead_view(uow, 7, "Иван", NOW)
        await uow.commit()
    async with history() as session:
        [event] = (await session.execute(select(Event).where(Event.kind == "export"))
                   ).scalars().all()
    assert event.data == {"what": "lead", "who": "Иван", "lead_id": 7, "rows": 1,
                          "with_contacts": True, "via": "lead page"}
    assert event.user_id == 0 and event.created_at == NOW
