"""The sign-in pages of /admin: a person's name and password (bot/web/accounts.py), the
admin token's form (when LEADBOT_ADMIN_TOKEN is set), the one-time link's page where a
person chooses their password, and the sign-out. Every POST comes from our own pages
(`same_origin`); every failure waits in the one Slowdown (bot/web/security.py).

Routes: GET+POST /admin/login, POST /admin/logout, GET+POST /admin/welcome/<token>.
A link's GET only shows the form (a messenger's link preview must not spend it).

May import: aiohttp, bot.web.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.accounts import password_problem
from bot.web.admin import render
from bot.web.security import SESSION_COOKIE, same_origin

WELCOME = "/admin/welcome/"


async def login_form(request: web.Request, admin: Any, status: int = 200,
                     wrong: str | None = None, name: str = "") -> web.Response:
    """The sign-in page: the name and password form when people were added, the token's
    when a token is set; `wrong`: "person" or "token", the form that failed."""
    return render(request, "login.html", status=status, wrong=wrong, name=name,
                  with_people=await admin.accounts.anyone(),
                  with_token=admin.guard.token is not None)


class SignIn:
    def __init__(self, admin: Any) -> None:
        """`admin`: bot/web/admin.py's Admin (its guard, accounts, `open()`)."""
        self.admin = admin
        self.guard, self.accounts = admin.guard, admin.accounts

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/admin/login", self.login_page)
        app.router.add_post("/admin/login", self.login)
        app.router.add_post("/admin/logout", self.logout)
        app.router.add_get(WELCOME + "{token}", self.welcome_page)
        app.router.add_post(WELCOME + "{token}", self.welcome)

    async def login_page(self, request: web.Request) -> web.Response:
        if not await self.admin.open():
            raise web.HTTPNotFound()
        if await self.accounts.who(request.cookies.get(SESSION_COOKIE)) is not None:
            raise web.HTTPSeeOther("/admin")
        return await login_form(request, self.admin)

    async def login(self, request: web.Request) -> web.Response:
        if not await self.admin.open():
            raise web.HTTPNotFound()
        if not same_origin(request):
            raise web.HTTPForbidden(text="a sign-in from another site's page")
        form = await request.post()
        token, name, password = (form.get("token"), form.get("name"), form.get("password"))
        cookie: str | None = None
        if isinstance(token, str):
            if await self.guard.sign_in(request, token):
                cookie = await self.accounts.open_for_token_holder()
            else:
                return await login_form(request, self.admin, 401, "token")
        elif isinstance(name, str) and isinstance(password, str):
            cookie = await self.accounts.sign_in(name, password)
            if cookie is None:
                await self.guard.slowdown.fail(request)
                return await login_form(request, self.admin, 401, "person", name.strip()[:64])
        else:
            return await login_form(request, self.admin, 400)
        return self.signed(request, cookie)

    def signed(self, request: web.Request, cookie: str) -> web.Response:
        response = web.HTTPSeeOther("/admin")
        self.guard.set_cookie(request, response, cookie)
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        if not same_origin(request):
            raise web.HTTPForbidden(text="a sign-out from another site's page")
        await self.accounts.sign_out(request.cookies.get(SESSION_COOKIE))
        response = web.HTTPSeeOther("/admin/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    async def welcome_page(self, request: web.Request) -> web.Response:
        person = await self.accounts.link_person(request.match_info["token"])
        if person is None:
            await self.guard.slowdown.fail(request)
            return render(request, "welcome.html", status=404, person=None, problem=None)
        return render(request, "welcome.html", person=person, problem=None)

    async def welcome(self, request: web.Request) -> web.Response:
        if not same_origin(request):
            raise web.HTTPForbidden(text="a password from another site's page")
        token = request.match_info["token"]
        person = await self.accounts.link_person(token)
        if person is None:
            await self.guard.slowdown.fail(request)
            return render(request, "welcome.html", status=404, person=None, problem=None)
        form = await request.post()
        password, again = form.get("password"), form.get("again")
        if not isinstance(password, str) or not isinstance(again, str):
            return render(request, "welcome.html", status=400, person=person,
                          problem="password_short")
        problem = password_problem(password, again)
        if problem is not None:
            return render(request, "welcome.html", status=400, person=person, problem=problem)
        cookie = await self.accounts.set_password(token, password)
        if cookie is None:  # spent meanwhile (another tab, another process)
            return render(request, "welcome.html", status=404, person=None, problem=None)
        return self.signed(request, cookie)
