"""Personal sign-in in a real headless Chromium: an owner opens the one-time link they were
given, chooses a password, lands on the dashboard with their name and role in the top bar,
adds a colleague on the People page (the link shown once), signs out and back in with name
and password. The sign-in, link and People pages fit 1400 and 400 px in ru / uk / en (no
element wider than the window, no sideways scroll of the page)."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.work import people
from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.conftest import web_running

PASSWORD = "correct horse battery"
LANGUAGES = ("ru", "uk", "en")
WIDTHS = (1400, 400)

# elements sticking out of the window (those inside a scrolling card are fine)
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    if (document.documentElement.scrollWidth > width) out.push('page ' +
        document.documentElement.scrollWidth);
    for (const el of document.querySelectorAll('body *')) {
        if (el.closest('.scroll')) continue;
        const box = el.getBoundingClientRect();
        if (box.width && (box.right > width + 0.5 || box.left < -0.5))
            out.push(el.tagName + '#' + el.id + '.' + el.className + ' ' + box.right);
    }
    return out;
}"""


async def fits(page, what: str) -> None:  # noqa: F811
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        assert await page.evaluate(OVERFLOW) == [], f"{what} at {width} px"


async def test_an_owner_signs_in_with_the_link_and_adds_a_colleague(telegram, tmp_path,
                                                                     page):  # noqa: F811
    async with web_running(telegram, tmp_path) as (running, _, base):
        now = datetime.now(UTC)
        async with running.app.sessions() as session, session.begin():
            olga = await people.add(session, "Ольга Петренко", "owner", now)
            token = await people.new_link(session, olga, now)
        await page.set_viewport_size({"width": 400, "height": 900})
        await page.goto(f"{base}/admin/welcome/{token}?lang=uk")
        assert "Ольга Петренко" in await page.inner_text("#welcome")
        for lang in LANGUAGES:
            await page.goto(f"{base}/admin/welcome/{token}?lang={lang}")
            await fits(page, f"the link's page in {lang}")
        await page.fill("#password", PASSWORD)
        await page.fill("#again", PASSWORD)
        async with page.expect_navigation():
            await page.click("#choose-password button[type=submit]")
        assert page.url == f"{base}/admin"
        assert await page.inner_text("#who") == "Ольга Петренко · owner"

        async with page.expect_navigation():
            await page.click("#nav-people")
        await page.fill("#person-name", "Taras")
        await page.select_option("#person-role", "sales")
        async with page.expect_navigation():
            await page.click("#people-add button[type=submit]")
        link = await page.inner_text("#new-link-url")
        assert link.startswith(f"{base}/admin/welcome/")
        await fits(page, "the People page with a new link")
        for lang in LANGUAGES:
            await page.goto(f"{base}/admin/people?lang={lang}")
            assert await page.is_visible("tr[data-person=Taras]")
            await fits(page, f"the People page in {lang}")
            role = {"ru": "владелец", "uk": "власник", "en": "owner"}[lang]
            assert await page.inner_text("#who") == f"Ольга Петренко · {role}"
        assert await page.inner_text("#who") == "Ольга Петренко · owner"  # en, the last

        async with page.expect_navigation():
            await page.click("#sign-out button")
        assert page.url == f"{base}/admin/login"
        for lang in LANGUAGES:
            await page.goto(f"{base}/admin/login?lang={lang}")
            await fits(page, f"the sign-in page in {lang}")
        await page.goto(f"{base}/admin/login?lang=en")
        await page.fill("#name", "ольга петренко")
        await page.fill("#password", "not my password")
        async with page.expect_navigation():
            await page.click("#sign-in-person button[type=submit]")
        assert await page.inner_text("#wrong-password") == "That name and password do not match."
        await page.fill("#password", PASSWORD)
        async with page.expect_navigation():
            await page.click("#sign-in-person button[type=submit]")
        assert page.url == f"{base}/admin"
        assert await page.inner_text("#who") == "Ольга Петренко · owner"
