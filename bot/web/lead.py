"""/admin/lead/<id>: one lead's page on the dashboard (the id the flow page's leads table
links to: the lead's own).

What the page shows, from `storage.reports.lead.lead_story`:

- the answers as the prospect got them: each question in the language they chose (the
  flow's own language when the flow has no text in it), the options they picked in that
  language (all of them, for a multiple choice), numbers with their unit, a calculator's
  result; answers in the prospect's own words only to a viewer who sees contacts;
- the score breakdown as stored with the lead when it was scored (before that, recomputed
  by dialogs/rules/scoring.py from the answers so far), temperature, MQL / SQL, target;
- the timeline, in the operator's time zone (bot/web/lead_view.py words it);
- contacts only to a viewer who sees them (bot/web/viewer.py), after "Show contacts"
  (`?contacts=1`), each showing recorded with who looked before the page is sent.

An erased lead shows as erased, nothing personal; an unknown id, a 404 page in the
viewer's language.

May import: aiohttp, bot.web, storage, dialogs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.web import i18n
from bot.web.lead_view import answer_rows, score_rows, timeline_rows
from bot.web.money import amount_text
from bot.web.viewer import viewer
from storage.db.engine import READ_ONLY
from storage.reports.lead import lead_story, record_view
from storage.work.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.web.admin import Admin

PAGE = "/admin/lead/{id}"


class LeadPage:
    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PAGE, self.admin.signed_in(self.page))

    async def page(self, request: web.Request) -> web.Response:
        from bot.web.admin import flow_items, render

        lang = i18n.language(request)
        t = i18n.words(lang)
        who = viewer(request)
        flows = flow_items(self.admin.flows, lang)
        text = request.match_info["id"]
        lead_id = int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None
        asked = request.query.get("contacts") == "1" and who.sees_contacts
        async with UnitOfWork(self.admin.sessions) as uow:
            if not asked:  # nothing to record: on SQLite, no write lock
                await uow.session.connection(execution_options={READ_ONLY: True})
            story = await lead_story(uow.session, lead_id) if lead_id is not None else None
            if story is None:
                return render(request, "lead.html", status=404, flows=flows, story=None,
                              title=t["lead_not_found"])
            lead = story.lead
            runnable = await self.admin.flows.pinned(uow, lead.flow_id, lead.flow_version)
            shown = asked and not story.erased
            if shown:  # recorded, with who looked, before the contacts leave the server
                record_view(uow, lead, who.name, datetime.now(UTC), self.admin.timezone)
                await uow.commit()
        flow = runnable.flow if runnable is not None else None
        language = story.language if story.language in i18n.LANGUAGES else (
            flow.language if flow is not None else lang)
        back = next((item for item in flows if item.id == lead.flow_id), None)
        answers = answer_rows(story, flow, language, who.sees_contacts)
        contacts: dict[str, Any] | None = None
        if shown:
            contacts = {f: getattr(lead, f) for f in ("name", "phone", "email")}
        return render(
            request, "lead.html", flows=flows, story=story, lead=lead, back=back,
            title=t["lead_title"].format(id=lead.id), flow_title=_title(flow, lang, lead),
            language=language,
            answers=answers, score=score_rows(story, flow, language, answers),
            timeline=timeline_rows(story, lang, self.admin.timezone, self.admin.currency),
            sees_contacts=who.sees_contacts, contacts=contacts,
            created=lead.created_at.astimezone(ZoneInfo(self.admin.timezone)).strftime(
                "%Y-%m-%d %H:%M"),
            money=lambda value, currency: amount_text(value, lang,
                                                      currency or self.admin.currency))


def _title(flow: Any, lang: str, lead: Any) -> str:
    if flow is None:
        return lead.flow_id
    return flow.title.get(lang) or flow.title.get(flow.language) or lead.flow_id
