"""Google Analytics 4's Measurement Protocol (Google Ads imports the key events from it):
each conversion is one POST of JSON to `{api_url}/mp/collect?measurement_id=G-...&
api_secret=...` (LEADBOT_GA4_API_SECRET):

    {"client_id": "1234567890.1700000000",      # the `_ga` cookie's, from the /go link
     "timestamp_micros": 1764000000000000,      # the moment, at most 72 h back
     "events": [{"name": "close_convert_lead",  # the goal (the conversions file)
                 "params": {"event_id": "<delivery id>", "lead_source": "vk",
                            "value": 1500.0, "currency": "RUB"}}]}   # `won` with an amount

Nothing personal goes: no phone, email or name (GA4 forbids them), only the client id the
visitor's browser already gave Google. A lead without a client id is not sent
(Skip("no_click")): GA4 could tie the event to no ad click.

Google answers 2xx to anything it received, even an event it will drop (that is what the
validation server, `/debug/mp/collect`, is for: `probe`), and confirms nothing later: a
row stays `sent`. It has no de-duplication of these events either (`event_id` is only a
parameter to look at), so a try whose outcome is unknown is never repeated (`repeat =
"never"`: at most once). A 429 or 5xx is tried again, another 4xx is a refusal; of an
answer only its status is kept.

GA4's limits are kept here rather than left to Google's silent drop: event names of 40
characters at most, starting with a letter, of letters, digits and underscores, and not
reserved; at most 25 parameters, names of 40 characters, string values cut to 100.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.deliveries.ads import conversion
from bot.deliveries.ads.conversion import AdLimits
from bot.deliveries.http import Client, Throttle, unreadable
from bot.deliveries.port import Delivered, Job, Permanent, Skip
from dialogs.rules.conversions import MOMENTS, ConversionsError, Ga4

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}\Z")  # an event's or a parameter's name
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
# event names a web stream reserves (Google's list; the recommended lead events are not)
RESERVED_EVENTS = frozenset({
    "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward",
    "adunit_exposure", "app_background", "app_clear_data", "app_exception", "app_install",
    "app_remove", "app_store_refund", "app_store_subscription_cancel",
    "app_store_subscription_convert", "app_store_subscription_renew", "app_update",
    "app_upgrade", "click", "dynamic_link_app_open", "dynamic_link_app_update",
    "dynamic_link_first_open", "error", "file_download", "firebase_campaign",
    "first_open", "first_visit", "form_start", "form_submit", "in_app_purchase",
    "notification_dismiss", "notification_foreground", "notification_open",
    "notification_receive", "os_update", "page_view", "screen_view", "scroll",
    "session_start", "session_start_with_rollout", "user_engagement", "video_complete",
    "video_progress", "video_start", "view_search_results"})
MAX_PARAMS = 25
VALUE_LENGTH = 100  # characters of a string parameter
CURRENCY = re.compile(r"^[A-Z]{3}\Z")  # ISO 4217
SAMPLE_CLIENT = "1234567890.1700000000"  # the probe's made-up client id (a cookie's form)
MAX_MESSAGE = 200  # characters of a validation message's description shown by `probe`


def refused(name: str) -> str:
    """Why GA4 would drop an event of this name ("" if it would not)."""
    if not NAME.fullmatch(name):
        return "at most 40 letters, digits and underscores, starting with a letter"
    if name.startswith(RESERVED_PREFIXES) or name in RESERVED_EVENTS:
        return "a name Google Analytics reserves"
    return ""


def params(given: Mapping[str, Any]) -> dict[str, Any]:
    """An event's parameters within GA4's limits: a name that is not valid or reserved is
    left out, a string cut to VALUE_LENGTH characters, MAX_PARAMS at most."""
    kept: dict[str, Any] = {}
    for name, value in given.items():
        if value is None or value == "" or len(kept) == MAX_PARAMS:
            continue
        if not NAME.fullmatch(name) or name.startswith(RESERVED_PREFIXES):
            continue
        kept[name] = value[:VALUE_LENGTH] if isinstance(value, str) else value
    return kept


def micros(when: datetime) -> int:
    """A moment as GA4's `timestamp_micros` (exact: no float in between)."""
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def event(goal: str, key: str, source: str | None,
          value: tuple[Any, str] | None) -> dict[str, Any]:
    """One event of the request: the goal and its parameters."""
    given: dict[str, Any] = {"event_id": key, "lead_source": source}
    if value is not None and CURRENCY.fullmatch(value[1]):
        given["value"], given["currency"] = float(value[0]), value[1]
    return {"name": goal, "params": params(given)}


def body(client_id: str, when: datetime, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"client_id": client_id, "timestamp_micros": micros(when), "events": events}


class Ga4Target:
    name = "ga4"
    batch = 1
    window = 0.0
    max_age: timedelta | None = timedelta(hours=72)  # MP takes events 72 h back at most
    repeat = "never"  # GA4 drops no repeat: a try that may have arrived is not made again

    def __init__(self, config: Ga4, api_secret: str, limits: AdLimits) -> None:
        for moment, goal in config.goals.items():
            if why := refused(goal):
                raise ConversionsError(f"ga4.goals.{moment}: '{goal}': {why}")
        self.config, self.api_secret = config, api_secret
        self.events = frozenset(config.goals)
        self.goals: Mapping[str, str] = dict(config.goals)
        self.base = config.api_url.rstrip("/")
        self.client = Client(Throttle(limits.ga4_rate, limits.ga4_burst), limits.timeout,
                             keepalive=False)  # a stale connection: a lost conversion

    def query(self) -> dict[str, str]:
        return {"measurement_id": self.config.measurement_id, "api_secret": self.api_secret}

    def request(self, job: Job) -> dict[str, Any]:
        """The request's JSON for one row (Skip: not sent, by design)."""
        goal = str(job.data.get("goal") or self.goals.get(job.event) or "")
        if refused(goal):
            raise Permanent("bad_goal")  # a row written before the file was changed
        client_id = conversion.click(job.facts).get("ga_client_id")
        if not client_id:
            raise Skip("no_click")
        when = min(conversion.moment_time(job.created_at, job.now), job.now)
        if self.max_age is not None and job.now - when > self.max_age:
            raise Skip("too_old")  # GA4 would drop it without a word
        source = job.facts.conversation.get("source")
        return body(str(client_id), when, [event(
            goal, job.key, str(source) if source else None,
            conversion.value(job.facts, job.event))])

    async def deliver(self, job: Job) -> Delivered:
        raw = json.dumps(self.request(job)).encode()
        status, _ = await self.client.call(
            "POST", f"{self.base}/mp/collect", body=raw, params=self.query(),
            headers={"Content-Type": "application/json"}, answer=False)
        return Delivered(answer=f"HTTP {status}")

    async def probe(self) -> str:
        """Every configured goal, as a sample conversion, to the validation server (it
        shows up in no report); one line that it found nothing wrong, or Permanent saying
        what it found wrong (GA4 would drop those events)."""
        ordered = sorted(self.goals.items(), key=lambda item: MOMENTS.index(item[0]))
        events = [event(goal, "leadbot-test", "leadbot_test",
                        (1500, "RUB") if moment == "won" else None)
                  for moment, goal in ordered]
        sample = {**body(SAMPLE_CLIENT, datetime.now(UTC), events),
                  "validation_behavior": "ENFORCE_RECOMMENDATIONS"}
        status, answer = await self.client.call(
            "POST", f"{self.base}/debug/mp/collect", body=json.dumps(sample).encode(),
            params=self.query(), headers={"Content-Type": "application/json"})
        if not isinstance(answer, dict) or not isinstance(
                answer.get("validationMessages", []), list):
            raise unreadable(status, "bad_answer")
        messages = [m for m in answer.get("validationMessages", []) if isinstance(m, dict)]
        goals = ", ".join(goal for _, goal in ordered)
        if not messages:
            return (f"HTTP {status}: the validation server found nothing wrong with "
                    f"{goals} (it does not check the API secret)")
        found = "; ".join(" ".join(str(m.get(k, ""))[:MAX_MESSAGE] for k in (
            "fieldPath", "validationCode", "description")).strip() for m in messages)
        # what the server found wrong, GA4 drops without a word: a failure, not an answer
        raise Permanent(f"HTTP {status}: {len(messages)} validation message(s): {found}")

    async def close(self) -> None:
        await self.client.close()
