"""Meta's Conversions API (Facebook and Instagram ads; docs/conversions.md): each goal a
lead reaches is one server event, posted as Meta's own business SDK posts it:

    POST {api_url}/{pixel}/events    form: data=<JSON array of one event>, access_token

The event, field by field:
- `event_name`: the goal (the file's `goals[moment]`, kept in the row's data);
  `event_time`: when the moment happened (the row's `created_at`), Unix seconds. Meta
  refuses the whole request if an event is over 7 days old: `max_age`.
- `event_id`: the delivery row's key. Meta counts an event_name and event_id it has seen
  once, so a try after a timeout (it may have arrived) is safe: `repeat = "dedupe"`.
- `action_source`: `chat`, Meta's source for "a messaging app, SMS, or online messaging
  feature": a Telegram conversation. Not `business_messaging`: that one is for chats on
  Meta's own WhatsApp, Messenger and Instagram and needs a `messaging_channel` naming one
  of them, which Telegram is not.
- `user_data`: `fbc` = `fb.1.<click time in ms>.<fbclid>` when the tracking link had an
  fbclid (subdomain index 1, as Meta says for a value made on a server; the fbclid as it
  came, case kept); with `contacts: true`, while the prospect's consent stands, `em` and
  `ph`: SHA-256 (hex) of the email trimmed and lower-cased, of the phone's digits with its
  country code and no leading zeros. No fbclid and no contacts: nothing Meta could match,
  `Skip("no_click")`.
- `custom_data`: a sale's `value` and `currency` (Meta requires both of a Purchase: one
  without an amount is `Skip("no_value")`).
No `lead_event_source` / `event_source: crm`: Meta's CRM guide defines them only for its
Conversion Leads optimisation of its own instant forms, and says not to use that spec for
other events.

Answers: `{"events_received": 1, "fbtrace_id": ...}` is accepted. Of an error only the HTTP
status and Meta's numbers are kept (`HTTP 400 #100/2804003`), never its message: it may
quote the value it refused. Rate limits (codes 4, 17, 32, 341, 613, 80000-80014) pause
every call and are tried again; so are Meta's temporary errors (1, 2) and a token or
permission refused (102, 190, 10, 200-299) and a pixel Meta does not know (100/33): the
setting is wrong, not the event, and the alert tells the managers; any other refusal is
for good.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from bot.deliveries.ads import conversion
from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.http import Client, Throttle, unreadable
from bot.deliveries.port import Delivered, Job, Permanent, Skip, Transient
from dialogs.rules.conversions import Meta

ACTION_SOURCE = "chat"
RATE_LIMITS = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
TEMPORARY = frozenset({1, 2})  # "API Unknown", "API Service": wait and retry
SETUP = frozenset({10, 102, 190, *range(200, 300)})  # the token or its permissions
NO_PIXEL = (100, 33)  # "Object with ID ... does not exist": the file's pixel is wrong
PAUSE = 60.0  # seconds every call waits after a rate limit (Meta names no Retry-After)
MAX_CODE = 10**10
TRACE = re.compile(r"^[A-Za-z0-9_\-+/=]{1,64}$")
CODE = re.compile(r"#(\d+)(?:/(\d+))?$")


def graph_code(body: Any) -> str:
    """What of a Graph API error is kept: its numbers (`#190`, `#100/2804003`), never its
    message, type or user text: those may quote the values Meta refused."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not _number(error.get("code")):
        return ""
    sub = error.get("error_subcode")
    return f"#{error['code']}/{sub}" if _number(sub) else f"#{error['code']}"


def _number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_CODE


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def email_key(email: str) -> str:
    """An email as Meta hashes it: trimmed, lower-cased."""
    return email.strip().lower()


def phone_key(phone: str) -> str:
    """A phone as Meta hashes it: digits only (no `+`, spaces or dashes), no leading zeros,
    the country code kept (leadbot keeps phones in E.164: `+79161234567` -> 79161234567)."""
    return re.sub(r"[^0-9]", "", phone).lstrip("0")


def hashed(contacts: Mapping[str, str]) -> dict[str, list[str]]:
    """`em` / `ph` of the contacts given, hashed; a value that normalises to nothing is
    left out."""
    found = {}
    email, phone = email_key(contacts.get("email", "")), phone_key(contacts.get("phone", ""))
    if email:
        found["em"] = [sha256(email)]
    if phone:
        found["ph"] = [sha256(phone)]
    return found


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _ms(moment: datetime) -> int:
    """Unix time in milliseconds, in whole numbers (no float rounding of the last one)."""
    return (_utc(moment) - EPOCH) // timedelta(milliseconds=1)


def fbc(click: Mapping[str, Any], moment: datetime) -> str | None:
    """Meta's click id from the tracking link's click: `fb.1.<ms>.<fbclid>`, the time the
    fbclid was first seen (the click; the moment if the click kept none)."""
    fbclid = click.get("fbclid")
    if not fbclid:
        return None
    at = click.get("at")
    return f"fb.1.{_ms(at if isinstance(at, datetime) else moment)}.{fbclid}"


def _amount(value: Decimal) -> float | int:
    """A JSON number Meta reads: whole amounts as integers, others with their cents."""
    return int(value) if value == value.to_integral_value() else float(value)


class MetaTarget:
    name = "meta"
    batch = 1
    window = 0.0
    max_age: timedelta | None = timedelta(days=7)
    repeat = "dedupe"  # Meta drops a repeat of event_name + event_id

    def __init__(self, config: Meta, token: str, limits: AdLimits) -> None:
        self.config, self.token = config, token
        self.events = frozenset(config.goals)
        self.goals: dict[str, str] = dict(config.goals)
        self.url = f"{config.api_url.rstrip('/')}/{config.pixel}/events"
        self.client = Client(Throttle(limits.meta_rate, limits.meta_burst), limits.timeout)

    def event(self, job: Job) -> dict[str, Any]:
        """The event Meta gets for this row (raises Skip when nothing can be matched)."""
        goal = job.data.get("goal") or self.goals.get(job.event)
        if not goal:
            raise Skip("no_goal")
        moment = _utc(conversion.moment_time(job.created_at, job.now))
        if self.max_age is not None and _utc(job.now) - moment > self.max_age:
            raise Skip("too_old")  # Meta would refuse the request
        user: dict[str, Any] = {}
        click = fbc(conversion.click(job.facts), moment)
        if click:
            user["fbc"] = click
        if self.config.contacts:
            user.update(hashed(conversion.contacts(job.facts)))
        if not user:
            raise Skip("no_click")
        event: dict[str, Any] = {"event_name": goal, "event_time": int(moment.timestamp()),
                                 "event_id": job.key, "action_source": ACTION_SOURCE,
                                 "user_data": user}
        sale = conversion.value(job.facts, job.event)
        if sale is not None:
            event["custom_data"] = {"value": _amount(sale[0]), "currency": sale[1].upper()}
        elif goal == "Purchase":
            raise Skip("no_value")  # Meta refuses a Purchase without value and currency
        return event

    async def deliver(self, job: Job) -> Delivered:
        status, answer = await self.post([self.event(job)])
        received, trace = _answer(status, answer)
        if received != 1:  # not our one event counted: not delivered (a repeat is dropped)
            raise unreadable(status, "bad_answer")
        return Delivered(answer=f"HTTP {status}: events_received {received}{trace}",
                         accepted=True)

    async def probe(self) -> str:
        """One sample event in Meta's test mode (Events Manager, Test events): it is shown
        there and never counted for the ads. Without a test code nothing is sent."""
        code = self.config.test_event_code
        if not code:
            raise Permanent("no test_event_code: set `test_event_code` under `meta` in the "
                            "conversions file (Events Manager, your dataset, Test events) "
                            "to send Meta a test event")
        now = datetime.now(UTC)
        ms = _ms(now)
        goal = next((g for g in self.goals.values() if g != "Purchase"), "Purchase")
        user: dict[str, Any] = {"fbc": f"fb.1.{ms}.leadbot-test"}
        if self.config.contacts:
            user.update(hashed({"email": "test@example.com"}))
        event: dict[str, Any] = {"event_name": goal, "event_time": int(now.timestamp()),
                                 "event_id": f"leadbot-test-{ms}",
                                 "action_source": ACTION_SOURCE, "user_data": user}
        if goal == "Purchase":
            event["custom_data"] = {"value": 1, "currency": "USD"}
        status, answer = await self.post([event], test=code)
        received, trace = _answer(status, answer)
        return (f"HTTP {status}: events_received {received}{trace} (test_event_code "
                f"{code}: see Events Manager, Test events)")

    async def post(self, events: list[dict[str, Any]],
                   test: str | None = None) -> tuple[int, Any]:
        form = {"data": json.dumps(events, separators=(",", ":")),
                "access_token": self.token}  # in the body: a URL may end up in a log
        if test:
            form["test_event_code"] = test
        try:
            return await self.client.call(
                "POST", self.url, body=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                pause=PAUSE, codes=graph_code)
        except Permanent as refusal:
            raise self.classify(refusal) from None

    def classify(self, refusal: Permanent) -> Permanent | Transient:
        """Meta answers most errors with HTTP 400 whatever they are: its code says which
        are worth another try."""
        found = CODE.search(refusal.reason)
        code = int(found.group(1)) if found else None
        sub = int(found.group(2)) if found and found.group(2) else None
        if code in RATE_LIMITS:
            self.client.throttle.pause(PAUSE, refusal.reason)  # every event waits
            return Transient(refusal.reason, PAUSE)
        if code in TEMPORARY or code in SETUP or (code, sub) == NO_PIXEL:
            return Transient(refusal.reason)
        return refusal

    async def close(self) -> None:
        await self.client.close()


def _answer(status: int, answer: Any) -> tuple[int, str]:
    """Meta's count of the events it took, and its trace id (for its support) if it looks
    like one; any other answer is one the bot cannot read."""
    received = answer.get("events_received") if isinstance(answer, dict) else None
    if not _number(received):
        raise unreadable(status, "bad_answer")
    trace = answer.get("fbtrace_id")
    return received, f", fbtrace_id {trace}" if isinstance(trace, str) \
        and TRACE.match(trace) else ""
