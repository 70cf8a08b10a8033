"""A lead's page (/admin/lead/<id>) through a real aiohttp server over a real SQLite file,
the lead written by the real service (tests/storage/lead_history.py): the questions and the
options chosen in the prospect's language, the score breakdown, the timeline; a marketer
sees no contacts and no words of the person's own, whatever they ask; sales sees contacts
after asking, and the view is recorded with their name; an erased lead; an unknown id.

Who is looking: a person of each role, signed in with a real session of the database
(tests/web/people.py); the token holder otherwise."""

from __future__ import annotations

import json
import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.web.admin import Admin
from bot.web.security import Guard, security_headers
from storage.db.engine import sessionmaker
from storage.schema.tables import Event
from tests.databases import fresh_engine
from tests.storage.lead_history import (
    COMMENT,
    MANAGER_NAME,
    NAME,
    flows_with_a_comment,
    forget,
    lead_with_a_story,
)
from tests.web.people import signed_in

TOKEN = "lead-page-token"
PHONE_DIGITS = "9161234567"


@pytest.fixture
async def site(tmp_path):
    """(client, sessions, lead id); the flows are the client's `flows`."""
    engine = await fresh_engine("sqlite", tmp_path)
    sessions = sessionmaker(engine)
    flows = flows_with_a_comment(tmp_path / "flows")
    lead_id = await lead_with_a_story(sessions, flows)
    app = web.Application(middlewares=[security_headers])
    Admin(Guard(TOKEN), flows, sessions, "Europe/Moscow").routes(app)
    async with TestClient(TestServer(app)) as client:
        client.flows, client.sessions = flows, sessions
        yield client, sessions, lead_id
    await engine.dispose()


async def get(client, path: str, who: str = "", **params) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if who:  # "name:role", signed in as a person of that role
        headers = await signed_in(client.sessions, *who.split(":"))
    async with client.get(path, params=params, headers=headers) as response:
        return response.status, await response.text()


def personal(html: str) -> list[str]:
    """Whatever of the prospect's own the page holds: name, phone, e-mail, own words."""
    digits = re.sub(r"\D", "", html)
    found = [word for word in (NAME, "Анна", "Клиентова", COMMENT) if word in html]
    found += ["phone"] * (PHONE_DIGITS in digits) + ["email"] * bool(
        re.search(r"[\w.+-]+@[\w-]+\.\w+", html))
    return found


async def test_the_page_shows_the_questions_and_the_options_chosen(site):
    client, _, lead_id = site
    status, html = await get(client, f"/admin/lead/{lead_id}", lang="en")
    assert status == 200
    # the questions as the prospect (Russian) saw them, the discount as it was then
    assert "Где будет стоять кухня?" in html
    assert "Какая планировка кухни? Ваша скидка уже 3 %." in html
    assert "Когда планируете установку? Скидка: 15 %." in html
    assert "Что ещё включить в проект?" in html
    # every option of the multiple choice, in Russian; the single choice's label
    answers = re.search(r'<section class="card" id="lead-answers">(.*?)</section>', html,
                        re.S).group(1)
    assert "Встраиваемая техника" in answers and "Мойка и смеситель" in answers
    assert "В ближайший месяц" in answers and "С островом" in answers
    assert "Согласен(на)" in answers and "{company}" not in html
    # the score breakdown: the stored items, adding up to the lead's score
    table = re.search(r'<table id="score-table">(.*?)</table>', html, re.S).group(1)
    points = [int(p) for p in re.findall(r'<td class="num">\+(\d+)</td>', table)]
    total = int(re.search(r'id="score-total">(\d+)<', table).group(1))
    assert points and sum(points) == total == 97
    assert "+25" in table and "В ближайший месяц" in table
    # the timeline, in English words, Moscow time
    timeline = re.search(r'id="lead-timeline">(.*?)</section>', html, re.S).group(1)
    for line in ("Started the conversation, source: instagram",
                 "Consent to the processing of personal data given",
                 f"Claimed by {MANAGER_NAME}", "Status: contacted", "Status: won",
                 "Card posted to the managers&#39; chat", "Webhook: the lead — sent",
                 "Follow-up message sent", "Scored: 97 points, hot"):
        assert line in timeline, line
    assert "LEADBOT_" not in html and "lead_" not in re.sub(r'(id|class)="[^"]*"', "", html)


async def test_the_flow_pages_leads_table_links_to_the_lead(site):
    client, _, lead_id = site
    status, html = await get(client, "/admin", flow="kitchen-quiz")
    assert status == 200 and f'href="/admin/lead/{lead_id}"' in html


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
async def test_a_marketer_sees_no_contacts_and_no_own_words(site, lang):
    client, sessions, lead_id = site
    for params in ({}, {"contacts": "1"}):
        status, html = await get(client, f"/admin/lead/{lead_id}", "Mira:marketer", lang=lang,
                                 **params)
        assert status == 200
        assert personal(html) == [], personal(html)
        assert 'id="show-contacts"' not in html and 'id="contacts-not-yours"' in html
        assert 'class="muted hidden-answer"' in html  # the free-text answer, hidden
    async with sessions() as session:
        assert (await session.execute(select(Event).where(Event.kind == "export"))
                ).first() is None


async def test_sales_sees_contacts_after_asking_and_the_view_is_recorded(site):
    client, sessions, lead_id = site
    status, html = await get(client, f"/admin/lead/{lead_id}", "Sveta:sales")
    assert status == 200 and 'id="show-contacts"' in html
    assert NAME not in html and PHONE_DIGITS not in re.sub(r"\D", "", html)
    assert COMMENT in html  # their own words: for those who see contacts
    status, html = await get(client, f"/admin/lead/{lead_id}", "Sveta:sales", contacts="1")
    assert status == 200 and NAME in html and PHONE_DIGITS in re.sub(r"\D", "", html)
    async with sessions() as session:
        [event] = (await session.execute(select(Event).where(Event.kind == "export"))
                   ).scalars().all()
    assert event.data["who"] == "Sveta" and event.data["lead"] == lead_id
    assert NAME not in json.dumps(event.data, ensure_ascii=False)


async def test_an_erased_lead_shows_as_erased_with_nothing_personal(site):
    client, sessions, lead_id = site
    await forget(sessions, client.flows)  # the prospect's /forget, through the service
    status, html = await get(client, f"/admin/lead/{lead_id}", "Sveta:sales", contacts="1",
                             lang="ru")
    assert status == 200 and 'id="lead-erased"' in html and "Личные данные удалены" in html
    assert personal(html) == [] and 'id="show-contacts"' not in html
    assert "В ближайший месяц" in html  # what was not personal stays
    answers = re.search(r'id="lead-answers">(.*?)</section>', html, re.S).group(1)
    comment = re.search(r'data-step="comment">(.*?)</li>', answers, re.S).group(1)
    assert "(удалено)" in comment  # their own words: erased, not "skipped"
    timeline = re.search(r'id="lead-timeline">(.*?)</section>', html, re.S).group(1)
    assert "Согласие на обработку персональных данных отозвано" in timeline
    assert timeline.count("Личные данные удалены") == 1
    async with sessions() as session:  # nothing shown, nothing recorded
        assert (await session.execute(select(Event).where(Event.kind == "export"))
                ).first() is None


@pytest.mark.parametrize(("path", "lang", "said"), [
    ("/admin/lead/999999", "ru", "Такого лида нет."),
    ("/admin/lead/abc", "uk", "Такого ліда немає."),
    ("/admin/lead/99999999999999999999", "en", "There is no such lead.")])
async def test_an_unknown_lead_is_a_404_page_in_the_viewers_language(site, path, lang, said):
    client, _, _ = site
    status, html = await get(client, path, lang=lang)
    assert status == 404 and said in html and "<html" in html
