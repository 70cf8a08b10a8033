"""/admin/people: who may sign in, for an owner (bot/web/viewer.py `manages_people`): the
list, adding a person (their one-time sign-in link is shown once, on the answer to the
add), a new link for someone (a forgotten password: their old link dies), removing someone
(their sessions end at once). Marketers and sales get a polite 403. The same storage
functions as `leadbot admin` (storage/work/people.py).

Routes: GET /admin/people, POST /admin/people/add|link|remove (from our own pages only:
`same_origin`, as every form of /admin).

May import: aiohttp, bot.web, storage (through the app's sessions).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.web.admin import flow_items, render
from bot.web.i18n import language
from bot.web.security import behind_https, same_origin
from bot.web.signin import WELCOME
from bot.web.viewer import ROLES, viewer
from storage.work import people
from storage.work.people import PeopleError

PAGE = "/admin/people"


def link_url(request: web.Request, token: str) -> str:
    """The one-time link as the owner reached this page (the same host for the person)."""
    scheme = "https" if behind_https(request) else request.scheme
    return f"{scheme}://{request.host}{WELCOME}{token}"


class PeoplePage:
    def __init__(self, admin: Any) -> None:
        self.admin = admin

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PAGE, self.admin.signed_in(self.page))
        app.router.add_post(f"{PAGE}/add", self.admin.signed_in(self.add))
        app.router.add_post(f"{PAGE}/link", self.admin.signed_in(self.link))
        app.router.add_post(f"{PAGE}/remove", self.admin.signed_in(self.remove))

    async def show(self, request: web.Request, status: int = 200, **context: Any
                   ) -> web.Response:
        if not viewer(request).manages_people:
            return render(request, "people.html", status=403, here="people", forbidden=True,
                          flows=flow_items(self.admin.flows, language(request)), everyone=[],
                          roles=ROLES, **context)
        async with self.admin.sessions() as session:
            everyone = await people.people(session)
        context.setdefault("problem", None)
        context.setdefault("fresh", None)
        context.setdefault("done", None)
        return render(request, "people.html", status=status, here="people", forbidden=False,
                      flows=flow_items(self.admin.flows, language(request)),
                      everyone=everyone, roles=ROLES, **context)

    async def page(self, request: web.Request) -> web.Response:
        return await self.show(request)

    async def allowed_form(self, request: web.Request) -> Any:
        """The posted form of an owner from our own pages (None: a 403 to send)."""
        if not same_origin(request):
            raise web.HTTPForbidden(text="a form from another site's page")
        if not viewer(request).manages_people:
            return None
        return await request.post()

    async def add(self, request: web.Request) -> web.Response:
        form = await self.allowed_form(request)
        if form is None:
            return await self.show(request)
        name, role = str(form.get("name", "")), str(form.get("role", ""))
        try:
            async with self.admin.sessions() as session, session.begin():
                now = datetime.now(UTC)
                person = await people.add(session, name, role, now)
                token = await people.new_link(session, person, now)
        except PeopleError as error:
            exists = "there already" in str(error)
            return await self.show(request, 400, problem="people_exists" if exists
                                   else "people_bad", name=name.strip()[:64])
        return await self.show(request, fresh={"name": person.name,
                                               "url": link_url(request, token)})

    async def link(self, request: web.Request) -> web.Response:
        form = await self.allowed_form(request)
        if form is None:
            return await self.show(request)
        async with self.admin.sessions() as session, session.begin():
            found = await people.find(session, str(form.get("name", "")))
            if found is None:
                return await self.show(request, 404, problem="people_unknown")
            token = await people.new_link(session, found[0], datetime.now(UTC))
        return await self.show(request, fresh={"name": found[0].name,
                                               "url": link_url(request, token)})

    async def remove(self, request: web.Request) -> web.Response:
        form = await self.allowed_form(request)
        if form is None:
            return await self.show(request)
        name = str(form.get("name", ""))
        if name.strip().casefold() == viewer(request).name.casefold():
            return await self.show(request, 400, problem="people_not_yourself")
        async with self.admin.sessions() as session, session.begin():
            gone = await people.remove(session, name, datetime.now(UTC))
        if gone is None:
            return await self.show(request, 404, problem="people_unknown")
        return await self.show(request, done=gone.name)
