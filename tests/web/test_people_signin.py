"""Personal sign-ins to /admin (bot/web/signin.py, bot/web/accounts.py) through the real
server on a real SQLite file (and PostgreSQL where sessions are shared): a one-time link
sets a password once and dies; name + password sign in, throttled when wrong; sessions
expire, a sign-out or a removal kills a copied cookie on every process; roles on the flow
page (a marketer never gets contacts) and the People page (owners only)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.web import security
from bot.web.accounts import Accounts
from bot.web.security import FREE_FAILURES, SESSION_COOKIE
from storage.schema.tables import Event
from storage.work import people
from storage.work.people import SESSION_IDLE, SESSION_TTL
from tests.web.conftest import TOKEN, web_running
from tests.web.demo import fill

PASSWORD = "correct horse battery"
FLOW = "kitchen-quiz"
PERSONAL = re.compile(r"\+7999|Demo \d|[\w.+-]+@[\w-]+\.\w")  # the demo's leads' contacts


async def link_for(running, name: str, role: str, when: datetime | None = None) -> str:
    """`leadbot admin add NAME --role ROLE`'s work, in the bot's database: the link's token."""
    now = when or datetime.now(UTC)
    async with running.app.sessions() as session, session.begin():
        person = await people.add(session, name, role, now)
        return await people.new_link(session, person, now)


async def added(running, name: str, role: str) -> None:
    """A person who has chosen their password (PASSWORD)."""
    token = await link_for(running, name, role)
    assert await Accounts(running.app.sessions, None).set_password(token, PASSWORD)


async def sign_in(client, base: str, name: str, password: str = PASSWORD, **headers):
    return await client.post(f"{base}/admin/login", data={"name": name, "password": password},
                             allow_redirects=False, headers=headers)


def session_cookie(client) -> str:
    return {c.key: c.value for c in client.cookie_jar}[SESSION_COOKIE]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_link_sets_the_password_once_then_name_and_password_sign_in(
        telegram, tmp_path, backend):
    async with web_running(telegram, tmp_path, backend) as (running, client, base):
        async with client.get(f"{base}/admin") as response:
            assert response.status == 404  # no token, nobody added: no dashboard
        token = await link_for(running, "Olga", "marketer")
        welcome = f"{base}/admin/welcome/{token}"
        async with client.get(f"{base}/admin") as response:  # no restart needed
            page = await response.text()
            assert response.status == 401 and 'id="sign-in-person"' in page
            assert 'id="token"' not in page  # no token set: no token form
        for _ in range(2):  # looking (a messenger's preview) does not spend the link
            async with client.get(welcome) as response:
                assert response.status == 200
                assert "Olga" in await response.text()
        for password, again, problem in ((PASSWORD, PASSWORD + "x", "differ"),
                                         ("short", "short", "too short")):
            async with client.post(welcome, data={"password": password, "again": again},
                                   allow_redirects=False) as response:
                assert response.status == 400 and problem in await response.text()
        async with client.post(welcome, data={"password": PASSWORD, "again": PASSWORD},
                               allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/admin"
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and token not in cookie
        async with client.get(f"{base}/admin") as response:
            page = await response.text()
        assert response.status == 200
        assert re.search(r'id="who">.*Olga.*data-role="marketer">marketer<', page)
        assert 'id="nav-people"' not in page  # a marketer manages nobody
        for method in (client.get, client.post):  # the link is spent
            async with method(welcome, data={"password": "x" * 12, "again": "x" * 12},
                              allow_redirects=False) as response:
                assert response.status == 404 and 'id="link-dead"' in await response.text()
        async with client.post(f"{base}/admin/logout", allow_redirects=False) as response:
            assert response.status == 303
        async with await sign_in(client, base, "olga", "wrong password") as response:
            page = await response.text()
            assert response.status == 401 and 'id="wrong-password"' in page
            assert 'value="olga"' in page  # the name is kept in the form
        async with await sign_in(client, base, "nobody") as response:
            assert response.status == 401  # the same answer as a wrong password
        async with await sign_in(client, base, "olga") as response:  # any case
            assert response.status == 303
        async with client.get(f"{base}/admin") as response:
            assert response.status == 200
        async with client.get(f"{base}/metrics") as response:  # no token: open, as before
            assert response.status == 200


async def test_an_expired_link_does_not_work(telegram, tmp_path):
    async with web_running(telegram, tmp_path) as (running, client, base):
        old = await link_for(running, "Olga", "sales",
                             datetime.now(UTC) - people.LINK_TTL - timedelta(seconds=1))
        for method in (client.get, client.post):
            async with method(f"{base}/admin/welcome/{old}", allow_redirects=False,
                              data={"password": PASSWORD, "again": PASSWORD}) as response:
                assert response.status == 404 and 'id="link-dead"' in await response.text()
        async with client.get(f"{base}/admin/welcome/{'x' * 43}") as response:
            assert response.status == 404


async def test_wrong_passwords_are_slowed_and_the_right_one_is_not(telegram, tmp_path,
                                                                   monkeypatch):
    """As the token's: the first few failures answer at once, the next wait (here an hour:
    "still waiting" is certain), a full waiting room answers 429; the right password from
    the same address gets in at once."""
    monkeypatch.setattr(security, "BASE_DELAY", 3600.0)
    monkeypatch.setattr(security, "MAX_DELAY", 3600.0)
    monkeypatch.setattr(security, "WAITING_ROOM", 2)
    async with web_running(telegram, tmp_path) as (running, client, base):
        await added(running, "Olga", "sales")
        for _ in range(FREE_FAILURES):
            async with await sign_in(client, base, "Olga", "not it at all") as response:
                assert response.status == 401
        waiting = [asyncio.create_task(sign_in(client, base, "Olga", "nope nope nope"))
                   for _ in range(2)]
        done, _ = await asyncio.wait(waiting, timeout=1.0)
        assert not done
        async with await sign_in(client, base, "Olga", "still not it") as response:
            assert response.status == 429 and "Retry-After" in response.headers
        async with client.get(f"{base}/admin/welcome/{'y' * 43}") as response:
            assert response.status == 429  # a guessed link waits in the same room
        async with await sign_in(client, base, "Olga") as response:
            assert response.status == 303
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sign_out_and_removal_end_the_session_on_every_process(telegram, tmp_path,
                                                                      backend):
    """A second process is a second Accounts over the same database: it agrees at once."""
    async with web_running(telegram, tmp_path, backend) as (running, client, base):
        other_process = Accounts(running.app.sessions, None)
        await added(running, "Olga", "sales")
        await added(running, "Taras", "marketer")
        async with await sign_in(client, base, "Olga") as response:
            assert response.status == 303
        copied = session_cookie(client)
        assert (await other_process.who(copied)).name == "Olga"
        async with client.post(f"{base}/admin/logout", allow_redirects=False) as response:
            assert response.status == 303
        async with client.get(f"{base}/admin", cookies={SESSION_COOKIE: copied}) as response:
            assert response.status == 401  # the copied cookie died with the sign-out
        assert await other_process.who(copied) is None

        taras = await other_process.sign_in("Taras", PASSWORD)  # on the other process
        async with client.get(f"{base}/admin", cookies={SESSION_COOKIE: taras}) as response:
            assert response.status == 200
        async with running.app.sessions() as session, session.begin():  # leadbot admin remove
            await people.remove(session, "Taras", datetime.now(UTC))
        async with client.get(f"{base}/admin", cookies={SESSION_COOKIE: taras}) as response:
            assert response.status == 401
        async with await sign_in(client, base, "Taras") as response:
            assert response.status == 401


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sessions_expire_when_idle_and_after_their_life(backend, tmp_path):
    from storage.db.engine import sessionmaker
    from tests.databases import fresh_engine

    engine = await fresh_engine(backend, tmp_path)
    try:
        now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
        accounts = Accounts(sessionmaker(engine), None, clock=lambda: now[0])
        async with accounts.sessions() as session, session.begin():
            person = await people.add(session, "Olga", "owner", now[0])
            token = await people.new_link(session, person, now[0])
        cookie = await accounts.set_password(token, PASSWORD)
        assert (await accounts.who(cookie)).role == "owner"
        now[0] += SESSION_IDLE - timedelta(seconds=1)
        assert await accounts.who(cookie) is not None  # in use: kept alive
        now[0] += SESSION_IDLE - timedelta(seconds=1)
        assert await accounts.who(cookie) is not None
        now[0] += SESSION_IDLE
        assert await accounts.who(cookie) is None  # idle too long
        busy = await accounts.sign_in("Olga", PASSWORD)
        started = now[0]
        while now[0] + timedelta(hours=1) < started + SESSION_TTL:
            now[0] += timedelta(hours=1)
            assert await accounts.who(busy) is not None
        now[0] = started + SESSION_TTL
        assert await accounts.who(busy) is None  # however busy, 12 hours is the end
    finally:
        await engine.dispose()


async def test_the_token_still_works_beside_people(telegram, tmp_path):
    """Bearer for /metrics and scripts, the token's form (it acts as the owner); a
    person's cookie does not open /metrics (the token's alone)."""
    async with web_running(telegram, tmp_path, admin_token=TOKEN) as (running, client, base):
        await added(running, "Olga", "owner")
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with client.get(f"{base}/metrics", headers=bearer) as response:
            assert response.status == 200 and "leadbot_" in await response.text()
        async with client.get(f"{base}/admin", headers=bearer) as response:
            assert response.status == 200
        async with client.get(f"{base}/admin/login") as response:
            page = await response.text()
            assert 'id="sign-in-person"' in page and 'id="sign-in"' in page  # both forms
        async with await sign_in(client, base, "Olga") as response:
            assert response.status == 303
        async with client.get(f"{base}/metrics") as response:
            assert response.status == 401
        client.cookie_jar.clear()
        async with client.post(f"{base}/admin/login", data={"token": TOKEN},
                               allow_redirects=False) as response:
            assert response.status == 303
        async with client.get(f"{base}/admin/people?lang=en") as response:
            page = await response.text()
            assert response.status == 200 and "Olga" in page
            assert re.search(r'id="who">.*admin token.*data-role="owner"', page)


async def exports(running) -> list[dict]:
    async with running.app.sessions() as session:
        return list((await session.execute(
            select(Event.data).where(Event.kind == "export"))).scalars())


async def test_a_marketer_never_sees_contacts_sales_does_and_is_recorded(telegram, tmp_path):
    async with web_running(telegram, tmp_path) as (running, client, base):
        await fill(running.app.sessions, running.app.flows, prospects=80)
        await added(running, "Taras", "marketer")
        await added(running, "Иван", "sales")
        flow_page = f"{base}/admin?flow={FLOW}&lang=en"
        async with await sign_in(client, base, "Taras") as response:
            assert response.status == 303
        for asked in ("", "&contacts=1", "&contacts=1&page=2", "&contacts=1&temperature=hot"):
            async with client.get(flow_page + asked) as response:
                page = await response.text()
            assert response.status == 200 and 'data-lead="' in page  # the leads are listed
            assert not PERSONAL.search(page), asked
            assert 'id="show-contacts"' not in page and 'class="contact"' not in page
        assert await exports(running) == []  # nothing shown, nothing recorded

        client.cookie_jar.clear()
        async with await sign_in(client, base, "иван") as response:
            assert response.status == 303
        async with client.get(flow_page) as response:
            page = await response.text()
        assert 'id="show-contacts"' in page and not PERSONAL.search(page)
        async with client.get(flow_page + "&contacts=1") as response:
            page = await response.text()
        assert "+7999" in page and "Demo " in page
        [event] = await exports(running)
        assert event["who"] == "Иван" and event["via"] == "dashboard"
        assert event["rows"] == len(re.findall(r"<tr data-lead=", page))
        assert not PERSONAL.search(str(event))


async def test_the_people_page_is_the_owners(telegram, tmp_path):
    async with web_running(telegram, tmp_path) as (running, client, base):
        await added(running, "Olga", "owner")
        await added(running, "Taras", "marketer")
        async with await sign_in(client, base, "Taras") as response:
            assert response.status == 303
        async with client.get(f"{base}/admin/people?lang=en") as response:
            assert response.status == 403 and 'id="people-forbidden"' in await response.text()
        async with client.post(f"{base}/admin/people/add", data={"name": "Eve", "role": "owner"},
                               allow_redirects=False) as response:
            assert response.status == 403
        async with client.post(f"{base}/admin/people/remove", data={"name": "Olga"},
                               allow_redirects=False) as response:
            assert response.status == 403
        taras = session_cookie(client)

        client.cookie_jar.clear()
        async with await sign_in(client, base, "Olga") as response:
            assert response.status == 303
        async with client.get(f"{base}/admin?lang=en") as response:
            assert 'id="nav-people"' in await response.text()
        async with client.post(f"{base}/admin/people/add", data={"name": "Ann", "role": "sales"},
                               headers={"Origin": "https://evil.example"}) as response:
            assert response.status == 403  # a form from another site
        async with client.post(f"{base}/admin/people/add",
                               data={"name": "Ann", "role": "sales"}) as response:
            page = await response.text()
        assert response.status == 200
        url = re.search(r'id="new-link-url">([^<]+)<', page).group(1)
        assert url.startswith(f"{base}/admin/welcome/")
        async with client.get(f"{base}/admin/people?lang=en") as response:
            page = await response.text()
        assert url not in page and 'data-person="Ann"' in page  # shown once, on the add
        async with client.post(f"{base}/admin/people/add",
                               data={"name": "ann", "role": "owner"}) as response:
            assert response.status == 400 and 'id="people-problem"' in await response.text()
        async with client.post(f"{base}/admin/people/remove",
                               data={"name": "Olga"}) as response:
            assert response.status == 400  # not yourself
        async with client.post(f"{base}/admin/people/remove",
                               data={"name": "Taras"}) as response:
            page = await response.text()
            assert response.status == 200 and 'data-person="Taras"' not in page
        async with client.get(f"{base}/admin", cookies={SESSION_COOKIE: taras}) as response:
            assert response.status == 401  # removed: signed out at once
        async with client.get(url) as response:  # Ann's link works
            assert response.status == 200 and "Ann" in await response.text()
