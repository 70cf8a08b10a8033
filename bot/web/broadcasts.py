"""/admin/broadcasts: the broadcasts on the dashboard (docs/broadcasts.md), by the same
functions as `leadbot broadcast` (bot/cli/broadcast_preview.py: check, store, send, change,
preview; storage/reports/broadcasts.py results; storage/reports/segment.py segment).

- GET /admin/broadcasts: every broadcast with its status and what came of it, each linking
  to its page; for sales and owners, the form a broadcast file is pasted into.
- POST /admin/broadcasts: the pasted file checked as `leadbot broadcast create` checks it
  (the flows the bot runs, the unsubscribe footers; a photo or document only as an https
  URL: no folder here), every problem shown beside the form with the text kept; a good one
  is saved as a draft (`created_by` the viewer's name) and its page shown.
- GET /admin/broadcasts/<name>: its results in full, its segment in words (a draft or a
  scheduled one: who it would reach now, and who is left out per reason), its message per
  language as the file wrote it, and for sales and owners the actions its status allows.
- POST /admin/broadcasts/<name>/send|pause|resume|cancel|preview: answered with a redirect
  to its page and a notice (`?done=`), or, when its status no longer allows it (another
  tab, the CLI, the job moved it), what it is now (`?refused=`); a bad time or chat id is
  shown beside its field (400).

A marketer sees the list and the results, no form, and gets 403 on every POST. Every POST
comes from our own pages (`same_origin`, as every form of /admin; the cookie is
SameSite=Strict). Nothing personal is on these pages: counts, the file's text, names of
people who sign in to the dashboard.

May import: aiohttp, bot.web, bot.cli.broadcast_preview (the commands' functions),
bot.jobs.broadcasts (its config), storage, dialogs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot.cli.arguments import BadArgument
from bot.cli.broadcast import when
from bot.cli.broadcast_preview import NoChat, change, check, preview, send, store
from bot.jobs.broadcasts import BroadcastConfig
from bot.web import broadcast_view as view
from bot.web import filters as formats
from bot.web import i18n
from bot.web.security import same_origin
from bot.web.viewer import viewer
from dialogs.broadcasts.schema import NAME_PATTERN
from dialogs.format.problems import FlowError
from storage.db.engine import READ_ONLY
from storage.reports.broadcasts import results
from storage.reports.segment import SegmentError, segment
from storage.work.broadcasts import BroadcastError, Broadcasts

if TYPE_CHECKING:
    from bot.web.admin import Admin

PAGE = "/admin/broadcasts"
MAX_FILE = 100_000  # characters of a pasted file (the shipped example is 2,000)
SOURCE_NAME = "broadcast.yaml"  # what a pasted file's problems name
DONE = {"created", "scheduled", "sending", "paused", "resumed", "cancelled", "previewed"}
CHANGED = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}
CHAT = re.compile(r"-?[0-9]{1,15}")


class BroadcastsPage:
    def __init__(self, admin: Admin, config: BroadcastConfig | None = None) -> None:
        """`config`: the broadcasts job's (LEADBOT_BROADCAST_RATE, ...): a broadcast sent
        from here starts as the job and the CLI start it."""
        self.admin = admin
        self.config = config or BroadcastConfig(report_timezone=admin.timezone)

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PAGE, self.admin.signed_in(self.list_page))
        app.router.add_post(PAGE, self.admin.signed_in(self.create))
        app.router.add_get(PAGE + "/{name}", self.admin.signed_in(self.one_page))
        app.router.add_post(PAGE + "/{name}/{action}", self.admin.signed_in(self.act))

    def render(self, request: web.Request, template: str, status: int = 200,
               **context: Any) -> web.Response:
        from bot.web.admin import flow_items, render

        lang = i18n.language(request)
        return render(request, template, status=status, here="broadcasts",
                      flows=flow_items(self.admin.flows, lang),
                      sends=viewer(request).sends_broadcasts,
                      when=lambda text: formats.local_time(text, self.admin.timezone),
                      zone=self.admin.timezone, **context)

    async def list_page(self, request: web.Request, status: int = 200,
                        problems: list[Any] | None = None, text: str = "") -> web.Response:
        async with self.admin.sessions() as session:
            await session.connection(execution_options={READ_ONLY: True})
            every = [await results(session, b.id) for b in await Broadcasts(session).list()]
        return self.render(request, "broadcasts.html", status=status, every=every,
                           taps=view.taps, problems=problems or [], text=text)

    async def _form(self, request: web.Request) -> Any:
        """The posted form of sales or an owner from our own pages (None: a marketer)."""
        if not same_origin(request):
            raise web.HTTPForbidden(text="a form from another site's page")
        if not viewer(request).sends_broadcasts:
            return None
        return await request.post()

    def forbidden(self, request: web.Request) -> web.Response:
        return self.render(request, "broadcast.html", status=403, forbidden=True, found=None)

    async def create(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        if form is None:
            return self.forbidden(request)
        t = i18n.words(i18n.language(request))
        field = form.get("file")
        text = field.replace("\r\n", "\n") if isinstance(field, str) else ""
        if not text.strip():
            return await self.list_page(request, 400, [t["bc_empty"]], text)
        if len(text) > MAX_FILE:
            return await self.list_page(request, 400, [t["bc_too_long"].format(
                most=formats.number(MAX_FILE, i18n.language(request)))], text[:MAX_FILE])
        try:
            broadcast = check(text, SOURCE_NAME, None, self.admin.flows)
            async with self.admin.sessions() as session, session.begin():
                existing = await Broadcasts(session).get_by_name(broadcast.name)
                if existing is not None and existing.status != "draft":
                    return await self.list_page(request, 400, [t["bc_name_taken"].format(
                        name=broadcast.name, status=t[f"bc_st_{existing.status}"])], text)
                made, _ = await store(session, broadcast, text, viewer(request).name,
                                      self.admin.timezone, datetime.now(UTC))
        except FlowError as error:  # every problem of the file, each with its line
            return await self.list_page(request, 400, list(error.problems), text)
        except (BroadcastError, SegmentError) as error:
            return await self.list_page(request, 400, [str(error)], text)
        except IntegrityError:  # the same name made meanwhile, in another tab or process
            return await self.list_page(request, 400, [t["bc_name_raced"].format(
                name=broadcast.name)], text)
        raise web.HTTPSeeOther(f"{PAGE}/{made.name}?done=created")

    async def one_page(self, request: web.Request, status: int = 200,
                       problem: str | None = None, kept: dict[str, str] | None = None
                       ) -> web.Response:
        name = request.match_info["name"]
        async with self.admin.sessions() as session:
            await session.connection(execution_options={READ_ONLY: True})
            found = (await Broadcasts(session).get_by_name(name)
                     if re.match(NAME_PATTERN, name) else None)
            if found is None:
                return self.render(request, "broadcast.html", status=404, found=None,
                                   forbidden=False)
            figures = await results(session, found.id)
            reach = None
            if found.status in ("draft", "scheduled"):  # who it would reach if sent now
                try:
                    reach = await segment(session, found.definition.get("segment"),
                                          self.admin.timezone, datetime.now(UTC))
                except SegmentError:  # checked when created; a time zone changed since
                    reach = None
        t = i18n.words(i18n.language(request))
        message = found.definition.get("message") or {}
        done = request.query.get("done")
        refused = request.query.get("refused")
        return self.render(
            request, "broadcast.html", status=status, found=found, forbidden=False,
            figures=figures, reach=reach, problem=problem, kept=kept or {},
            done=done if done in DONE else None,
            refused=t["bc_refused"].format(status=t[f"bc_st_{found.status}"],
                                           action=t[f"bc_act_{refused}"])
            if refused in view.ACTIONS else None,
            lines=view.segment_lines(found.definition.get("segment"), t),
            texts=view.message_texts(message), message=message,
            buttons=view.buttons(message, figures["tapped"], self.config.links is not None),
            actions=view.actions(
                found.status), file_time=found.send_at if found.status == "draft" and
            found.send_at and found.send_at > datetime.now(UTC) else None,
            languages_of=view.LANGUAGES, reasons=view.REASONS, figure_keys=view.FIGURES)

    async def act(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in view.ACTIONS:
            raise web.HTTPNotFound()
        form = await self._form(request)
        if form is None:
            return self.forbidden(request)
        name = request.match_info["name"]
        if not re.match(NAME_PATTERN, name):
            return await self.one_page(request)  # its 404
        now = datetime.now(UTC)
        try:
            if action == "send":
                at, problem = self._moment(form, now)
                if problem is not None:
                    return await self.one_page(request, 400, problem,
                                               {"at": str(form.get("at") or "")[:32]})
                async with self.admin.sessions() as session, session.begin():
                    _, count = await send(session, name, at, now, self.config)
                done = "scheduled" if count is None else "sending"
            elif action == "preview":
                chat = str(form.get("chat") or "").strip()
                if not CHAT.fullmatch(chat):
                    return await self.one_page(request, 400, "bc_chat_bad", {"chat": chat[:32]})
                lang = form.get("lang")
                try:
                    async with self.admin.sessions() as session, session.begin():
                        await preview(session, name, int(chat),
                                      lang if lang in view.LANGUAGES else None)
                except NoChat:
                    return await self.one_page(request, 400, "bc_chat_unknown",
                                               {"chat": chat[:32]})
                done = "previewed"
            else:
                async with self.admin.sessions() as session, session.begin():
                    await change(session, name, action, now)
                done = CHANGED[action]
        except BadArgument:  # no broadcast of that name
            return await self.one_page(request)
        except BroadcastError:  # its status does not allow it (any more)
            raise web.HTTPSeeOther(f"{PAGE}/{name}?refused={action}") from None
        raise web.HTTPSeeOther(f"{PAGE}/{name}?done={done}")

    def _moment(self, form: Any, now: datetime) -> tuple[datetime | None, str | None]:
        """(when to send: None now, the problem's word)."""
        if form.get("how") != "at":
            return None, None
        raw = str(form.get("at") or "").strip()
        if not raw:
            return None, "bc_time_missing"
        try:
            datetime.fromisoformat(raw)
        except ValueError:
            return None, "bc_time_bad"
        try:
            return when(raw, self.admin.timezone, now), None
        except BadArgument:  # has passed
            return None, "bc_time_past"
