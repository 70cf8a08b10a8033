"""The dashboard in a real headless Chromium (tests/web/browser.py): the sign-in page, a
wrong token's 401, the right token, the flow picker, signing out."""

from __future__ import annotations

from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.conftest import TOKEN


async def submit(page, token: str):  # noqa: F811
    await page.fill("#token", token)
    async with page.expect_navigation() as navigation:
        await page.click("#sign-in button[type=submit]")
    return await navigation.value


async def test_sign_in_pick_a_flow_and_sign_out(admin_web, page):  # noqa: F811
    _, _, base = admin_web
    response = await page.goto(f"{base}/admin")
    assert response.status == 401  # not signed in: the sign-in form
    assert await page.is_visible("#sign-in")
    assert await page.title() == "Sign in · leadbot dashboard"

    response = await submit(page, "not the token")
    assert response.status == 401
    assert await page.inner_text("#wrong-token") == "That token is not right."

    response = await submit(page, TOKEN)
    assert response.status == 200 and page.url == f"{base}/admin"
    options = await page.eval_on_selector_all("#flow option", "els => els.map(e => e.value)")
    assert "kitchen-quiz" in options and "renovation-calculator" in options
    [cookie] = [c for c in await page.context.cookies() if c["name"] == "leadbot_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    await page.select_option("#flow", "kitchen-quiz")
    async with page.expect_navigation():
        await page.click("#flow-picker button[type=submit]")
    assert page.url == f"{base}/admin?flow=kitchen-quiz"
    assert "kitchen-quiz" in await page.inner_text("#flow-title")
    assert await page.is_visible("#panel-funnel")

    async with page.expect_navigation():
        await page.click("#sign-out button")
    assert page.url == f"{base}/admin/login"
    response = await page.goto(f"{base}/admin")
    assert response.status == 401


async def test_the_language_switch_in_the_browser(admin_web, page):  # noqa: F811
    _, _, base = admin_web
    await page.goto(f"{base}/admin/login")
    async with page.expect_navigation():
        await page.click("nav.languages a[href='?lang=uk']")
    assert await page.inner_text("h1") == "Увійти"
    await page.goto(f"{base}/admin/login")  # remembered
    assert await page.inner_text("h1") == "Увійти"


def test_a_missing_chromium_fails_in_ci_and_is_skipped_with_its_reason_elsewhere(monkeypatch):
    """Before: three browser tests were skipped without a word where Chromium was missing
    (pytest -q prints no reasons), and CI=false counted as CI."""
    import tomllib
    from pathlib import Path

    import pytest

    from tests.web import browser

    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("PATH", "/nonexistent")
    for ci in ("true", "1"):
        monkeypatch.setenv("CI", ci)
        with pytest.raises(pytest.fail.Exception, match="CI: no chromium"):
            browser.chromium_or_skip()
    for ci in ("", "false", "0"):
        monkeypatch.setenv("CI", ci)
        with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
            browser.chromium_or_skip()
    config = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "-rs" in config["tool"]["pytest"]["ini_options"]["addopts"].split()  # the reason
