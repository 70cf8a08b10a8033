"""/admin/money: money per source on the dashboard, and ad spend in.

GET /admin/money?since=&until=&by=source|campaign|day: the money table of
`storage.reports.money.money` (what `leadbot report --money --format json` prints) for the
period, all flows, and under it the conversions sent to the ad platforms
(`storage.reports.conversions`, `leadbot report --conversions`) for the same days. Two
forms post back to it:

- POST /admin/money/spend: a spend CSV (multipart), read by the same rules as `leadbot
  spend import` (dialogs/rules/money.py) and written by the same store (storage/work/
  spend.py: a period re-imported replaces it);
- POST /admin/money/figure: a figure typed for a source (and a campaign) and a month: it
  replaces that month's spend of that pair.

Both are the dashboard's own: signed in (the session cookie or the bearer token) and from
the dashboard's own page (the Origin check of bot/web/security.py, against cross-site form
posts); the cookie is SameSite=Strict too. A bad file or figure: the page again with the
problems, status 400 (413 for a file over the size), nothing stored. A good one: 303 back to
the page, which says what was stored, with the period and rows chosen (the forms' actions
carry them).

May import: aiohttp, bot.web, storage, dialogs.rules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web
from babel.numbers import format_decimal

from bot.web import filters as formats
from bot.web import i18n
from bot.web.money_words import said
from bot.web.security import same_origin
from dialogs.rules.conversions import NAMES
from dialogs.rules.money import (
    MAX_BYTES,
    SOURCE,
    MoneyError,
    SpendRow,
    amount,
    plausible,
    read_spend,
    span,
)
from storage.reports.conversions import ConversionsQuery, conversions
from storage.reports.money import BY, MoneyQuery, money
from storage.work.spend import SpendConflict, replace_spend

if TYPE_CHECKING:
    from bot.web.admin import Admin

PAGE = "/admin/money"
KEPT = ("since", "until", "by", "lang")  # the page's choices a form's answer keeps


def kept(request: web.Request, **more: str) -> str:
    """`?since=..&until=..&by=..` of the page a form was posted from (its action carries
    them), and `more`: the page after a save shows the period and rows chosen."""
    query = {k: request.query[k] for k in KEPT if request.query.get(k)} | more
    return "?" + urlencode(query) if query else ""


def amount_text(hundredths: int | None, lang: str, currency: str = "") -> str:
    """12345678 -> "123,456.78" (en), "123 456,78" (ru, uk), with the currency after."""
    if hundredths is None:
        return "—"
    text = format_decimal(Decimal(hundredths) / 100, format="#,##0.00", locale=lang)
    return f"{text} {currency}" if currency else text


class MoneyPage:
    def __init__(self, admin: Admin, currency: str) -> None:
        self.admin, self.currency = admin, currency

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PAGE, self.admin.signed_in(self.page))
        app.router.add_post(f"{PAGE}/spend", self.admin.signed_in(self.upload))
        app.router.add_post(f"{PAGE}/figure", self.admin.signed_in(self.figure))

    async def page(self, request: web.Request, status: int = 200,
                   problems: list[str] | None = None, heading: str | None = None
                   ) -> web.Response:
        from bot.web.admin import flow_items, render

        lang = i18n.language(request)
        asked = formats.read(request.query, "", self.admin.timezone)
        by = request.query.get("by") or "source"
        if by not in BY:
            asked.problems.append("bad_choice")
            by = "source"
        result = sent = None
        if not asked.problems:
            async with self.admin.sessions() as session:
                result = await money(session, MoneyQuery(
                    since=asked.since, until=asked.until, timezone=self.admin.timezone,
                    by=by, currency=self.currency))
                sent = await conversions(session, ConversionsQuery(
                    since=asked.since, until=asked.until, timezone=self.admin.timezone))
        saved = request.query.get("saved")
        return render(
            request, "money.html", status=400 if asked.problems and status == 200 else status,
            flows=flow_items(self.admin.flows, lang), filters=asked, by=by, result=result,
            currency=self.currency, problems=[said(p, lang) for p in problems or []],
            conversions=sent, platforms=NAMES,
            heading=heading,
            saved=saved if saved and saved.isdigit() else None, keep=kept(request),
            money=lambda value: amount_text(value, lang))

    async def _form(self, request: web.Request) -> Any:
        if not same_origin(request):
            raise web.HTTPForbidden(text="a form from another site's page")
        return await request.post()

    async def upload(self, request: web.Request) -> web.Response:
        t = i18n.words(i18n.language(request))
        try:
            form = await self._form(request)
        except web.HTTPRequestEntityTooLarge:
            return await self.page(request, 413, [t["spend_too_big"]], t["spend_refused"])
        field = form.get("file")
        data = field.file.read(MAX_BYTES + 1) if isinstance(field, web.FileField) else b""
        if not data:
            return await self.page(request, 400, [t["spend_no_file"]], t["spend_refused"])
        rows, problems = read_spend(data, self.currency)
        if problems:
            return await self.page(request, 400, problems, t["spend_refused"])
        name = field.filename if isinstance(field, web.FileField) else "upload"
        return await self._store(request, rows, f"dashboard {name}"[:64])

    async def figure(self, request: web.Request) -> web.Response:
        t = i18n.words(i18n.language(request))
        form = await self._form(request)
        problems = []
        source = str(form.get("source") or "").strip()
        campaign = str(form.get("campaign") or "").strip() or None
        if not SOURCE.match(source):
            problems.append(t["bad_spend_source"])
        if campaign is not None and (len(campaign) > 64 or not campaign.isprintable()):
            problems.append(t["bad_spend_campaign"])
        try:
            month = str(form.get("month") or "")
            first, last = span(month)
            if first == last:
                raise MoneyError("not_day", text=first.isoformat())  # a month, not a day
            plausible(month, first, last, date.today())  # 1926 for 2026: a typo
        except MoneyError:
            problems.append(t["bad_spend_month"])
        try:
            hundredths = amount(str(form.get("amount") or ""))
        except MoneyError:
            problems.append(t["bad_spend_amount"])
        if problems:
            return await self.page(request, 400, problems, t["spend_refused"])
        row = SpendRow(0, first, last, source, campaign, hundredths, self.currency)
        return await self._store(request, [row], "dashboard")

    async def _store(self, request: web.Request, rows: list[SpendRow], origin: str
                     ) -> web.Response:
        t = i18n.words(i18n.language(request))
        try:
            async with self.admin.sessions() as session, session.begin():
                await replace_spend(session, rows, origin)
        except SpendConflict as error:
            return await self.page(request, 400, error.lines, t["spend_refused"])
        raise web.HTTPSeeOther(PAGE + kept(request, saved=str(len(rows))))
