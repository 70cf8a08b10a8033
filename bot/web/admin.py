"""/admin: the marketer's dashboard, read-only, mounted only when LEADBOT_ADMIN_TOKEN is set.

Server-side HTML from Jinja2 templates (bot/web/templates, escaping on by default), one style
sheet from bot/web/static, no script and nothing from outside. The shell lists the flows the
app loaded and, for the flow picked (`/admin?flow=<id>`), the filters (bot/web/filters.py:
period in the operator's time zone, source, version; the leads' temperature, outcome, page)
and one panel per entry of PANELS: a panel is `templates/panel_<key>.html` when it exists,
else the placeholder. A panel's data goes into the page's context as `panel_data[key]`
(bot/web/panels.py reads it). Bad filter values: the page says so politely, with a 400.

Routes: GET /admin, GET+POST /admin/login, POST /admin/logout, GET /admin/static/<file>;
the Money page's (bot/web/money.py): GET /admin/money, POST /admin/money/spend|figure;
a lead's page (bot/web/lead.py): GET /admin/lead/<id>.

May import: aiohttp, jinja2, bot.web, storage (through the app's sessions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.web import filters as formats
from bot.web import i18n
from bot.web.lead import LeadPage
from bot.web.money import MoneyPage
from bot.web.panels import gather
from bot.web.security import SESSION_COOKIE, Guard, same_origin, unauthorized

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# the flow page's panels, in order; each key is a word in i18n.WORDS and a template name
PANELS = ("funnel", "sources", "variants", "temperature", "handoff_speed", "leads")

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class FlowItem:
    id: str
    version: int
    title: str


def flow_items(flows: Any, lang: str) -> list[FlowItem]:
    """The flows the app loaded (FlowRegistry.latest), titled in `lang` when they can be."""
    items = []
    for flow_id, runnable in sorted(flows.latest.items()):
        flow = runnable.flow
        title = flow.title.get(lang) or flow.title.get(flow.language) or flow_id
        items.append(FlowItem(flow_id, flow.version, title))
    return items


def render(request: web.Request, template: str, status: int = 200,
           **context: Any) -> web.Response:
    lang = i18n.language(request)
    context.setdefault("flow", None)
    html = ENVIRONMENT.get_template(template).render(
        lang=lang, t=i18n.words(lang), languages=i18n.LANGUAGES,
        n=lambda value: formats.number(value, lang),
        pct=lambda value: formats.percent(value, lang),
        dur=lambda value: formats.duration(value, lang),
        static=lambda name: f"/admin/static/{name}", **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    i18n.remember(request, response)
    return response


class Admin:
    def __init__(self, guard: Guard, flows: Any, sessions: Any, timezone: str,
                 currency: str = "RUB") -> None:
        """`flows`: the app's FlowRegistry; `sessions`: its async_sessionmaker; `timezone`:
        LEADBOT_TIMEZONE, the one the filters' dates are in (as `leadbot report`'s);
        `currency`: LEADBOT_CURRENCY, the Money page's (bot/web/money.py)."""
        self.guard, self.flows, self.sessions = guard, flows, sessions
        self.timezone, self.currency = timezone, currency

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/admin", self.signed_in(self.dashboard))
        app.router.add_get("/admin/", self.signed_in(self.dashboard))
        app.router.add_get("/admin/login", self.login_page)
        app.router.add_post("/admin/login", self.login)
        app.router.add_post("/admin/logout", self.logout)
        app.router.add_static("/admin/static", STATIC, show_index=False, follow_symlinks=False)
        MoneyPage(self, self.currency).routes(app)
        LeadPage(self).routes(app)

    def signed_in(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """A page for the token holder; anyone else gets 401 with the sign-in form (a
        person) or the plain line (a script that sent a wrong bearer token)."""
        async def checked(request: web.Request) -> web.StreamResponse:
            if await self.guard.allowed(request):
                return await handler(request)
            if self.guard.bearer(request) is not None:
                raise unauthorized()
            response = render(request, "login.html", status=401, wrong=False)
            response.headers["WWW-Authenticate"] = 'Bearer realm="leadbot"'
            return response
        return checked

    async def dashboard(self, request: web.Request) -> web.Response:
        lang = i18n.language(request)
        flows = flow_items(self.flows, lang)
        picked = request.query.get("flow")
        flow = next((item for item in flows if item.id == picked), None)
        if picked is not None and flow is None:
            raise web.HTTPNotFound(text=f"no flow '{picked}'")
        if flow is None:
            return render(request, "dashboard.html", flows=flows, flow=None, panels=PANELS,
                          panel_data={}, filters=None)
        asked = formats.read(request.query, flow.id, self.timezone)
        if asked.problems:
            return render(request, "dashboard.html", status=400, flows=flows, flow=flow,
                          panels=PANELS, panel_data={}, filters=asked)
        data = await gather(self.sessions, asked, self.timezone)
        return render(request, "dashboard.html", flows=flows, flow=flow, panels=PANELS,
                      panel_data=data, filters=asked,
                      when=lambda text: formats.local_time(text, self.timezone))

    async def login_page(self, request: web.Request) -> web.Response:
        if self.guard.session_valid(request.cookies.get(SESSION_COOKIE)):
            raise web.HTTPSeeOther("/admin")
        return render(request, "login.html", wrong=False)

    async def login(self, request: web.Request) -> web.Response:
        if not same_origin(request):
            raise web.HTTPForbidden(text="a sign-in from another site's page")
        form = await request.post()
        presented = form.get("token")
        if isinstance(presented, str) and await self.guard.sign_in(request, presented):
            response = web.HTTPSeeOther("/admin")
            self.guard.set_cookie(request, response)
            raise response
        return render(request, "login.html", status=401, wrong=True)

    async def logout(self, request: web.Request) -> web.Response:
        if not same_origin(request):
            raise web.HTTPForbidden(text="a sign-out from another site's page")
        self.guard.sign_out(request.cookies.get(SESSION_COOKIE))
        response = web.HTTPSeeOther("/admin/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response
