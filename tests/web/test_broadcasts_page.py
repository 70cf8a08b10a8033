"""The Broadcasts pages through the real server (the bot running against the fake Bot API, an
aiohttp client, people signed in with real sessions): sales pastes a file (a bad one shows
its problems beside the form, the text kept), sees who it would reach, previews it to their
chat, sends, pauses, resumes, cancels; the results are storage.reports.broadcasts'; a
marketer sees the list and the results, no form, and gets 403 on every POST; each page in
ru / uk / en; nothing personal of a lead on any of them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import select

from bot.jobs.broadcasts import BroadcastConfig, deliver
from bot.web.i18n import WORDS
from storage.reports.broadcasts import results
from storage.schema.broadcasts import Broadcast
from storage.schema.tables import OutboxMessage, utcnow
from tests.e2e.harness import eventually
from tests.e2e.test_nurture import WARM, warm_lead
from tests.web.conftest import web_running
from tests.web.people import signed_in

ZONE = "Europe/Moscow"
ANYTIME = BroadcastConfig(quiet="off", weekly_cap=3)
PERSONAL = ("Anna Smith", "Ivan Petrov", "7400", "123456", "654321")  # the leads' own words
PAGE = "/admin/broadcasts"
FILE = """\
name: winter-offer
segment:
  flows: [kitchen-quiz]
  temperatures: [warm]
message:
  text:
    ru: "{name}, зимняя скидка 10 % на кухни до конца декабря."
    uk: "{name}, зимова знижка 10 % на кухні до кінця грудня."
    en: "{name}, a winter <b>10 %</b> off kitchens &amp; more until the end of December."
  fallback: en
  buttons:
    - text: {ru: "Подобрать кухню", uk: "Підібрати кухню", en: "Find my kitchen"}
      flow: kitchen-quiz
    - text: {ru: "Интересно", uk: "Цікаво", en: "Interested"}
      answer: interested
      points: 5
    - text: {ru: "Сайт", uk: "Сайт", en: "Website"}
      url: https://example.com/winter
"""
BAD = """\
name: Winter Offer
message:
  text: {ru: "<b>скидка", en: "hi"}
  buttons:
    - text: "Go"
      url: http://example.com
"""


async def people(running) -> dict[str, object]:
    """Two warm leads who agreed to marketing, one who declined it, one who /stopped."""
    anna, boris, vera = [await warm_lead(running, u) for u in (8301, 8302, 8303)]
    declined = running.prospect(8304, "en")
    await declined.start("kitchen-quiz")
    for option in (*WARM[:-1], "~mkno"):
        await declined.tap(option=option)
    await declined.send("Ivan Petrov")
    await declined.send("+44 7400 654321")
    await vera.command("/stop")
    await vera.tap(data="rights:stop:yes")
    return {"anna": anna, "boris": boris, "vera": vera, "declined": declined}


async def unsubscribe(prospect, telegram) -> None:
    """A tap on Unsubscribe under the broadcast's own message (its real message id: the
    tap counts on the broadcast's results by it)."""
    [sent] = [c for c in telegram.sent(prospect.user_id) if "winter" in
              (c.params.get("text") or "")]
    query = {"id": f"u-{prospect.user_id}", "from": prospect.user, "chat_instance": "ci",
             "data": prospect.button("Unsubscribe")["callback_data"],
             "message": {**sent.result, "chat": {"id": prospect.user_id, "type": "private"}}}
    await prospect.push({"callback_query": query})


async def get(client, base: str, path: str, who: dict, **params) -> tuple[int, str]:
    async with client.get(base + path, headers=who, params=params) as response:
        return response.status, await response.text()


async def post(client, base: str, path: str, who: dict, **fields) -> tuple[int, str, str]:
    async with client.post(base + path, headers=who, data=fields,
                           allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.get("Location", "")


async def stored(running, name: str) -> Broadcast | None:
    async with running.app.sessions() as session:
        return (await session.execute(select(Broadcast).where(Broadcast.name == name))
                ).scalar_one_or_none()


def impersonal(page: str) -> None:
    for word in PERSONAL:
        assert word not in page, word


def figure(page: str, key: str) -> int:
    return int(re.search(rf'data-figure="{key}" data-value="(\d+)"', page).group(1))


def left_out(page: str, block: str) -> dict[str, int]:
    part = re.search(rf'id="{block}">(.*?)</ul>', page, re.S).group(1)
    return {k: int(v) for k, v in re.findall(r'data-reason="(\w+)" data-count="(\d+)"', part)}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sales_creates_previews_sends_pauses_resumes_and_sees_what_came_of_it(
        telegram, tmp_path, backend):
    async with web_running(telegram, tmp_path, backend, timezone=ZONE, quiet_hours="off") as (
            running, client, base):
        who = await people(running)
        sales = await signed_in(running.app.sessions, "Sasha", "sales")

        # a bad file: every problem beside the form, the text kept, nothing stored
        status, page, _ = await post(client, base, PAGE, sales, file=BAD)
        assert status == 400 and 'id="create-problems"' in page
        problems = re.search(r'id="create-problems">(.*?)</ul>', page, re.S).group(1)
        assert "not a valid name" in problems and "https" in problems
        assert str(escape(BAD)) in page  # the textarea keeps what was pasted
        assert await stored(running, "winter-offer") is None

        status, _, where = await post(client, base, PAGE, sales, file=FILE)
        assert (status, where) == (303, f"{PAGE}/winter-offer?done=created")
        made = await stored(running, "winter-offer")
        assert made.status == "draft" and made.created_by == "Sasha"
        status, page = await get(client, base, where, sales)
        assert status == 200 and 'id="broadcast-done"' in page
        reach = re.search(r'id="broadcast-reach" data-count="(\d+)"', page).group(1)
        assert reach == "2"  # anna and boris: vera stopped, the other declined
        assert left_out(page, "broadcast-reach-left-out") == {"no_consent": 1, "stopped": 1}
        # the message as the file wrote it, escaped: its markup shown, not applied
        assert "a winter &lt;b&gt;10 %&lt;/b&gt; off kitchens &amp;amp; more" in page
        assert 'data-kind="flow"' in page and "https://example.com/winter" in page
        assert 'data-key="temperatures"' in page
        assert all(f'id="{f}"' in page for f in ("send-now", "send-at", "preview-form"))
        assert 'id="pause-form"' not in page and 'id="resume-form"' not in page
        impersonal(page)

        # a preview to a chat that never started the bot: Telegram would refuse it, said so
        status, page, _ = await post(client, base, f"{PAGE}/winter-offer/preview", sales,
                                     chat="999001", lang="en")
        assert status == 400 and "has started the bot" in page and 'value="999001"' in page
        # a preview in English to the author's own chat, sent by the running bot
        await running.prospect(999001, "en").start()
        status, _, where = await post(client, base, f"{PAGE}/winter-offer/preview", sales,
                                      chat="999001", lang="en")
        assert (status, where) == (303, f"{PAGE}/winter-offer?done=previewed")

        async def previewed() -> bool:
            return any("a winter 10 % off" in (c.params.get("text") or "")
                       for c in telegram.sent(999001))
        await eventually(previewed, what="the preview sent")
        status, page, _ = await post(client, base, f"{PAGE}/winter-offer/preview", sales,
                                     chat="12ab")
        assert status == 400 and 'id="broadcast-problem"' in page and 'value="12ab"' in page

        status, _, where = await post(client, base, f"{PAGE}/winter-offer/send", sales,
                                      how="now")
        assert (status, where) == (303, f"{PAGE}/winter-offer?done=sending")
        assert (await stored(running, "winter-offer")).total == 2
        for action, said, became in (("pause", "paused", "paused"),
                                     ("resume", "resumed", "sending")):
            status, _, where = await post(client, base, f"{PAGE}/winter-offer/{action}", sales)
            assert (status, where) == (303, f"{PAGE}/winter-offer?done={said}")
            assert (await stored(running, "winter-offer")).status == became
        # a move its status no longer allows: said plainly, nothing changed
        status, _, where = await post(client, base, f"{PAGE}/winter-offer/resume", sales)
        assert (status, where) == (303, f"{PAGE}/winter-offer?refused=resume")
        status, page = await get(client, base, where, sales)
        assert status == 200 and 'id="broadcast-refused"' in page
        assert "this broadcast is sending now; “Resume” does not apply" in page
        status, _, where = await post(client, base, f"{PAGE}/winter-offer/send", sales,
                                      how="now")
        assert where.endswith("?refused=send")
        assert (await stored(running, "winter-offer")).status == "sending"

        # it goes out; what came of it is the results function's, on both pages
        await deliver(running.app.sessions, utcnow(), ANYTIME)
        running.app.sender.wake()
        await running.settle()

        async def arrived() -> bool:  # settle counts `pending` rows only: a broadcast
            # message is `sending` (committed) before its call, and may still be on its way
            return all(any(b["text"] == button for _, row in who[name].keyboards()
                           for b in row) for name, button in (("anna", "Find my kitchen"),
                                                               ("boris", "Interested")))
        await eventually(arrived, what="both broadcast messages at the fake")
        await who["anna"].tap("Find my kitchen")
        await who["boris"].tap("Interested")
        await unsubscribe(who["boris"], telegram)
        await deliver(running.app.sessions, utcnow() + timedelta(seconds=5), ANYTIME)
        async with running.app.sessions() as session:
            expected = await results(session, made.id)
        assert (expected["status"], expected["delivered"], expected["unsubscribed"],
                expected["flows_started"]) == ("done", 2, 1, 1)
        status, page = await get(client, base, f"{PAGE}/winter-offer", sales)
        for key in ("recipients", "delivered", "blocked", "failed", "unknown", "waiting",
                    "unsubscribed", "flows_started", "leads"):
            assert figure(page, key) == expected[key], key
        assert figure(page, "taps") == 2
        assert re.search(r'data-index="1" data-kind="answer" data-tapped="1"', page)
        assert 'data-index="2" data-kind="url">' in page  # a link's taps are not known
        assert 'id="broadcast-over"' in page and 'id="cancel-form"' not in page
        impersonal(page)
        status, page = await get(client, base, PAGE, sales)
        row = re.search(r'<tr data-broadcast="winter-offer"[^>]*>', page).group(0)
        assert ('data-status="done"' in row and 'data-delivered="2"' in row
                and 'data-unsubscribed="1"' in row and 'data-taps="2"' in row
                and 'data-flows-started="1"' in row and f'data-leads="{expected["leads"]}"' in row)
        impersonal(page)
        status, _, where = await post(client, base, f"{PAGE}/winter-offer/cancel", sales)
        assert where.endswith("?refused=cancel")


async def test_a_broadcast_is_scheduled_in_the_operators_time_zone_and_cancelled(
        telegram, tmp_path):
    async with web_running(telegram, tmp_path, timezone=ZONE) as (running, client, base):
        owner = await signed_in(running.app.sessions, "Olga", "owner")
        status, _, _ = await post(client, base, PAGE, owner, file=FILE)
        assert status == 303
        send = f"{PAGE}/winter-offer/send"
        for typed, problem in (("", "Pick the day and time"), ("tomorrow", "not a time"),
                               ("2020-01-01T10:00", "has passed")):
            status, page, _ = await post(client, base, send, owner, how="at", at=typed)
            assert status == 400 and problem in page, typed
            assert f'value="{typed}"' in page  # kept in its field
        assert (await stored(running, "winter-offer")).status == "draft"
        local = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=2)).replace(
            second=0, microsecond=0)
        status, _, where = await post(client, base, send, owner, how="at",
                                      at=local.strftime("%Y-%m-%dT%H:%M"))
        assert (status, where) == (303, f"{PAGE}/winter-offer?done=scheduled")
        scheduled = await stored(running, "winter-offer")
        assert scheduled.status == "scheduled"
        assert scheduled.send_at.astimezone(UTC) == local.astimezone(UTC)
        status, page = await get(client, base, where, owner)
        assert local.strftime("%Y-%m-%d %H:%M") in page  # shown in LEADBOT_TIMEZONE
        assert 'id="cancel-form"' in page and 'id="send-now"' not in page
        status, _, where = await post(client, base, f"{PAGE}/winter-offer/cancel", owner)
        assert where.endswith("?done=cancelled")
        assert (await stored(running, "winter-offer")).status == "cancelled"
        # its name is used: a new file of that name is refused beside the form, kept
        status, page, _ = await post(client, base, PAGE, owner, file=FILE)
        assert status == 400 and "exists already (cancelled)" in page
        assert "winter &lt;b&gt;10 %" in page


async def test_a_marketer_sees_the_results_and_no_form_and_every_post_is_refused(
        telegram, tmp_path):
    async with web_running(telegram, tmp_path) as (running, client, base):
        sales = await signed_in(running.app.sessions, "Sasha", "sales")
        await post(client, base, PAGE, sales, file=FILE)
        marketer = await signed_in(running.app.sessions, "Mira", "marketer")
        for path in (PAGE, f"{PAGE}/winter-offer"):
            status, page = await get(client, base, path, marketer)
            assert status == 200
            assert 'method="post" action="/admin/broadcasts' not in page
            assert "<textarea" not in page
            assert 'id="broadcast-not-yours"' in page or 'id="broadcasts-not-yours"' in page
        assert 'data-figure="recipients"' in page  # the results are there
        before = await stored(running, "winter-offer")
        for path, fields in ((PAGE, {"file": FILE.replace("winter-offer", "other")}),
                             *((f"{PAGE}/winter-offer/{a}", {"how": "now", "chat": "1"})
                               for a in ("send", "pause", "resume", "cancel", "preview"))):
            status, page, _ = await post(client, base, path, marketer, **fields)
            assert status == 403 and 'id="broadcast-forbidden"' in page, path
        after = await stored(running, "winter-offer")
        assert (after.status, after.total) == (before.status, before.total) == ("draft", 0)
        assert await stored(running, "other") is None
        async with running.app.sessions() as session:
            assert (await session.execute(select(OutboxMessage).where(
                OutboxMessage.chat_id == 1))).first() is None


async def test_forms_from_another_site_and_unknown_names_are_refused(telegram, tmp_path):
    async with web_running(telegram, tmp_path) as (running, client, base):
        sales = await signed_in(running.app.sessions, "Sasha", "sales")
        status, _, _ = await post(client, base, PAGE, {**sales, "Origin": "https://evil.example"},
                                  file=FILE)
        assert status == 403 and await stored(running, "winter-offer") is None
        await post(client, base, PAGE, sales, file=FILE)
        status, _, _ = await post(client, base, f"{PAGE}/winter-offer/send",
                                  {**sales, "Origin": "https://evil.example"}, how="now")
        assert status == 403 and (await stored(running, "winter-offer")).status == "draft"
        for path in (f"{PAGE}/nothing-here", f"{PAGE}/Bad%20Name"):
            status, page = await get(client, base, path, sales)
            assert status == 404 and 'id="broadcast-missing"' in page
        status, page, _ = await post(client, base, f"{PAGE}/nothing-here/pause", sales)
        assert status == 404 and 'id="broadcast-missing"' in page
        status, _, _ = await post(client, base, f"{PAGE}/winter-offer/explode", sales)
        assert status == 404
        # no folder here: a photo is an https URL, a path is refused beside the form
        local = FILE.replace("  fallback: en", "  photo: files/offer.jpg\n  fallback: en")
        status, page, _ = await post(client, base, PAGE, sales, file=local)
        assert status == 400 and "a file needs the broadcast&#39;s folder" in page
        remote = local.replace("files/offer.jpg", "https://example.com/offer.jpg").replace(
            "winter-offer", "with-photo")
        status, _, where = await post(client, base, PAGE, sales, file=remote)
        assert where == f"{PAGE}/with-photo?done=created"
        status, page = await get(client, base, where, sales)
        assert 'class="bc-file">https://example.com/offer.jpg<' in page
        status, page, _ = await post(client, base, PAGE, sales, file="   ")
        assert status == 400 and "Paste the broadcast file first" in page
        status, page, _ = await post(client, base, PAGE, sales, file="x" * 100_001)
        assert status == 400 and "The file is too long" in page


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
async def test_each_page_in_each_language(telegram, tmp_path, lang):
    async with web_running(telegram, tmp_path) as (running, client, base):
        sales = await signed_in(running.app.sessions, "Sasha", "sales")
        await post(client, base, PAGE, sales, file=FILE)
        t = WORDS[lang]
        status, page = await get(client, base, PAGE, sales, lang=lang)
        assert status == 200 and f'<html lang="{lang}">' in page
        for key in ("bc_title", "bc_st_draft", "bc_delivered", "bc_create", "bc_check",
                    "broadcasts"):
            assert escape(t[key]) in page, key
        status, page = await get(client, base, f"{PAGE}/winter-offer", sales, lang=lang)
        assert status == 200
        for key in ("bc_results", "bc_segment", "bc_message", "bc_seg_flows", "bc_act_send",
                    "bc_act_preview", "bc_reach", "warm"):
            assert escape(t[key]) in page, key
        status, _, where = await post(client, base, f"{PAGE}/winter-offer/pause", sales)
        status, page = await get(client, base, where, sales, lang=lang)
        refused = t["bc_refused"].format(status=t["bc_st_draft"], action=t["bc_act_pause"])
        assert escape(refused) in page
        status, page, _ = await post(client, base, PAGE + f"?lang={lang}", sales, file=BAD)
        assert status == 400 and escape(t["bc_refused_file"]) in page
        assert f"{t['bc_line']} 1:" in page
