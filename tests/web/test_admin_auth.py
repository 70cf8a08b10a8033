"""/admin behind LEADBOT_ADMIN_TOKEN: bearer header, sign-in form and its cookie, sign-out,
401s, the slowdown of repeated failures, and the headers every page carries. (People's
sign-ins: tests/web/test_people_signin.py.)"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.web import security
from bot.web.accounts import Accounts
from bot.web.security import FREE_FAILURES, MAX_DELAY, Slowdown
from storage.schema.people import AdminSession
from tests.web.conftest import TOKEN, web_running

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def assert_protected_headers(response) -> None:
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"


async def sign_in(client, base: str, token: str = TOKEN, **headers):
    return await client.post(f"{base}/admin/login", data={"token": token},
                             allow_redirects=False, headers=headers)


async def test_no_token_no_dashboard_and_open_metrics(open_web):
    _, client, base = open_web
    for path in ("/admin", "/admin/login"):
        async with client.get(base + path) as response:
            assert response.status == 404
    async with client.get(f"{base}/metrics") as response:
        assert response.status == 200 and "leadbot_updates_handled_total" in await response.text()


async def test_the_dashboard_by_bearer_token(admin_web):
    _, client, base = admin_web
    async with client.get(f"{base}/admin", headers=BEARER) as response:
        assert response.status == 200
        assert_protected_headers(response)
        page = await response.text()
    assert 'id="flow-picker"' in page and "kitchen-quiz" in page
    for wrong in ({"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"},
                  {"Authorization": f"Bearer {TOKEN}x"}):
        async with client.get(f"{base}/admin", headers=wrong) as response:
            assert response.status == 401
            assert_protected_headers(response)


async def test_sign_in_page_cookie_and_sign_out(admin_web):
    _, client, base = admin_web
    async with client.get(f"{base}/admin") as response:
        assert response.status == 401  # no credentials: the sign-in form, with a 401
        assert 'action="/admin/login"' in await response.text()
        assert_protected_headers(response)
    async with await sign_in(client, base, "wrong") as response:
        assert response.status == 401
        assert 'id="wrong-token"' in await response.text()
    async with await sign_in(client, base) as response:
        assert response.status == 303 and response.headers["Location"] == "/admin"
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    assert TOKEN not in cookie  # a session's own token, never the admin token
    async with client.get(f"{base}/admin") as response:
        assert response.status == 200 and 'id="flow-picker"' in await response.text()
    async with client.get(f"{base}/admin?flow=kitchen-quiz") as response:
        page = await response.text()
        assert 'id="panel-funnel"' in page and 'id="panel-leads"' in page
    async with client.get(f"{base}/admin?flow=nope") as response:
        assert response.status == 404
    copied = {c.key: c.value for c in client.cookie_jar}[security.SESSION_COOKIE]
    async with client.post(f"{base}/admin/logout", allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/admin/login"
    async with client.get(f"{base}/admin") as response:
        assert response.status == 401
    # the cookie copied before the sign-out died with it
    async with client.get(f"{base}/admin",
                          cookies={security.SESSION_COOKIE: copied}) as response:
        assert response.status == 401


async def test_a_forged_or_expired_cookie_is_refused(admin_web):
    """The cookie is a random token whose hash is a session row: a guessed, altered or
    expired one is refused, and so is one opened under another admin token (a new token
    signs its old holder out)."""
    running, client, base = admin_web
    async with await sign_in(client, base) as response:
        assert response.status == 303
    good = {c.key: c.value for c in client.cookie_jar}[security.SESSION_COOKIE]
    client.cookie_jar.clear()
    other = await Accounts(running.app.sessions, "another token").open_for_token_holder()
    for cookie in (good + "x", good[:-1], "garbage", "", "é" * 50, other):
        async with client.get(f"{base}/admin",
                              cookies={security.SESSION_COOKIE: cookie}) as response:
            assert response.status == 401, cookie
    async with client.get(f"{base}/admin", cookies={security.SESSION_COOKIE: good}) as response:
        assert response.status == 200
    async with running.app.sessions() as session, session.begin():  # its 12 hours are over
        await session.execute(update(AdminSession).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    async with client.get(f"{base}/admin", cookies={security.SESSION_COOKIE: good}) as response:
        assert response.status == 401


async def test_the_cookie_is_secure_behind_https(admin_web):
    _, client, base = admin_web
    async with await sign_in(client, base, **{"X-Forwarded-Proto": "https"}) as response:
        assert response.status == 303
        assert "Secure" in response.headers["Set-Cookie"]


async def test_a_sign_in_posted_from_another_site_is_refused(admin_web):
    _, client, base = admin_web
    async with await sign_in(client, base, Origin="https://evil.example") as response:
        assert response.status == 403
        assert "Set-Cookie" not in response.headers


async def test_languages_by_accept_language_and_the_switch(admin_web):
    _, client, base = admin_web
    async with client.get(f"{base}/admin/login",
                          headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"}) as response:
        page = await response.text()
        assert '<html lang="uk">' in page and "Увійти" in page
    async with client.get(f"{base}/admin/login?lang=ru") as response:
        assert "Войти" in await response.text()
    async with client.get(f"{base}/admin/login",
                          headers={"Accept-Language": "en"}) as response:
        assert "Войти" in await response.text()  # the switch is remembered (cookie)
    async with client.get(f"{base}/admin/login?lang=en") as response:
        assert '<html lang="en">' in await response.text()


async def test_static_files_come_from_the_package(admin_web):
    _, client, base = admin_web
    async with client.get(f"{base}/admin/static/admin.css") as response:
        assert response.status == 200 and "text/css" in response.headers["Content-Type"]
    async with client.get(f"{base}/admin/static/../admin.py") as response:
        assert response.status in (403, 404)


def test_failures_are_slowed_down_per_address_and_forgotten():
    now = [0.0]
    slowdown = Slowdown(monotonic=lambda: now[0])
    delays = [slowdown.delay("10.0.0.1") for _ in range(FREE_FAILURES + 6)]
    assert delays[:FREE_FAILURES] == [0.0] * FREE_FAILURES
    growing = delays[FREE_FAILURES:]
    assert growing == sorted(growing) and growing[0] > 0 and growing[-1] == MAX_DELAY
    assert slowdown.delay("10.0.0.2") == 0.0  # another address starts afresh
    now[0] += security.FORGET_AFTER + 1
    assert slowdown.delay("10.0.0.1") == 0.0  # forgotten after a quiet while


def test_the_remembered_addresses_are_bounded(monkeypatch):
    monkeypatch.setattr(security, "ADDRESSES", 100)
    slowdown = Slowdown()
    for number in range(1000):
        slowdown.delay(f"10.0.{number // 256}.{number % 256}")
    assert len(slowdown.failures) == 100


async def test_a_slowed_address_still_gets_in_with_the_right_token(telegram, tmp_path,
                                                                    monkeypatch):
    """An attacker's failures from the operator's address (a shared proxy) never delay the
    right token; the wrong ones wait (here: an hour, so "still waiting" is certain), and
    once the waiting room is full the next failure gets a 429 at once."""
    monkeypatch.setattr(security, "BASE_DELAY", 3600.0)
    monkeypatch.setattr(security, "MAX_DELAY", 3600.0)
    monkeypatch.setattr(security, "WAITING_ROOM", 2)
    async with web_running(telegram, tmp_path, admin_token=TOKEN) as (_, client, base):
        wrong = {"Authorization": "Bearer wrong"}
        for _ in range(FREE_FAILURES):  # the first few answer at once
            async with client.get(f"{base}/metrics", headers=wrong) as response:
                assert response.status == 401
        waiting = [asyncio.create_task(client.get(f"{base}/metrics", headers=wrong))
                   for _ in range(2)]
        done, _ = await asyncio.wait(waiting, timeout=1.0)
        assert not done  # an hour's wait each
        async with client.get(f"{base}/metrics", headers=wrong) as response:
            assert response.status == 429 and "Retry-After" in response.headers
        async with client.get(f"{base}/admin", headers=BEARER) as response:
            assert response.status == 200
        async with await sign_in(client, base) as response:
            assert response.status == 303
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)


def test_every_language_has_every_word():
    from bot.web.i18n import WORDS

    assert all(set(words) == set(WORDS["en"]) for words in WORDS.values())


@pytest.mark.parametrize(("header", "expected"), [
    ("ru-RU,ru;q=0.9", "ru"), ("de,uk;q=0.5,ru;q=0.9", "ru"), ("de", None), ("", None),
    ("en;q=bad,uk", "uk")])
def test_accept_language(header, expected):
    from bot.web.i18n import from_accept_language

    assert from_accept_language(header) == expected


def test_templates_escape_what_they_show():
    from bot.web.admin import ENVIRONMENT, FlowItem
    from bot.web.i18n import LANGUAGES, words

    page = ENVIRONMENT.get_template("dashboard.html").render(
        lang="en", t=words("en"), languages=LANGUAGES, static=lambda n: n, panels=(),
        panel_data={}, flows=[FlowItem("x", 1, "<script>alert(1)</script>")], flow=None)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert not re.search(r"<script|\son\w+=", page)


def test_templates_and_static_files_ship_in_the_package():
    """pyproject's package-data globs cover every file the dashboard reads."""
    import tomllib
    from pathlib import Path

    import bot

    root = Path(bot.__file__).parent
    data = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["bot"]
    shipped = {path for pattern in globs for path in root.glob(pattern)}
    needed = {p for folder in ("web/templates", "web/static")
              for p in (root / folder).rglob("*") if p.is_file()}
    assert needed and needed <= shipped
