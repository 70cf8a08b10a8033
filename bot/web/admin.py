"""/admin: the marketer's dashboard, read-only, for the people `leadbot admin add` made and
the holder of LEADBOT_ADMIN_TOKEN (bot/web/signin.py signs them in, bot/web/viewer.py says
what each may see). While no token is set and nobody was added, /admin answers 404.

Server-side HTML from Jinja2 templates (bot/web/templates, escaping on by default), one style
sheet from bot/web/static, no script and nothing from outside. The shell lists the flows the
app loaded; without a flow, the home page (bot/web/home.py: every flow, this period against
the one before); for the flow picked (`/admin?flow=<id>`), the filters (bot/web/filters.py:
period in the operator's time zone, source, version; the leads' temperature, outcome, page)
and one panel per entry of PANELS: a panel is `templates/panel_<key>.html` when it exists,
else the placeholder. A panel's data goes into the page's context as `panel_data[key]`
(bot/web/panels.py reads it). Bad filter values: the page says so politely, with a 400.

Routes: GET /admin, GET /admin/static/<file>; the sign-in's (bot/web/signin.py): GET+POST
/admin/login, POST /admin/logout, GET+POST /admin/welcome/<token>; the People page's
(bot/web/people.py): GET /admin/people, POST /admin/people/add|remove; the Money page's
(bot/web/money.py): GET /admin/money, POST /admin/money/spend|figure;
a lead's page (bot/web/lead.py): GET /admin/lead/<id>; the Broadcasts pages'
(bot/web/broadcasts.py): GET+POST /admin/broadcasts, GET /admin/broadcasts/<name>, POST
/admin/broadcasts/<name>/send|pause|resume|cancel|preview.

May import: aiohttp, jinja2, bot.web, storage (through the app's sessions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from bot.web import filters as formats
from bot.web import home, i18n
from bot.web.accounts import Accounts
from bot.web.lead import LeadPage
from bot.web.money import MoneyPage
from bot.web.panels import Shown, gather
from bot.web.security import SESSION_COOKIE, Guard, unauthorized
from bot.web.tables import Tables
from bot.web.viewer import TOKEN_HOLDER, VIEWER, viewer

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# the flow page's panels, in order; each key is a word in i18n.WORDS and a template name
PANELS = ("funnel", "trend", "answers", "sources", "variants", "temperature", "handoff_speed",
          "faq", "leads")

ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class FlowItem:
    id: str  # a flow id, or an A/B experiment's name
    version: int
    title: str
    variants: tuple[tuple[str, str], ...] = ()  # an experiment's (flow id, variant name)
    language: str = "en"  # the flow's own, for texts missing in the page's


def flow_items(flows: Any, lang: str) -> list[FlowItem]:
    """What the top bar lists: each plain flow and each A/B experiment once (named by its
    first variant's title, which the variants share), titled in `lang` when they can be."""
    items = []
    for name, runnable in flows.entries():
        flow = runnable.flow
        title = flow.title.get(lang) or flow.title.get(flow.language) or name
        variants = tuple(sorted((r.flow.id, variant) for variant, r in
                                flows.experiments.get(name, {}).items()))
        items.append(FlowItem(name, flow.version, title, variants, flow.language))
    return items


def find_flow(flows: Any, items: list[FlowItem], picked: str, lang: str) -> FlowItem | None:
    """The item of `?flow=`: a listed one, or one variant's own flow (its id)."""
    found = next((item for item in items if item.id == picked), None)
    runnable = flows.latest.get(picked)
    if found is None and runnable is not None:
        flow = runnable.flow
        variant = flow.experiment.variant if flow.experiment else None
        found = FlowItem(picked, flow.version, flow.title.get(lang) or flow.title.get(
            flow.language) or picked, ((picked, variant),) if variant else (), flow.language)
    return found


def shown(flows: Any, item: FlowItem) -> Shown:
    """The variants' names and the choice steps of the flows behind `item`."""
    ids = [flow_id for flow_id, _ in item.variants] or [item.id]
    single: set[str] = set()
    multiple: set[str] = set()
    for flow_id in ids:
        runnable = flows.latest.get(flow_id)
        for step_id, step in (runnable.flow.steps.items() if runnable else ()):
            kind = getattr(step, "kind", "")
            (single if kind == "single_choice" else multiple if kind == "multiple_choice"
             else set()).add(step_id)
    return Shown(dict(item.variants), frozenset(single), frozenset(multiple))


def render(request: web.Request, template: str, status: int = 200,
           **context: Any) -> web.Response:
    lang = i18n.language(request)
    context.setdefault("flow", None)
    context.setdefault("viewer", request.get(VIEWER))  # None: nobody signed in (the sign-in)
    kept = [(k, v) for k, v in request.query.items() if k != "lang"]
    html = ENVIRONMENT.get_template(template).render(
        lang=lang, t=i18n.words(lang), languages=i18n.LANGUAGES,
        switch=lambda code: "?" + urlencode([("lang", code), *kept]),
        n=lambda value: formats.number(value, lang),
        pct=lambda value: formats.percent(value, lang),
        dur=lambda value: formats.duration(value, lang),
        static=lambda name: f"/admin/static/{name}", **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    i18n.remember(request, response)
    return response


class Admin:
    def __init__(self, guard: Guard, flows: Any, sessions: Any, timezone: str,
                 currency: str = "RUB", accounts: Accounts | None = None,
                 broadcasts: Any = None) -> None:
        """`guard`: LEADBOT_ADMIN_TOKEN's checks (its token may be None); `flows`: the app's
        FlowRegistry; `sessions`: its async_sessionmaker; `timezone`: LEADBOT_TIMEZONE, the
        one the filters' dates are in (as `leadbot report`'s); `currency`:
        LEADBOT_CURRENCY, the Money page's (bot/web/money.py); `accounts`: the sign-ins
        (default: over `sessions`, with the guard's token); `broadcasts`: the broadcasts
        job's BroadcastConfig (bot/jobs/broadcasts.py; default: its defaults in `timezone`),
        which a broadcast sent from the dashboard starts with."""
        self.guard, self.flows, self.sessions = guard, flows, sessions
        self.broadcasts = broadcasts
        self.timezone, self.currency = timezone, currency
        token = guard.token.decode() if guard.token else None
        self.accounts = accounts or Accounts(sessions, token)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/admin", self.signed_in(self.dashboard))
        app.router.add_get("/admin/", self.signed_in(self.dashboard))
        app.router.add_static("/admin/static", STATIC, show_index=False, follow_symlinks=False)
        from bot.web.people import PeoplePage
        from bot.web.signin import SignIn

        SignIn(self).routes(app)
        PeoplePage(self).routes(app)
        MoneyPage(self, self.currency).routes(app)
        Tables(self).routes(app)
        LeadPage(self).routes(app)
        from bot.web.broadcasts import BroadcastsPage

        BroadcastsPage(self, self.broadcasts).routes(app)

    async def open(self) -> bool:
        """/admin is there: a token is set, or somebody was added (else 404, as before
        people could be added: nobody could sign in)."""
        return self.guard.token is not None or await self.accounts.anyone()

    def signed_in(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """A page for a signed-in person or the token holder (`request[VIEWER]` says who);
        anyone else gets 401 with the sign-in form (a person) or the plain line (a script
        that sent a wrong bearer token)."""
        async def checked(request: web.Request) -> web.StreamResponse:
            presented = self.guard.bearer(request)
            if presented is not None:
                if not await self.guard.allowed(request):
                    raise unauthorized()
                request[VIEWER] = TOKEN_HOLDER
                return await handler(request)
            found = await self.accounts.who(request.cookies.get(SESSION_COOKIE))
            if found is not None:
                request[VIEWER] = found
                return await handler(request)
            if not await self.open():
                raise web.HTTPNotFound()
            from bot.web.signin import login_form

            response = await login_form(request, self, status=401)
            response.headers["WWW-Authenticate"] = 'Bearer realm="leadbot"'
            return response
        return checked

    async def dashboard(self, request: web.Request) -> web.Response:
        lang = i18n.language(request)
        flows = flow_items(self.flows, lang)
        picked = request.query.get("flow")
        flow = None if picked is None else find_flow(self.flows, flows, picked, lang)
        if picked is not None and flow is None:
            return render(request, "not_found.html", status=404, flows=flows, picked=picked)
        if flow is None:
            return await self.home_page(request, flows)
        asked = formats.read(request.query, flow.id, self.timezone)
        looking = viewer(request)
        asked.contacts = asked.contacts and looking.sees_contacts  # a marketer: never
        if asked.problems:
            return render(request, "dashboard.html", status=400, flows=flows, flow=flow,
                          panels=PANELS, panel_data={}, filters=asked)
        data = await gather(self.sessions, asked, self.timezone, lang,
                            shown(self.flows, flow), who=looking.name)
        return render(request, "dashboard.html", flows=flows, flow=flow, panels=PANELS,
                      panel_data=data, filters=asked, sees_contacts=viewer(request).sees_contacts,
                      when=lambda text: formats.local_time(text, self.timezone))

    async def home_page(self, request: web.Request, flows: list[FlowItem]) -> web.Response:
        """The home page (bot/web/home.py): every flow, this period against the one before."""
        period, problems = home.read_period(request.query, self.timezone)
        context = {"flows": flows, "period": period, "problems": problems,
                   "raw": {k: request.query.get(k, "") for k in ("since", "until")},
                   "shortcuts": home.shortcuts(self.timezone)}
        if problems:
            return render(request, "home.html", status=400, **context)
        found = await home.gather(self.sessions, self.flows, i18n.language(request), period,
                                  self.timezone)
        return render(request, "home.html", **context, **found)
