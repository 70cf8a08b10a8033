"""A real headless Chromium for the dashboard's tests: Debian's `chromium` (installed by
.ci/run when missing), driven by Playwright for Python. Playwright never downloads a
browser here: it launches /usr/bin/chromium.

The `page` fixture gives a fresh page (its own cookies) of a browser started once per test
module. Without chromium the tests are skipped with the reason, except in CI (`CI` set),
where a missing browser is a failure: the dashboard must be proven in a browser there.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import in_ci

CHROMIUM = os.environ.get("LEADBOT_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_or_skip() -> str:
    found = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if found:
        return found
    if in_ci():
        pytest.fail(f"CI: no chromium at {CHROMIUM} (.ci/run installs Debian's `chromium`)")
    pytest.skip(f"no chromium at {CHROMIUM}: `apt-get install chromium` to run the browser "
                f"tests (CI always runs them)")


@pytest.fixture
async def page():
    executable = chromium_or_skip()
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=ARGS,
                                                   headless=True)
        try:
            context = await browser.new_context(locale="en-US")
            context.set_default_timeout(60_000)  # a loaded 2-core machine
            yield await context.new_page()
            await context.close()
        finally:
            await browser.close()
