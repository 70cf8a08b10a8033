"""The Broadcasts pages in a real headless Chromium: the owner signs in, follows the top
bar's Broadcasts link, pastes a bad file (its problems beside the form, the text kept) and a
good one (the draft's page), and at 1400 and 400 px in en / ru / uk nothing on the list, the
draft's page or the refused form is wider than the window (tables scroll inside their card).
"""

from __future__ import annotations

import pytest

from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.conftest import TOKEN, web_running
from tests.web.test_broadcasts_page import BAD, FILE
from tests.web.test_home_browser import WIDE

ZONE = "Europe/Moscow"


@pytest.fixture
async def broadcasts_web(telegram, tmp_path):
    async with web_running(telegram, tmp_path, admin_token=TOKEN, timezone=ZONE) as triple:
        yield triple


async def fits(page, what: str) -> None:  # noqa: F811
    assert await page.evaluate(WIDE) == [], what
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"), what


async def test_the_broadcasts_pages_fit_a_phone(broadcasts_web, page):  # noqa: F811
    _, _, base = broadcasts_web
    await page.set_viewport_size({"width": 1400, "height": 900})
    await page.goto(f"{base}/admin")
    await page.fill("#token", TOKEN)
    async with page.expect_navigation():
        await page.click("#sign-in button[type=submit]")
    async with page.expect_navigation():
        await page.click("#nav-broadcasts")
    await page.fill("#broadcast-file", BAD)
    async with page.expect_navigation():
        await page.click("#create-form button[type=submit]")
    assert "not a valid name" in await page.inner_text("#create-problems")
    assert await page.input_value("#broadcast-file") == BAD
    for width in (1400, 400):
        await page.set_viewport_size({"width": width, "height": 900})
        await fits(page, f"the refused file at {width}")
    await page.set_viewport_size({"width": 1400, "height": 900})
    await page.fill("#broadcast-file", FILE)
    async with page.expect_navigation():
        await page.click("#create-form button[type=submit]")
    assert page.url.endswith("/admin/broadcasts/winter-offer?done=created")
    assert await page.get_attribute("#broadcast-status", "data-status") == "draft"
    for lang in ("en", "ru", "uk"):
        for width in (1400, 400):
            await page.set_viewport_size({"width": width, "height": 900})
            for path in ("/admin/broadcasts", "/admin/broadcasts/winter-offer"):
                await page.goto(f"{base}{path}?lang={lang}")
                await fits(page, (path, lang, width))
