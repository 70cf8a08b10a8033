"""A lead's page's rows, worded (bot/web/lead.py): the answers as the prospect got them, the
score breakdown, the timeline in the operator's time zone. Plain dicts for templates/lead.html.

The flow version the lead ran is the one read (its snapshot: a newer file may have renamed
the options); without it, the labels stored with the answers (the flow's own language).

May import: bot.web, storage.reports, dialogs.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.web import filters as formats
from bot.web import i18n
from bot.web.money import amount_text
from dialogs.engine.texts import engine_text, fill, pick
from dialogs.format.schema import (
    CalculatorStep,
    ChoiceStep,
    ConsentStep,
    Flow,
    FreeTextStep,
    NumberStep,
)
from dialogs.rules.conversions import NAMES
from dialogs.rules.scoring import facts_of
from dialogs.rules.validators import format_number
from storage.privacy.shown import ERASED
from storage.reports.lead import LeadStory, Moment
from storage.schema.tables import Answer

TARGETS = {"webhook": "Webhook", "bitrix24": "Bitrix24", "amocrm": "amoCRM", **NAMES}


def _value(answer: Answer) -> Any:
    return tuple(answer.value) if isinstance(answer.value, list) else answer.value


def _question(flow: Flow, step_id: str) -> tuple[Any, dict[str, str] | None]:
    """(the step, or a follow-up's message for "~id"; its text)."""
    step = flow.steps.get(step_id)
    if step is None and step_id.startswith("~"):
        message = flow.nurture_message(step_id[1:])
        return message, message.text if message else None
    return step, getattr(step, "text", None)


def _shown(flow: Flow, step: Any, text: dict[str, str], language: str,
           values: dict[str, str]) -> str:
    """A question's text as the prospect read it; of a consent, its first paragraph (the
    question: the legal text under it is the same for everyone)."""
    said = pick(text, language, flow.language)
    if isinstance(step, ConsentStep):
        said = said.split("\n\n")[0]
    operator = flow.operator
    company = operator.company
    values = {"company": pick(company, language, flow.language) if isinstance(company, dict)
              else str(company or ""), "company_contact": operator.contact or "",
              "retention_days": operator.retention_days, **values}
    return fill(said, values)


def _labels(flow: Flow, step: Any, value: Any, language: str) -> list[str] | None:
    """The chosen options' texts in `language`; None: not a choice this flow knows."""
    options = getattr(step, "options", None) or getattr(step, "question", None)
    if isinstance(step, ConsentStep) and value in ("accepted", "declined"):
        return [pick(step.accept if value == "accepted" else step.decline, language,
                     flow.language)]
    if not options:
        return None
    by_id = {o.id: o for o in options}
    chosen = (value,) if isinstance(value, str) else value or ()
    if not all(v in by_id for v in chosen):
        return None
    return [pick(by_id[v].text, language, flow.language) for v in chosen]


def answer_rows(story: LeadStory, flow: Flow | None, language: str,
                sees_words: bool) -> list[dict[str, Any]]:
    """Per step asked, in the order first asked: question, answer (a list of labels),
    points, and whether the answer is hidden (the person's own words) or erased."""
    last = story.last_answers()
    if flow is None:  # no snapshot: the stored labels, in the flow's own language
        return [_row(step_id, step_id, [a.label], a.points, free=a.label == ERASED)
                for step_id, a in last.items()]
    results = (story.conversation.state or {}).get("results") or {}
    order = [s for s in story.steps if s in last or isinstance(flow.steps.get(s),
                                                               CalculatorStep)]
    order += [s for s in last if s not in order]
    before: dict[str, Any] = {}  # the answers given before each question: its discount
    rows = []
    for step_id in order:
        step, text = _question(flow, step_id)
        values = {"discount": format_number(facts_of(flow, before).discount, language),
                  **{k: format_number(v, language) for k, v in results.items()
                     if isinstance(v, int | float)}}
        question = _shown(flow, step, text, language, values) if text else step_id
        answer = last.get(step_id)
        if answer is None:  # a calculator: its result
            result = results.get(getattr(step, "save_as", ""))
            if result is not None:
                rows.append(_row(step_id, question, [format_number(result, language)], None,
                                 result=True))
            continue
        value = _value(answer)
        before[step_id] = value
        if isinstance(step, FreeTextStep) and (value is not None or answer.label == ERASED):
            erased = answer.label == ERASED or story.erased
            shown = [] if erased or not sees_words else [str(value)]
            rows.append(_row(step_id, question, shown, answer.points, free=True,
                             erased=erased, hidden=not erased and not sees_words))
            continue
        rows.append(_row(step_id, question, _said(flow, step, value, answer, language),
                         answer.points))
    return rows


def _said(flow: Flow, step: Any, value: Any, answer: Answer, language: str) -> list[str]:
    if value is None:
        return [engine_text("skipped", language)]
    labels = _labels(flow, step, value, language)
    if labels is not None:
        return labels
    if isinstance(step, NumberStep) and isinstance(value, int | float):
        number = format_number(value, language)
        return [f"{number} {pick(step.unit, language, flow.language)}" if step.unit
                else number]
    return [answer.label]


def _row(step: str, question: str, answer: list[str], points: int | None, *,
         free: bool = False, erased: bool = False, hidden: bool = False,
         result: bool = False) -> dict[str, Any]:
    return {"step": step, "question": question, "answer": answer, "points": points,
            "free": free, "erased": erased, "hidden": hidden, "result": result}


def score_rows(story: LeadStory, flow: Flow | None, language: str,
               asked: list[dict[str, Any]]) -> dict[str, Any]:
    """The breakdown stored when the lead was scored: which answers gave which points;
    before the lead is scored, the answers' points so far (dialogs/rules/scoring.py).
    `asked`: answer_rows', whose questions read as the prospect read them."""
    questions = {row["step"]: row["question"] for row in asked}
    lead, scored = story.lead, story.lead.qualified_at is not None
    items = list(lead.breakdown or [])
    if not scored and flow is not None:
        facts = facts_of(flow, {s: _value(a) for s, a in story.last_answers().items()})
        items = [{"step": i.step, "answer": i.answer, "points": i.points}
                 for i in facts.breakdown]
    rows = []
    for item in items:
        step_id, said = item.get("step", ""), str(item.get("answer", ""))
        question, labels = step_id, [said]
        if flow is not None:
            step, text = _question(flow, step_id)
            question = questions.get(step_id) or (
                pick(text, language, flow.language) if text else step_id)
            chosen: Any = tuple(said.split(",")) if isinstance(step, ChoiceStep) and (
                getattr(step, "kind", "") == "multiple_choice") else said
            labels = _labels(flow, step, chosen, language) or labels
            if isinstance(step, NumberStep) and step.unit:
                labels = [f"{said} {pick(step.unit, language, flow.language)}"]
        rows.append({"step": step_id, "question": question, "answer": labels,
                     "points": item.get("points", 0)})
    total = lead.score if scored else sum(r["points"] for r in rows)
    return {"rows": rows, "total": total, "scored": scored}


def timeline_rows(story: LeadStory, lang: str, timezone: str, currency: str
                  ) -> list[dict[str, str]]:
    """Each moment as (local time, what happened), in the viewer's language."""
    t = i18n.words(lang)
    zone = ZoneInfo(timezone)
    return [{"at": m.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "what": m.what,
             "text": _said_moment(m, t, lang, currency)} for m in story.timeline]


def _word(t: dict[str, str], prefix: str, key: Any) -> str:
    return t.get(f"{prefix}{key}", str(key))


def _said_moment(m: Moment, t: dict[str, str], lang: str, currency: str) -> str:
    d = m.data
    if m.what == "started":
        return t["lead_started"] + (", " + t["lead_from"].format(source=d["source"])
                                    if d.get("source") else "")
    if m.what == "consent":
        purpose = d.get("purpose") if d.get("purpose") in ("processing", "marketing") else (
            "processing")
        kind = "consent" if d.get("granted") else (
            "withdrawn" if d.get("withdrawn") else "declined")
        return t[f"lead_{kind}_{purpose}"]
    if m.what == "contact":
        fields = [t[f].lower() for f in d.get("fields") or () if f in ("name", "phone", "email")]
        return t["lead_contact"] + (f" ({', '.join(fields)})" if fields else "")
    if m.what == "qualified":
        return t["lead_qualified"].format(score=formats.number(d.get("score"), lang),
                                          temperature=t.get(str(d.get("temperature")), "—"))
    if m.what in ("claimed", "assigned"):
        return t[f"lead_{m.what}"].format(manager=d.get("manager", ""),
                                          time=formats.duration(d.get("seconds"), lang))
    if m.what == "first_contact":
        return t["lead_first_contact"].format(time=formats.duration(d.get("seconds"), lang))
    if m.what == "card":
        return t["lead_card" if d.get("sent") else "lead_card_waiting"]
    if m.what == "status":
        status = _word(t, "lead_st_", d.get("status"))
        if d.get("reason"):
            status += f" ({_word(t, 'lead_reason_', d['reason'])})"
        return t["lead_status_set"].format(status=status)
    if m.what == "sale":
        return t["lead_sale"].format(amount=amount_text(
            d.get("amount"), lang, str(d.get("currency") or currency)))
    if m.what in ("sla_reminder", "sla_escalated"):
        return t[f"lead_{m.what}"].format(minutes=formats.number(d.get("minutes"), lang))
    if m.what == "follow_up":
        return t["lead_reminder" if d.get("kind") == "reminder" else "lead_follow_up"]
    if m.what == "delivery":
        return t["lead_delivery"].format(
            target=TARGETS.get(d.get("target"), d.get("target")),
            event=_word(t, "lead_ev_", d.get("event")), status=_word(t, "lead_ds_",
                                                                     d.get("status")))
    if m.what == "crm_status":
        return t["lead_crm_status"].format(target=TARGETS.get(d.get("target"), d.get("target")),
                                           status=_word(t, "lead_st_", d.get("status")))
    if m.what == "erased":
        return t["lead_erased_event"]
    return t.get(f"lead_{m.what}", m.what)
