"""A lead's page in a real headless Chromium at a phone's width (400 px) and a desktop's
(1400 px), in ru / uk / en, for sales with the contacts shown and for a marketer: nothing
wider than the viewport (a table may scroll inside its card), no horizontal page scroll.

LEADBOT_LEAD_SCREENSHOT=docs/img/lead.png also saves the page (en, 1400 px, contacts
hidden) as the picture of docs/dashboard.md (`make screenshot`)."""

from __future__ import annotations

import os

import pytest

from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.test_lead_page import TOKEN, site  # noqa: F401 - the fixture

OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [];
    for (const e of document.querySelectorAll('body *')) {
        if (e.parentElement.closest('.scroll')) continue;  // scrolls inside its card
        const box = e.getBoundingClientRect();
        if (box.width && (box.right > width + 1 || box.left < -1))
            wide.push(`${e.tagName.toLowerCase()}#${e.id}.${e.className} `
                      + `${Math.round(box.left)}..${Math.round(box.right)}`);
    }
    return {width, scroll: document.documentElement.scrollWidth, wide};
}"""


@pytest.mark.parametrize("width", [400, 1400])
async def test_the_lead_page_fits_the_screen(site, page, width):  # noqa: F811
    client, _, lead_id = site
    base = str(client.make_url("/"))
    await page.set_viewport_size({"width": width, "height": 900})
    for who, query in (("Sveta:sales", "contacts=1"), ("Mira:marketer", "")):
        await page.set_extra_http_headers({"Authorization": f"Bearer {TOKEN}",
                                           "X-Test-Viewer": who})
        for lang in ("ru", "uk", "en"):
            await page.goto(f"{base}admin/lead/{lead_id}?lang={lang}&{query}")
            assert await page.locator("#lead-answers li").count() >= 8
            found = await page.evaluate(OVERFLOW)
            assert found["scroll"] <= found["width"], (lang, who, found)
            assert found["wide"] == [], (lang, who, found["wide"][:5])
    picture = os.environ.get("LEADBOT_LEAD_SCREENSHOT")
    if picture and width == 1400:
        await page.set_extra_http_headers({"Authorization": f"Bearer {TOKEN}",
                                           "X-Test-Viewer": "Sveta:sales"})
        await page.goto(f"{base}admin/lead/{lead_id}?lang=en")
        os.makedirs(os.path.dirname(picture) or ".", exist_ok=True)
        await page.screenshot(path=picture, full_page=True)
