"""`GET /go/<link>`: a tracking link (storage/work/tracking.py). Public, no token, in polling
and webhook mode alike: records a click under a short random token and answers 302 to
`https://t.me/<bot>?start=<flow>__<token>` (`tg://resolve?...` on a phone), which survives
Telegram's 64-character start parameter however long the UTM parameters and click ids are.

What is stored is cleaned first: UTM values cut to UTM_LENGTH, control characters (NUL
among them: PostgreSQL refuses it), format characters (Cf) and U+FFFD removed; a click id
that is too long or holds anything but A-Z a-z 0-9 . _ - is dropped (`_ym_uid`: digits
only; `_ga` / `client_id`: Google Analytics' client id, kept as `<random>.<timestamp>`).
Nothing else of the request is kept: no address, no user agent.

Not counted, still sent on to the bot (with the link's source instead of a token): HEAD
requests, crawlers, link previews (a link pasted in Telegram, WhatsApp, Slack... is fetched
by their robots), the ad platforms' link checkers and HTTP libraries, and clicks beyond
CLICKS_PER_SECOND in this process: a flood can grow the clicks table by at most that many
rows a second per process, and the people behind it still reach the bot with the source
counted.
"""

from __future__ import annotations

import html
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.i18n import from_accept_language
from storage.schema.tables import utcnow
from storage.work import tracking

log = logging.getLogger(__name__)
PATH = "/go/{link}"
START_LENGTH = 64  # Telegram's start parameter, at most
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
UTM_LENGTH = 100  # characters of a UTM value kept
CLICK_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}\Z")  # yclid, gclid, fbclid
YM_UID = re.compile(r"^[0-9]{1,64}\Z")  # Yandex Metrica's client id: digits
# Google Analytics' client id: the `_ga` cookie's value (`GA1.<n>.<random>.<timestamp>`)
# or the id alone (`<random>.<timestamp>`, gtag's `client_id`); the id alone is kept
GA_CLIENT_ID = re.compile(r"^(?:GA1\.[0-9]{1,2}\.)?([0-9]{1,20}\.[0-9]{1,20})\Z")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")  # never stored:
# control characters, surrogates, and U+FFFD (what invalid UTF-8 in the query became)
PHONE = re.compile(r"Android|iPhone|iPad|iPod", re.IGNORECASE)
# robots that fetch a link to show a preview, index it or check an ad: not people.
# Yandex Direct's link checker (YaDirectFetcher, YandexDirect) fetches every ad's URL
# again and again; Yandex's other robots name themselves Yandex<Something>Bot or are
# listed; HTTP libraries are scripts. Not here: the apps' own browsers (Instagram,
# Snapchat, Pinterest, VK, the Yandex app): a person clicked there. Snapchat's preview
# robot says "Preview", Pinterest's "Pinterestbot".
CRAWLER = re.compile(
    r"(?<!cu)bot\b|bot/|crawl|spider|preview|TelegramBot|WhatsApp|facebookexternalhit|"
    r"Facebot|Twitterbot|Slackbot|LinkedInBot|Discordbot|vkShare|Googlebot|YandexBot|"
    r"bingbot|SkypeUriPreview|redditbot|Embedly|Iframely|python-requests|curl/|wget/|"
    r"YaDirectFetcher|YandexDirect|YandexMetrika|YandexImages|YandexVideo|YandexMedia|"
    r"YandexFavicons|YandexWebmaster|YandexPagechecker|YandexImageResizer|YandexAdNet|"
    r"YandexRCA|YandexCalendar|YandexTurbo|Mail\.RU_Bot|Applebot|Pinterestbot|"
    r"^Viber/|AdsBot-Google|Mediapartners-Google|Google-InspectionTool|okhttp|"
    r"Go-http-client|node-fetch|axios/|python-httpx|aiohttp/|Apache-HttpClient|^Java/|"
    r"libwww-perl|HttpClient/",
    re.IGNORECASE)
CLICKS_PER_SECOND = 30  # recorded at most, per process (a burst of twice that is allowed)
NOT_FOUND = {
    "en": ("Link not found", "This link does not exist or is no longer in use. "
           "Please check the address, or find the bot in Telegram."),
    "ru": ("Ссылка не найдена", "Такой ссылки нет или она больше не действует. "
           "Проверьте адрес или найдите бота в Telegram."),
    "uk": ("Посилання не знайдено", "Такого посилання немає або воно більше не діє. "
           "Перевірте адресу або знайдіть бота в Telegram."),
}


def visible(text: str) -> str:
    """`text` without control characters, U+FFFD and Unicode's format characters (category
    Cf: zero-width spaces and joiners, bidi overrides and isolates, the BOM, the soft
    hyphen), which show nothing or turn the text around in a report or a CRM."""
    text = CONTROL.sub("", text)
    return "".join(c for c in text if c.isascii() or unicodedata.category(c) != "Cf")


def clean_utm(query: Any) -> dict[str, str]:
    """The UTM parameters given: invisible characters out (visible), cut to UTM_LENGTH,
    empty ones left out."""
    found = {}
    for name in UTM:
        value = visible(query.get(name) or "").strip()[:UTM_LENGTH]
        if value:
            found[name] = value
    return found


def clean_ids(query: Any) -> dict[str, str]:
    """The click ids given that look like click ids (others dropped whole: a cut click id
    matches nothing in the ad platform's reports)."""
    found = {name: query.get(name, "").strip() for name in ("yclid", "gclid", "fbclid")}
    found = {name: value for name, value in found.items() if CLICK_ID.fullmatch(value)}
    ym_uid = query.get("_ym_uid", "").strip()
    if YM_UID.fullmatch(ym_uid):
        found["ym_uid"] = ym_uid
    if ga_client_id := ga_client(query):
        found["ga_client_id"] = ga_client_id
    return found


def ga_client(query: Any) -> str | None:
    """Google Analytics' client id from `_ga` (the cookie's value, as a site's link passes
    it) or `client_id`: `<random>.<timestamp>`, digits and one dot; None if neither is
    one (a cut or reshaped id would tie the conversion to nobody)."""
    for name in ("_ga", "client_id"):
        found = GA_CLIENT_ID.fullmatch(query.get(name, "").strip())
        if found:
            return found.group(1)
    return None


def is_crawler(user_agent: str) -> bool:
    return not user_agent.strip() or bool(CRAWLER.search(user_agent))


def destination(username: str, payload: str, user_agent: str) -> str:
    """Where the visitor goes: the bot's deep link, the app's own form on a phone."""
    if PHONE.search(user_agent):
        return f"tg://resolve?domain={username}&start={quote(payload)}"
    return f"https://t.me/{username}?start={quote(payload)}"


class Bucket:
    """CLICKS_PER_SECOND, refilled continuously; `take` False when it is empty."""

    def __init__(self, rate: float = CLICKS_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.clock = rate, clock
        self.tokens, self.at = 2 * rate, clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(2 * self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Go:
    """The handler of GET (and HEAD) /go/<link>. `username` gives the bot's @username,
    from getMe at start (the hand-off desk keeps it)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 username: Callable[[], str], bucket: Bucket | None = None) -> None:
        self.sessions, self.username = sessions, username
        self.bucket = bucket or Bucket()
        self.counted = self.skipped = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.handle)  # HEAD too (aiohttp's allow_head)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["link"]
        agent = request.headers.get("User-Agent", "")
        if not tracking.NAME.fullmatch(name):
            return not_found(request)
        username = self.username()
        if not username:  # getMe has not answered yet: the bot is starting
            return web.Response(status=503, text="starting", headers=NO_STORE)
        count = request.method == "GET" and not is_crawler(agent)
        try:
            async with self.sessions() as session, session.begin():
                link = await tracking.link(session, name)
                if link is None:
                    return not_found(request)
                payload = fallback(link.flow_id, link.source)
                if count and self.bucket.take():
                    token = await tracking.add_click(
                        session, link, clean_utm(request.query), clean_ids(request.query),
                        utcnow())
                    payload = f"{link.flow_id}__{token}"
                    self.counted += 1
                else:
                    self.skipped += 1
        except SQLAlchemyError as error:  # the database is away: /readyz says so too
            log.warning("/go/%s: the click was not recorded: %s", name, type(error).__name__)
            return web.Response(status=503, text="try again", headers=NO_STORE)
        return web.Response(status=302, headers={
            **NO_STORE, "Location": destination(username, payload, agent)})


NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def fallback(flow_id: str, source: str) -> str:
    """The deep link without a click: `FLOW__SOURCE` when it fits, else the flow alone."""
    payload = f"{flow_id}__{source}"
    return payload if len(payload) <= START_LENGTH else flow_id


def not_found(request: web.Request) -> web.Response:
    """404 in the visitor's language (Accept-Language: ru, uk, en; English otherwise)."""
    language = from_accept_language(request.headers.get("Accept-Language", "")) or "en"
    title, text = NOT_FOUND.get(language, NOT_FOUND["en"])
    body = (f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(text)}</p></body></html>")
    return web.Response(status=404, text=body, content_type="text/html",
                        headers={**NO_STORE, "Content-Language": language})
