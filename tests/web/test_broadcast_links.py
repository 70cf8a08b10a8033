"""A broadcast's link buttons counted (bot/jobs/broadcast_links.py, bot/web/taps.py) on the
real bot's web server, 127.0.0.1, SQLite and PostgreSQL: with LEADBOT_PUBLIC_URL each
recipient's link goes through `GET /b/<token>`, which counts their first tap of it (on the
broadcast's results and as a `broadcast_tap` event) and leads on with a 302 to the button's
own URL; HEAD, crawlers and a token whose numbers were changed are led on but not counted;
no broadcast or no link button: 404. Without a public address the link is the URL itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.jobs.broadcast_links import Links, key_of, read
from bot.jobs.broadcasts import BroadcastConfig, call, deliver
from bot.web.broadcast_view import buttons
from bot.web.taps import urls
from dialogs.broadcasts.message import LARGEST_ID, unpack
from dialogs.broadcasts.schema import from_dict
from storage.privacy.erasure import erase
from storage.privacy.rights import withdraw
from storage.reports.broadcasts import results
from storage.schema.broadcasts import Broadcast
from storage.schema.tables import Event, utcnow
from storage.work.uow import UnitOfWork
from tests.bot.broadcast_helpers import file, made, recipients
from tests.storage.broadcast_people import person
from tests.web.conftest import web_running
from tests.web.test_go import DESKTOP, go

PUBLIC = "https://bot.example.com"
SHOP = "https://shop.example.com/winter?utm_source=telegram&utm_campaign=winter"
BUTTONS = [{"text": {"en": "Open the shop", "ru": "В магазин"}, "url": SHOP},
           {"text": "Interested", "answer": "interested", "points": 5}]


@pytest.fixture(params=["sqlite", "postgresql"])
async def linked_web(request, telegram, tmp_path):
    async with web_running(telegram, tmp_path, request.param, public_url=PUBLIC,
                           quiet_hours="off") as triple:
        yield triple


async def sent_links(running, telegram, people: tuple[int, ...]) -> dict[int, str]:
    """Sends the broadcast to `people` as the bot's job does; each one's link button."""
    config = BroadcastConfig(quiet="off", weekly_cap=0,
                             links=Links.from_settings(running.app.settings))
    async with running.app.sessions() as session:
        for user_id in people:
            await person(session, user_id, language="en")
        await session.commit()
    broadcast = await made(running.app.sessions, file(buttons=BUTTONS), now=utcnow(),
                           config=config)
    while (await deliver(running.app.sessions, utcnow(), config))[0]:
        pass
    running.app.sender.wake()
    await running.settle()
    links = {}
    for user_id in people:
        [message] = [c for c in telegram.sent(user_id) if c.method == "sendMessage"]
        links[user_id] = message.params["reply_markup"]["inline_keyboard"][0][0]["url"]
    return broadcast, links


async def taps(running, broadcast: int) -> tuple[dict[int, list], list[Event]]:
    tapped = {user_id: row.tapped for user_id, row in (
        await recipients(running.app.sessions, broadcast)).items()}
    async with running.app.sessions() as session:
        events = list((await session.execute(select(Event).where(
            Event.kind == "broadcast_tap").order_by(Event.id))).scalars())
    return tapped, events


async def test_a_link_tapped_is_counted_once_and_leads_on(linked_web, telegram):
    running, client, base = linked_web
    broadcast, links = await sent_links(running, telegram, (9101, 9102))
    anna, boris = links[9101], links[9102]
    assert anna.startswith(f"{PUBLIC}/b/{broadcast}.0.") and anna != boris
    assert "9101" not in anna  # no Telegram id in the address: leadbot's own row ids

    response = await go(client, anna.replace(PUBLIC, base))
    assert response.status == 302 and response.headers["Location"] == SHOP
    assert response.headers["Cache-Control"] == "no-store"
    assert (await go(client, anna.replace(PUBLIC, base))).status == 302  # again: once
    tapped, events = await taps(running, broadcast)
    assert tapped == {9101: [0], 9102: []}
    [event] = events
    assert (event.user_id, event.source) == (9101, "broadcast:offer")
    assert event.data == {"broadcast": "offer", "button": 0, "link": True}
    async with running.app.sessions() as session:
        figures = await results(session, broadcast)
    assert figures["tapped"] == {"0": 1}

    # led on, not counted: HEAD, a link preview's robot, boris's numbers with anna's seal
    for method, agent in (("HEAD", DESKTOP), ("GET", "TelegramBot (like TwitterBot)")):
        response = await go(client, boris.replace(PUBLIC, base), agent=agent, method=method)
        assert response.status == 302 and response.headers["Location"] == SHOP
    number, index, _, seal = anna.rsplit("/", 1)[1].split(".")
    boris_row = boris.rsplit("/", 1)[1].split(".")[2]
    response = await go(client, f"{base}/b/{number}.{index}.{boris_row}.{seal}")
    assert response.status == 302 and response.headers["Location"] == SHOP
    assert (await taps(running, broadcast))[0] == {9101: [0], 9102: []}

    # no such broadcast, a button that is no link, a token that is none, ids past what the
    # database holds (PostgreSQL's integer would refuse them: never a 503), a draft: 404
    signed = Links(PUBLIC, key_of(running.app.settings.bot_token.get_secret_value()))
    draft = await made(running.app.sessions, file(name="draft", buttons=BUTTONS),
                       now=utcnow(), started=False)
    for url in (signed.url(broadcast + 1000, 0, 1), signed.url(broadcast, 1, 1),
                f"{PUBLIC}/b/{broadcast}.0.1", f"{PUBLIC}/b/x",
                signed.url(LARGEST_ID + 1, 0, 1), signed.url(broadcast, 0, 9_999_999_999),
                signed.url(draft, 0, 1), f"{PUBLIC}/b/{draft}.0.1.AAAAAAAAAAAAAAAA"):
        response = await go(client, url.replace(PUBLIC, base), **{"Accept-Language": "ru"})
        assert response.status == 404 and response.headers["Content-Language"] == "ru", url
    assert len((await taps(running, broadcast))[1]) == 1

    # the dashboard's figures: the link's count is known
    shown = buttons(file(buttons=BUTTONS)["message"], figures["tapped"], links_counted=True)
    assert [b.tapped for b in shown] == [1, 0]


async def test_no_tap_is_counted_once_the_person_may_not_be_followed(linked_web, telegram):
    """Led on, never counted: unsubscribed from the broadcast, marketing consent withdrawn,
    erased; and nobody once the broadcast is cancelled."""
    running, client, base = linked_web
    people = (9201, 9202, 9203, 9204)
    broadcast, links = await sent_links(running, telegram, people)
    async with UnitOfWork(running.app.sessions) as uow:
        await uow.broadcasts.unsubscribed(broadcast, 9201, utcnow())
        await withdraw(uow, 9202, ["marketing"], now=utcnow(), text_sha256="0" * 64,
                       language="en", update_id=None)
        await erase(uow, 9203, now=utcnow(), reason="forget")
        await uow.commit()
    for user_id in people[:3]:
        response = await go(client, links[user_id].replace(PUBLIC, base))
        assert response.status == 302 and response.headers["Location"] == SHOP
    assert (await taps(running, broadcast))[0] == {user_id: [] for user_id in people}
    async with running.app.sessions() as session:  # cancelled after the 4th was sent
        (await session.get(Broadcast, broadcast)).status = "cancelled"
        await session.commit()
    response = await go(client, links[9204].replace(PUBLIC, base))
    assert response.status == 302 and response.headers["Location"] == SHOP
    tapped, events = await taps(running, broadcast)
    assert tapped == {user_id: [] for user_id in people} and events == []


def test_a_stored_links_address_is_read_as_stored_and_sent_encoded():
    assert urls({"message": {"buttons": [
        {"url": "https://пример.рф/зима?utm_campaign=зима"}, {"flow": "kitchen-quiz"},
        {"url": "http://example.com"}, "junk"]}}) == (
        "https://xn--e1afmkfd.xn--p1ai/%D0%B7%D0%B8%D0%BC%D0%B0"
        "?utm_campaign=%D0%B7%D0%B8%D0%BC%D0%B0", None, None, None)
    assert urls({}) == () and urls({"message": "x"}) == ()
    assert unpack(f"bc:{LARGEST_ID}:0") == (LARGEST_ID, 0)
    assert unpack(f"bc:{LARGEST_ID + 1}:0") is None  # a made-up tap: never looked up


def test_without_a_public_address_a_link_is_the_url_itself():
    definition = from_dict(file(buttons=BUTTONS))
    _, plain = call(7, definition, "en", 5, None)
    assert plain["reply_markup"]["inline_keyboard"][0][0] == {"text": "Open the shop",
                                                             "url": SHOP}
    links = Links(PUBLIC, key_of("123:abc"))
    _, counted = call(7, definition, "en", 5, None, lambda index: links.url(7, index, 42))
    url = counted["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert read(links.key, url.rsplit("/", 1)[1]).genuine
    assert "callback_data" in str(counted["reply_markup"]["inline_keyboard"][1])
    # another bot token: the same numbers, a signature that is not this bot's
    other = Links(PUBLIC, key_of("123:other")).url(7, 0, 42).rsplit("/", 1)[1]
    assert read(links.key, other) is not None and not read(links.key, other).genuine
    # the dashboard, links not counted: nothing to show for the link
    assert [b.tapped for b in buttons(file(buttons=BUTTONS)["message"], {})] == [None, 0]
