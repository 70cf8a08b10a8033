"""Who a broadcast is for: the people its file's `segment:` picks (`segment`), and who of them
it may not be sent to and why (`left_out`, and `recheck` again just before each is queued).

Every filter given must hold (AND); the values of one filter are alternatives (OR). Each
distinct person (user_id) counts once, judged by their LATEST conversation that matches every
filter (and that conversation's lead). All filters but `answers` are SQL; `answers` is an
expression in the flows' language (dialogs/rules/expressions.py) evaluated on the matching
conversations' answers as the engine's state keeps them (a choice's option id, a number, a
multiple choice as a tuple): names are step ids (`layout == 'island'`), `answers.layout`
works too, and a step not answered reads as None. An expression that fails on a person's
answers (`budget >= 2` with no budget) does not match, as a flow's condition does not.

Left out, one reason per person, the first that holds: `erased` (the conversation is erased,
or the prospect is gone), `blocked` (they blocked the bot), `stopped` (their latest marketing
row in the consent ledger is a withdrawal: /stop, Unsubscribe, /forget), `no_consent` (no
marketing row at all). The ledger's latest row decides, whichever company it names: flows
write only grants, and a withdrawal withdraws from every company at once (rights.withdraw).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import JSON, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from dialogs.rules.expressions import FUNCTIONS, ExpressionError, Record, is_true, parse
from dialogs.rules.expressions import references as referenced
from storage.reports.period import _midnight
from storage.schema.tables import Consent, Conversation, Handoff, Lead, Prospect

REASONS = ("erased", "blocked", "stopped", "no_consent")  # the first that holds is given
LISTS = ("flows", "versions", "variants", "sources", "campaigns", "temperatures", "qualified",
         "statuses", "not_statuses", "languages")
KEYS = (*LISTS, "answers", "started", "active")
NO_SOURCE = "none"  # `sources: [none]`: conversations that came with no source
CHUNK = 500  # user ids per IN (...) of `recheck`


class SegmentError(ValueError):
    """A segment that cannot be read (an unknown key, a bad date, an expression that does not
    parse): the message says which."""


@dataclass(frozen=True)
class Recipient:
    user_id: int
    chat_id: int
    language: str | None
    conversation_id: int | None
    lead_id: int | None


@dataclass
class SegmentResult:
    recipients: list[Recipient] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))


async def segment(session: AsyncSession, filters: Mapping[str, Any] | None, timezone: str,
                  now: datetime) -> SegmentResult:
    """The people the filters pick, those it may be sent to as recipients (by user id) and
    the others counted per reason. `timezone`: LEADBOT_TIMEZONE, the days of `started` and
    `active`."""
    filters = dict(filters or {})
    where = _conditions(filters, _zone(timezone))
    expression = _expression(filters.get("answers"))
    matching = (select(func.max(Conversation.id).label("id")) if expression is None
                else select(Conversation.id))
    matching = (matching.select_from(Conversation)
                .outerjoin(Lead, Lead.conversation_id == Conversation.id)
                .outerjoin(Handoff, Handoff.lead_id == Lead.id)
                .outerjoin(Prospect, Prospect.user_id == Conversation.user_id)
                .where(*where))
    # without an expression each person's latest matching conversation is found in SQL;
    # with one, every matching conversation is read, the latest first, and judged in Python
    target = (matching.group_by(Conversation.user_id) if expression is None
              else matching).subquery()
    answers = type_coerce(Conversation.state, JSON)["answers"]
    judge = _Judge(expression) if expression is not None else None
    rows = await session.execute(
        select(Conversation.user_id, Conversation.id, Conversation.chat_id,
               Conversation.erased_at, Prospect.user_id, Prospect.chat_id, Prospect.language,
               Prospect.blocked, Lead.id, _latest_marketing(Conversation.user_id),
               *([answers] if expression is not None else []))
        .select_from(Conversation)
        .join(target, target.c.id == Conversation.id)
        .outerjoin(Prospect, Prospect.user_id == Conversation.user_id)
        .outerjoin(Lead, Lead.conversation_id == Conversation.id)
        .order_by(*((Conversation.user_id, Conversation.id.desc()) if judge is not None
                    else ())))  # one row a person without an expression: no sort needed
    result = SegmentResult()
    last_user = None
    for (user_id, conversation_id, chat_id, erased_at, prospect, prospect_chat, language,
         blocked, lead_id, granted, *given) in rows:
        if user_id == last_user or (judge is not None and not judge(given[0])):
            continue  # judged by their latest matching conversation already, or no match
        last_user = user_id
        reason = _reason(erased_at is not None or prospect is None, blocked, granted)
        if reason is not None:
            result.left_out[reason] += 1
            continue
        result.recipients.append(Recipient(user_id, prospect_chat or chat_id, language,
                                           conversation_id, lead_id))
    result.recipients.sort(key=lambda recipient: recipient.user_id)
    return result


async def recheck(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str | None]:
    """Each person's reason not to be sent to now (None: they may be), by the same rules, on
    their latest conversation: what the writer asks just before it queues them."""
    ids = list(dict.fromkeys(user_ids))
    found: dict[int, str | None] = dict.fromkeys(ids, "erased")  # no prospect: gone
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        latest = (select(Conversation.user_id, func.max(Conversation.id).label("id"))
                  .where(Conversation.user_id.in_(chunk))
                  .group_by(Conversation.user_id).subquery())
        rows = await session.execute(
            select(Prospect.user_id, Prospect.blocked, Conversation.erased_at,
                   _latest_marketing(Prospect.user_id))
            .select_from(Prospect)
            .outerjoin(latest, latest.c.user_id == Prospect.user_id)
            .outerjoin(Conversation, Conversation.id == latest.c.id)
            .where(Prospect.user_id.in_(chunk)))
        for user_id, blocked, erased_at, granted in rows:
            found[user_id] = _reason(erased_at is not None, blocked, granted)
    return found


async def latest_conversations(session: AsyncSession, user_ids: Iterable[int]
                               ) -> dict[int, int]:
    """Each person's latest conversation id (the outbox row of a broadcast names it)."""
    ids, found = list(dict.fromkeys(user_ids)), {}
    for start in range(0, len(ids), CHUNK):
        rows = await session.execute(
            select(Conversation.user_id, func.max(Conversation.id))
            .where(Conversation.user_id.in_(ids[start:start + CHUNK]))
            .group_by(Conversation.user_id))
        found.update({user_id: conversation_id for user_id, conversation_id in rows})
    return found


async def latest_flows(session: AsyncSession, user_ids: Iterable[int]
                       ) -> dict[int, tuple[int, str, int]]:
    """Each person's latest conversation: (its id, its flow id, its flow version). The
    writer names it on their broadcast's outbox row and takes the flow's time zone and
    quiet hours from it, as their follow-ups do."""
    ids, found = list(dict.fromkeys(user_ids)), {}
    for start in range(0, len(ids), CHUNK):
        latest = (select(func.max(Conversation.id))
                  .where(Conversation.user_id.in_(ids[start:start + CHUNK]))
                  .group_by(Conversation.user_id))
        rows = await session.execute(
            select(Conversation.user_id, Conversation.id, Conversation.flow_id,
                   Conversation.flow_version).where(Conversation.id.in_(latest)))
        found.update({user_id: (conversation_id, flow_id, version)
                      for user_id, conversation_id, flow_id, version in rows})
    return found


def _reason(erased: bool, blocked: bool | None, granted: bool | None) -> str | None:
    if erased:
        return "erased"
    if blocked:
        return "blocked"
    if granted is None:
        return "no_consent"
    return None if granted else "stopped"


def _latest_marketing(user_id: Any) -> Any:
    """Whether the person's latest marketing row in the consent ledger grants it (None: no
    row). Rows are appended in order: the highest id is the latest. A correlated look-up by
    the ledger's user index: fast on both databases, where a grouped subquery joined back
    is not (SQLite would scan it once per person)."""
    return (select(Consent.granted)
            .where(Consent.user_id == user_id, Consent.purpose == "marketing")
            .order_by(Consent.id.desc()).limit(1).scalar_subquery())


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SegmentError(f"unknown time zone {timezone!r}") from None


def _values(filters: dict[str, Any], key: str) -> list[Any]:
    value = filters[key]
    values = value if isinstance(value, list | tuple) else [value]
    if not values:
        raise SegmentError(f"segment: {key} is an empty list (leave it out to take everyone)")
    if key == "versions":
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise SegmentError(f"segment: versions are whole numbers, not {values!r}")
        return values
    if key == "qualified" and not set(values) <= {"mql", "sql"}:
        raise SegmentError(f"segment: qualified is mql and/or sql, not {values!r}")
    return [str(v) for v in values]


def _day(filters: dict[str, Any], key: str, end: str) -> date | None:
    span = filters[key]
    if not isinstance(span, Mapping) or not set(span) <= {"since", "until", "before", "after"}:
        raise SegmentError(f"segment: {key} is a mapping like {{since: 2026-11-01, "
                           f"until: 2026-11-30}}, not {span!r}")
    value = span.get(end)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SegmentError(f"segment: {key}.{end} {value!r} is not a date (YYYY-MM-DD)") from None


def _conditions(filters: dict[str, Any], zone: ZoneInfo) -> list[ColumnElement]:
    """The SQL conditions of every filter but `answers`, on conversations joined with their
    lead, hand-off and prospect. Days are whole days in `zone`, both ends included."""
    unknown = set(filters) - set(KEYS)
    if unknown:
        raise SegmentError(f"segment: unknown {', '.join(sorted(unknown))} "
                           f"(known: {', '.join(KEYS)})")
    lists = {key: _values(filters, key) for key in LISTS if filters.get(key) is not None}
    where: list[ColumnElement] = []
    if "flows" in lists:
        where.append(or_(Conversation.flow_id.in_(lists["flows"]),
                         Conversation.experiment.in_(lists["flows"])))
    for key, column in (("versions", Conversation.flow_version),
                        ("variants", Conversation.variant),
                        ("campaigns", Conversation.campaign),
                        ("temperatures", Lead.temperature), ("languages", Prospect.language)):
        if key in lists:
            where.append(column.in_(lists[key]))
    if "sources" in lists:
        named = [s for s in lists["sources"] if s != NO_SOURCE]
        where.append(or_(Conversation.source.in_(named), *(
            [Conversation.source.is_(None)] if NO_SOURCE in lists["sources"] else [])))
    if "qualified" in lists:
        where.append(or_(*({"mql": Lead.mql, "sql": Lead.sql}[q].is_(True)
                           for q in lists["qualified"])))
    status = func.coalesce(Handoff.status, Lead.status)  # the hand-off's, once handed off
    if "statuses" in lists:
        where.append(status.in_(lists["statuses"]))
    if "not_statuses" in lists:
        where.append(or_(Lead.id.is_(None), status.not_in(lists["not_statuses"])))
    for key, column, first, last in (("started", Conversation.started_at, "since", "until"),
                                     ("active", Conversation.updated_at, "after", "before")):
        if filters.get(key) is None:
            continue
        since, until = _day(filters, key, first), _day(filters, key, last)
        if since is not None and until is not None and until < since:
            raise SegmentError(f"segment: {key}.{last} {until} is before {key}.{first} {since}")
        if since is not None:
            where.append(column >= _midnight(since, zone))
        if until is not None:
            where.append(column < _midnight(until + timedelta(days=1), zone))
    return where


@dataclass(frozen=True)
class _Expression:
    text: str
    names: frozenset[str]  # the names it reads (step ids; `answers`)


def _expression(text: Any) -> _Expression | None:
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise SegmentError(f"segment: answers is an expression, not {text!r}")
    try:
        parse(text)
        names = referenced(text).names
    except ExpressionError as error:
        raise SegmentError(f"segment: answers: {error}") from None
    return _Expression(text, frozenset(names - set(FUNCTIONS)))


def _frozen(value: Any) -> Any:
    """An answer as the engine's state holds it (a multiple choice as a tuple), hashable."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


class _Judge:
    """Whether a conversation's answers satisfy the expression, evaluated once per distinct
    set of the answers it reads (most people answer alike: 100,000 people, a few hundred
    evaluations). Names are step ids; `answers` is the record of them all."""

    def __init__(self, expression: _Expression) -> None:
        self.expression = expression
        self.whole = "answers" in expression.names  # answers.x / answers['x']: all of them
        self.judged: dict[Any, bool] = {}

    def __call__(self, given: Any) -> bool:
        given = given if isinstance(given, dict) else {}
        if self.whole:
            everything = {k: _frozen(v) for k, v in given.items()}
            key: Any = tuple(sorted(everything.items(), key=lambda item: item[0]))
        else:
            steps = {name: _frozen(given.get(name)) for name in self.expression.names}
            key = tuple(sorted(steps.items(), key=lambda item: item[0]))
        try:
            return self.judged[key]
        except KeyError:
            pass
        except TypeError:  # an answer that cannot be a key: judged on its own
            return self._evaluate(given)
        self.judged[key] = found = self._evaluate(given)
        return found

    def _evaluate(self, given: dict[str, Any]) -> bool:
        answered = {k: _frozen(v) for k, v in given.items()}
        names = {name: answered.get(name) for name in self.expression.names}
        if self.whole:
            names["answers"] = Record(answered)
        return is_true(self.expression.text, names)
