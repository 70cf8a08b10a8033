"""`GET /go/<link>` (bot/web/go.py) on the real bot's web server, 127.0.0.1, SQLite and
PostgreSQL: a click recorded with its click ids and UTM parameters and a 302 to the bot;
bad parameters cut or dropped; an unknown link's 404 in the visitor's language; crawlers,
link previews and HEAD not counted; the phone's tg:// form. The links come from
LEADBOT_LINKS_FILE, written at start."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from bot.web.go import clean_ids, clean_utm, ga_client, is_crawler
from storage.schema.money import Click, TrackingLink
from tests.web.browser import page  # noqa: F401 - the fixture
from tests.web.conftest import web_running

LINKS = """\
links:
  vk_autumn: {flow: kitchen-quiz, source: vk, campaign: autumn_sale}
  calc: {flow: renovation-calculator, source: tg_ads}
"""
DESKTOP = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0 Mobile Safari/537.36")
CRAWLERS = (
    "TelegramBot (like TwitterBot)", "WhatsApp/2.23.20.0 A",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Facebot", "Twitterbot/1.0", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "SomeCrawler/1.0", "Mozilla/5.0 link preview", "")


@pytest.fixture(params=["sqlite", "postgresql"])
async def go_web(request, telegram, tmp_path):
    links = tmp_path / "links.yaml"
    links.write_text(LINKS, encoding="utf-8")
    async with web_running(telegram, tmp_path, request.param, links_file=links) as triple:
        yield triple


async def clicks(running) -> list[Click]:
    async with running.app.sessions() as session:
        return list((await session.execute(select(Click).order_by(Click.id))).scalars())


async def go(client, url: str, agent: str = DESKTOP, method: str = "GET", **headers):
    return await client.request(method, url, allow_redirects=False,
                                headers={"User-Agent": agent, **headers})


async def test_a_click_is_recorded_and_sent_to_the_bot(go_web):
    running, client, base = go_web
    async with running.app.sessions() as session:
        declared = await session.get(TrackingLink, "vk_autumn")
    assert declared.declared and declared.campaign == "autumn_sale"
    response = await go(client, f"{base}/go/vk_autumn?utm_source=vk&utm_medium=cpc"
                        "&utm_campaign=autumn&utm_content=banner1&utm_term=kitchen"
                        "&yclid=123456789&gclid=Cj0KCQ.abc_-1&fbclid=IwAR2xyz"
                        "&_ym_uid=1700000000123456789&_ga=GA1.1.1234567890.1700000000"
                        "&other=ignored")
    assert response.status == 302
    assert response.headers["Cache-Control"] == "no-store"
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https", "t.me", "/leadbot_test_bot")
    start = parse_qs(location.query)["start"][0]
    flow, token = start.split("__")
    assert flow == "kitchen-quiz" and token.isalnum() and len(token) == 12
    assert len(start) <= 64
    [click] = await clicks(running)
    assert (click.token, click.link, click.flow_id, click.source, click.campaign) == (
        token, "vk_autumn", "kitchen-quiz", "vk", "autumn_sale")
    assert click.utm == {"utm_source": "vk", "utm_medium": "cpc", "utm_campaign": "autumn",
                         "utm_content": "banner1", "utm_term": "kitchen"}
    assert (click.yclid, click.gclid, click.fbclid, click.ym_uid) == (
        "123456789", "Cj0KCQ.abc_-1", "IwAR2xyz", "1700000000123456789")
    assert click.ga_client_id == "1234567890.1700000000"  # the cookie's id, not its prefix
    # another visit: another token
    again = await go(client, f"{base}/go/vk_autumn")
    assert again.headers["Location"] != response.headers["Location"]
    assert [c.utm for c in await clicks(running)] == [click.utm, {}]


async def test_bad_parameters_are_cut_or_dropped_never_stored_raw(go_web):
    running, client, base = go_web
    long_utm = "x" * 5000
    response = await go(client, f"{base}/go/calc?utm_source={long_utm}"
                        "&utm_medium=c%00p%01c%7F%C2%85&utm_campaign=%00%00"
                        "&utm_term=%D0%BA%D1%83%D1%85%D0%BD%D1%8F"  # кухня: kept
                        f"&yclid={'1' * 201}&gclid=abc%00def&fbclid=a%20b"
                        "&_ym_uid=12ab&_ga=GA1.1.12ab.1700000000%00&client_id=1.2.3")
    assert response.status == 302
    [click] = await clicks(running)
    assert click.utm == {"utm_source": "x" * 100, "utm_medium": "cpc", "utm_term": "кухня"}
    assert (click.yclid, click.gclid, click.fbclid, click.ym_uid, click.ga_client_id) == (
        None,) * 5
    assert (click.flow_id, click.source, click.campaign) == (
        "renovation-calculator", "tg_ads", None)


@pytest.mark.parametrize(("language", "words"), [
    ("ru-RU,ru;q=0.9,en;q=0.8", "Ссылка не найдена"),
    ("uk,en;q=0.5", "Посилання не знайдено"),
    ("en-GB", "Link not found"),
    ("de-DE,fr;q=0.9", "Link not found"),
])
async def test_an_unknown_link_is_a_404_in_the_visitors_language(go_web, language, words):
    running, client, base = go_web
    for path in ("/go/no_such_link", "/go/bad%00name", "/go/" + "x" * 40):
        response = await go(client, base + path, **{"Accept-Language": language})
        assert response.status == 404
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.text()
        assert words in body and "<!doctype html>" in body
    assert await clicks(running) == []


async def test_crawlers_link_previews_and_head_are_not_counted(go_web):
    running, client, base = go_web
    for agent in CRAWLERS:
        response = await go(client, f"{base}/go/vk_autumn?yclid=1", agent)
        assert response.status == 302, agent
        # still sent on: to the flow with the link's source, no token
        assert response.headers["Location"] == (
            "https://t.me/leadbot_test_bot?start=kitchen-quiz__vk"), agent
    head = await go(client, f"{base}/go/vk_autumn?yclid=1", method="HEAD")
    assert head.status == 302 and head.headers["Location"].endswith("kitchen-quiz__vk")
    assert await clicks(running) == []
    async with running.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Click)) == 0


async def test_a_phone_is_sent_to_the_telegram_app(go_web):
    running, client, base = go_web
    for agent in (IPHONE, ANDROID):
        response = await go(client, f"{base}/go/calc", agent)
        location = response.headers["Location"]
        assert location.startswith("tg://resolve?domain=leadbot_test_bot&start="
                                   "renovation-calculator__"), location
    assert len(await clicks(running)) == 2


async def test_chromium_follows_the_link_to_the_bot(go_web, page):  # noqa: F811
    """A real browser: /go/vk_autumn redirects it to t.me. There is no internet here, so
    the navigation ends in a network error after Chromium asked for the t.me URL (a route
    cannot answer it: Playwright routes the first request of a redirect chain only)."""
    from playwright.async_api import Error as BrowserError

    running, _, base = go_web
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    go_url = f"{base}/go/vk_autumn?utm_source=vk&gclid=Cj0KCQ"
    async with page.expect_request(lambda r: r.url.startswith("https://t.me/")) as reached:
        with contextlib.suppress(BrowserError):  # t.me is out of reach from here
            await page.goto(go_url)
    request = await reached.value
    [clicked] = await clicks(running)
    bot_url = f"https://t.me/leadbot_test_bot?start=kitchen-quiz__{clicked.token}"
    assert request.url == bot_url
    assert request.redirected_from is not None and request.redirected_from.url == go_url
    redirect = await request.redirected_from.response()
    assert redirect.status == 302 and redirect.headers["cache-control"] == "no-store"
    assert asked[:2] == [go_url, bot_url]
    assert (clicked.gclid, clicked.utm) == ("Cj0KCQ", {"utm_source": "vk"})


# robots seen on ad links: Yandex Direct's link checker fetches every ad's URL again and
# again (the main platform of this audience), preview services and HTTP libraries
ROBOTS = (
    "Mozilla/5.0 (compatible; YaDirectFetcher/1.0; Dyatel; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; YandexDirect/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; YandexDirectDyn/1.0; +http://yandex.com/bots",
    "Mozilla/5.0 (compatible; YandexMetrika/2.0; +http://yandex.com/bots yabs01)",
    "Mozilla/5.0 (compatible; YandexAccessibilityBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; YandexScreenshotBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; Linux x86_64; Mail.RU_Bot/2.0; +https://help.mail.ru/)",
    "Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
    "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/58.0.3029.110 Safari/537.36 Snap URL Preview Service; bot; snapchat",
    "Viber/20.3.0 CFNetwork/1474 Darwin/23.0.0",
    "Iframely/1.3.1 (+https://iframely.com/docs/about) Atlassian",
    "okhttp/4.12.0", "Go-http-client/1.1", "Go-http-client/2.0", "node-fetch/1.0 "
    "(+https://github.com/bitinn/node-fetch)", "node-fetch", "axios/1.6.7",
    "python-httpx/0.27.0", "Python/3.12 aiohttp/3.9.5", "Apache-HttpClient/4.5.14 (Java/17)",
    "Java/17.0.2", "libwww-perl/6.72",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/131.0 Mobile Safari/537.36 (compatible; AdsBot-Google-Mobile; "
    "+http://www.google.com/mobile/adsbot.html)",
    "Mediapartners-Google",
)
# people: browsers and the apps' own browsers (an ad's click often opens in one)
PEOPLE = (
    DESKTOP, IPHONE, ANDROID,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 YaBrowser/24.12.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Mobile Safari/537.36 YaApp_Android/24.120 YaSearchBrowser/24.120",
    "Mozilla/5.0 (Linux; Android 12; M2101K7BNY) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/131.0 Mobile Safari/537.36 VKAndroidApp/8.100-17150 (Android 12)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 Instagram 340.0.3.23.87 (iPhone15,2; iOS 17_5; ru_RU)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 Snapchat/13.10.0.40 (like Safari/8618.2.12.10.4, panda)",
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Mobile Safari/537.36 [Pinterest/Android]",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)


@pytest.mark.parametrize("agent", ROBOTS)
def test_ad_platforms_checkers_previews_and_http_libraries_are_not_clicks(agent):
    assert is_crawler(agent)


@pytest.mark.parametrize("agent", PEOPLE)
def test_browsers_and_the_apps_own_browsers_are_clicks(agent):
    assert not is_crawler(agent)


@pytest.mark.parametrize(("given", "kept"), [
    ("vk\u202egnp.exe", "vkgnp.exe"),          # right-to-left override
    ("a\u200bb\u200cc\u200dd\u2060e", "abcde"),  # zero-width space, joiners, word joiner
    ("\ufeffautumn\u2066x\u2069", "autumnx"),  # BOM, bidi isolates: category Cf
    ("bad\ufffdutf8", "badutf8"),              # what invalid UTF-8 decodes to
    ("\u00adsoft", "soft"),                    # soft hyphen (Cf)
    ("кухня 2026", "кухня 2026"), ("café", "café"),
    ("\u200b\u202e", None),                    # nothing left: left out
])
def test_invisible_and_replacement_characters_are_not_stored_in_utm(given, kept):
    assert clean_utm({"utm_campaign": given}).get("utm_campaign") == kept


async def test_invalid_utf8_in_a_utm_value_is_not_stored_as_u_fffd(go_web):
    running, client, base = go_web
    response = await go(client, f"{base}/go/calc?utm_term=ok%FF%FEyes&utm_content=%E2%80%AE")
    assert response.status == 302
    [click] = await clicks(running)
    assert click.utm == {"utm_term": "okyes"}


@pytest.mark.parametrize(("query", "kept"), [
    ({"_ga": "GA1.1.1234567890.1700000000"}, "1234567890.1700000000"),  # the cookie
    ({"_ga": "GA1.2.987654321.1712345678"}, "987654321.1712345678"),  # a subdomain's
    ({"_ga": " 1234567890.1700000000 "}, "1234567890.1700000000"),  # the id alone
    ({"client_id": "1234567890.1700000000"}, "1234567890.1700000000"),  # gtag's
    ({"_ga": "junk", "client_id": "55.66"}, "55.66"),
    ({"_ga": "GA1.1.1234567890"}, None),  # cut: no timestamp
    ({"_ga": "GA2.1.1234567890.1700000000"}, None),  # not the cookie's form
    ({"_ga": "GS1.1.1700000000.1.1.1700000100.0.0.0"}, None),  # a session cookie
    ({"_ga": "1234567890.1700000000.1"}, None),  # two dots
    ({"_ga": "1234567890.1700000000\n"}, "1234567890.1700000000"),  # trimmed, as others
    ({"_ga": "1234567890.\n1700000000"}, None),
    ({"client_id": "abc.def"}, None), ({"client_id": "1" * 21 + ".1"}, None),
    ({"client_id": "１２.３４"}, None),  # fullwidth digits are not ASCII digits
    ({"client_id": "1234567890.1700000000<script>"}, None), ({}, None),
])
def test_the_google_analytics_client_id_is_kept_only_in_its_own_form(query, kept):
    assert ga_client(query) == kept
    assert clean_ids(query).get("ga_client_id") == kept
