"""The flow page as a marketer reads it (issue 24, point 2), through the real server: steps
named by their question in the page's language, "answered" only under steps that ask,
branch ends as shares of the branching step, the answers chosen equal to those stored,
the CSV of each table (a marketer's never with contacts), the language switch keeping the
filters, bad filters echoed beside their field, an unknown flow a translated page."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.web.admin import Admin
from bot.web.security import Guard
from storage.reports.funnel import funnel
from storage.reports.period import FunnelQuery
from storage.schema.tables import Answer, Conversation, Event
from tests.web.conftest import TOKEN
from tests.web.demo import fill
from tests.web.people import signed_in
from tests.web.test_dashboard_panels import BEARER, FLOW, get, panel

ASKS = ("single_choice", "multiple_choice", "free_text", "number", "consent", "contact")


def steps_shown(html: str) -> dict[str, dict[str, str]]:
    """step id -> the data attributes of its row in the funnel, and its text."""
    found = {}
    for attrs, body in re.findall(r'<li class="step[^"]*" (.*?)>(.*?)</li>', html, re.S):
        values = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', attrs))
        found[values["step"]] = {**values, "text": re.sub(r"<[^>]+>", " ", body)}
    return found


async def expected(app) -> dict:
    today = datetime.now(UTC).date()
    async with app.sessions() as session:
        [group] = (await funnel(session, FunnelQuery(
            FLOW, today - timedelta(days=29), today, "UTC")))["groups"]
    return group


async def test_steps_named_by_their_question_rates_only_where_they_mean_something(admin_web):
    running, client, base = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=200)
    group = await expected(running.app)
    by_step = {s["step"]: s for s in group["steps"]}
    for lang, question in (("ru", "Где будет стоять кухня?"), ("uk", "Де стоятиме кухня?"),
                           ("en", "Where will the kitchen be installed?")):
        status, html, _ = await get(client, f"{base}/admin", lang=lang)
        assert status == 200
        shown = steps_shown(panel(html, "funnel"))
        assert question in shown["location"]["text"] and "location" in shown["location"]["text"]
        assert "{discount}" not in shown["layout"]["text"]  # placeholders left out
    shown = steps_shown(panel(html, "funnel"))  # en
    for step, row in shown.items():
        asks = by_step[step]["kind"] in ASKS
        assert (row["answered"] != "") == asks, step
        assert ("answered" in row["text"]) == asks, step  # none under intro, code, done
        assert "−0.0" not in row["text"] and "-0.0" not in row["text"]
    # the ends a branch leads to: where people went, a share of the branching step
    location, far = by_step["location"], by_step["out_of_area"]
    assert far["reached"] > 0 and far["drop_off"] is None and far["branch_of"] == "location"
    assert far["branch_share"] == round(100 * far["reached"] / location["reached"], 1)
    assert shown["out_of_area"]["branch-share"] == str(far["branch_share"])
    assert shown["out_of_area"]["drop-off"] == ""
    assert "Where will the kitchen be installed?" in shown["out_of_area"]["text"]
    assert by_step["no_consent"]["branch_of"] == "consent"


async def test_the_answers_chosen_equal_the_answers_stored(admin_web):
    running, client, base = admin_web
    app = running.app
    await fill(app.sessions, app.flows, prospects=200)
    _, html, _ = await get(client, f"{base}/admin", lang="ru")
    answers = panel(html, "answers")
    async with app.sessions() as session:  # every answer stored of the flow (all in period)
        rows = (await session.execute(
            select(Conversation.user_id, Answer.step, Answer.value)
            .join(Conversation, Conversation.id == Answer.conversation_id)
            .where(Conversation.flow_id == FLOW))).all()
    people: dict[tuple[str, str], set[int]] = defaultdict(set)
    for user, step, value in rows:
        for option in value if isinstance(value, list) else [value]:
            people[(step, str(option))].add(user)
    shown = {}
    for step, body in re.findall(r'<div class="question" data-step="([^"]+)"(.*?)</ul>',
                                 answers, re.S):
        for option, count in re.findall(r'data-option="([^"]+)" data-people="(\d+)"', body):
            shown[(step, option)] = int(count)
    assert shown and {k: v for k, v in shown.items() if v} == {
        k: len(v) for k, v in people.items() if k[0] in {s for s, _ in shown}}
    assert "В городе" in answers and "Встраиваемая техника" in answers  # labels in ru


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_each_table_downloads_as_csv(admin_web):
    running, client, base = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=120)
    group = await expected(running.app)
    for table in ("steps", "days", "answers", "sources", "variants", "leads"):
        async with client.get(f"{base}/admin/csv/{table}", params={"flow": FLOW},
                              headers=BEARER) as response:
            assert response.status == 200, table
            assert response.content_type == "text/csv"
            disposition = response.headers["Content-Disposition"]
            assert f'filename="{FLOW}-{table}-' in disposition
            rows = read_csv(await response.read())
        assert len(rows) > 1 and len(set(map(len, rows))) == 1, table  # header, rows alike
        if table == "steps":
            assert [(r[2], int(r[4])) for r in rows[1:]] == [
                (s["step"], s["reached"]) for s in group["steps"]]
        if table == "days":
            assert sum(int(r[1]) for r in rows[1:]) == group["started"]
            assert sum(int(r[2]) for r in rows[1:]) == group["leads"]
        if table == "leads":
            assert len(rows) - 1 == group["leads"] and "+7999" not in str(rows)
    async with client.get(f"{base}/admin/csv/steps", params={"flow": FLOW, "until": "x"},
                          headers=BEARER) as response:
        assert response.status == 400
    async with client.get(f"{base}/admin/csv/steps", params={"flow": FLOW}) as response:
        assert response.status == 401  # the page's sign-in


async def as_viewer(running, role: str):
    """The admin routes, and the headers of a person of `role` signed in."""
    app = web.Application()
    Admin(Guard(TOKEN), running.app.flows, running.app.sessions, "UTC").routes(app)
    return TestClient(TestServer(app)), await signed_in(running.app.sessions, f"a {role}",
                                                          role)


async def test_a_marketer_never_gets_contacts_a_sales_person_does(admin_web):
    running, _, _ = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=80)
    client, person = await as_viewer(running, "marketer")
    async with client:
        response = await client.get("/admin", params={"flow": FLOW, "contacts": "1"},
                                    headers=person)
        html = await response.text()
        assert response.status == 200 and "+7999" not in html and "Demo " not in html
        assert 'id="show-contacts"' not in html
        response = await client.get("/admin/csv/leads", params={"flow": FLOW, "contacts": "1"},
                                    headers=person)
        body = (await response.read()).decode("utf-8-sig")
        assert response.status == 200 and "+7999" not in body and "Demo " not in body
    client, person = await as_viewer(running, "sales")
    async with client:
        response = await client.get("/admin/csv/leads", params={"flow": FLOW, "contacts": "1"},
                                    headers=person)
        body = (await response.read()).decode("utf-8-sig")
        assert "+7999" in body
    async with running.app.sessions() as session:
        [event] = (await session.execute(
            select(Event.data).where(Event.kind == "export"))).scalars().all()
    assert event["via"] == "dashboard csv" and event["rows"] == body.count("+7999")


async def test_the_language_switch_keeps_every_filter(admin_web):
    _, client, base = admin_web
    _, html, _ = await get(client, f"{base}/admin", since="2026-11-01", until="2026-11-20",
                           source="vk", temperature="hot")
    links = dict(re.findall(r'<a href="\?(lang=(\w\w)[^"]*)"', html))
    switch = re.search(r'href="\?(lang=uk[^"]*)"', html).group(1).replace("&amp;", "&")
    for kept in ("flow=kitchen-quiz", "since=2026-11-01", "until=2026-11-20", "source=vk",
                 "temperature=hot"):
        assert kept in switch, (kept, links)
    async with client.get(f"{base}/admin?{switch}", headers=BEARER) as response:
        html = await response.text()
    assert 'value="2026-11-01"' in html and 'value="vk"' in html and "Воронка" in html


async def test_bad_filters_are_echoed_beside_their_field(admin_web):
    _, client, base = admin_web
    status, html, _ = await get(client, f"{base}/admin", since="2026-11-10",
                                until="2026-11-01", lang="ru")
    assert status == 400
    assert 'id="since" value="2026-11-10"' in html and 'id="until" value="2026-11-01"' in html
    assert re.search(r'id="until-error">Период должен', html)
    status, html, _ = await get(client, f"{base}/admin", source="x" * 65)
    assert status == 400 and 'id="source-error"' in html and "x" * 65 in html


async def test_an_unknown_flow_is_a_translated_page(admin_web):
    _, client, base = admin_web
    for lang, words in (("en", "No such flow"), ("ru", "Такого сценария нет"),
                        ("uk", "Такого сценарію немає")):
        status, html, headers = await get(client, f"{base}/admin", flow="nope<b>", lang=lang)
        assert status == 404 and headers["Content-Type"].startswith("text/html")
        assert words in html and "nope&lt;b&gt;" in html and "nope<b>" not in html
        assert f'href="/admin?flow={FLOW}"' in html


async def test_statuses_and_time_to_claim_read_like_the_managers_panel(admin_web):
    running, client, base = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=150)
    _, html, _ = await get(client, f"{base}/admin", lang="ru")
    leads = panel(html, "leads")
    assert re.search(r"<td>(взят в работу|связались|сделка|потерян|прогрев|закрыт)</td>", leads)
    assert not re.search(r"<td>(contacted|nurture|closed|claimed)</td>", leads)
    claims = re.findall(r'<td class="num">(\d[\d\s,]*) (с|мин|ч)</td>', leads)
    assert claims and any(value != "0" for value, _ in claims)
    assert "LEADBOT_" not in html and "leadbot report" not in html


async def test_the_leads_csv_never_hands_excel_a_formula(admin_web):
    """A name typed as a formula (=, +, -, @) goes out with a ' (OWASP CSV injection), and a
    phone as text, as `leadbot export` writes them."""
    from storage.schema.tables import Lead

    running, _, _ = admin_web
    await fill(running.app.sessions, running.app.flows, prospects=40)
    async with running.app.sessions() as session, session.begin():
        lead = (await session.execute(select(Lead).where(Lead.name.is_not(None))
                                      .order_by(Lead.id.desc()).limit(1))).scalar_one()
        lead.name = '=HYPERLINK("http://evil.example","Open")'
    client, person = await as_viewer(running, "sales")
    async with client:
        response = await client.get("/admin/csv/leads", params={"flow": FLOW, "contacts": "1"},
                                    headers=person)
        body = (await response.read()).decode("utf-8-sig")
    assert "'=HYPERLINK(" in body and ',"=HYPERLINK(' not in body
    assert '"=""+7999' in body  # ="+7999…": the phone stays text
