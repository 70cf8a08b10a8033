"""A fake Meta Conversions API served over HTTP on 127.0.0.1 for bot/deliveries/ads/meta.py:
`POST /{version}/{pixel}/events` with `data` (a JSON array of events) and `access_token`,
as a form (what Meta's SDK sends) or a JSON body.

It checks what the real one requires, and answers as it does (HTTP 400 with a Graph API
error: `message`, `type`, `code`, `error_subcode`, `fbtrace_id`): the pixel in the path,
the token, the events' shape (event_name, event_time in Unix seconds and not over 7 days
old, a known action_source with what it needs, user_data with an identifier Meta can
match, hashed fields as 64 lowercase hex, `fbc` as `fb.1.<ms>.<fbclid>`, a Purchase's
value and currency). It drops a repeat of an (event_name, event_id) as Meta deduplicates,
keeps events sent with a `test_event_code` apart (Meta's Test events), and fails on
demand (`fail`, `refuse`: a status, a Graph API error of a code, a message quoting what it
refused) as tests/fakes/crm.py's fakes do.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.crm import FakeCrm

ACTION_SOURCES = {"email", "website", "app", "phone_call", "chat", "physical_store",
                  "system_generated", "business_messaging", "other"}
MESSAGING_CHANNELS = {"messenger", "whatsapp", "instagram"}
HASHED = {"em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country"}
MATCHING = HASHED | {"external_id", "fbc", "fbp", "lead_id", "subscription_id",
                     "fb_login_id", "anon_id", "madid", "page_scoped_user_id", "ctwa_clid",
                     "ig_sid"}
USER_KEYS = MATCHING | {"client_ip_address", "client_user_agent", "page_id",
                        "ig_account_id"}
EVENT_KEYS = {"event_name", "event_time", "user_data", "custom_data", "event_source_url",
              "opt_out", "event_id", "action_source", "data_processing_options",
              "data_processing_options_country", "data_processing_options_state",
              "app_data", "referrer_url", "messaging_channel", "original_event_data",
              "attribution_data", "customer_segmentation"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
FBC = re.compile(r"^fb\.[0-2]\.([0-9]{13})\.([^\s.][^\s]*)$")
WEEK = 7 * 24 * 3600


class Refused(Exception):
    """An event refused (code 100, a subcode of this fake's own, words quoting it)."""

    def __init__(self, subcode: int, text: str) -> None:
        super().__init__(text)
        self.subcode, self.text = subcode, text


def error(code: int, message: str, subcode: int | None = None,
          kind: str = "OAuthException") -> dict[str, Any]:
    """A Graph API error answer, as Meta writes it."""
    found: dict[str, Any] = {"message": message, "type": kind, "code": code,
                             "fbtrace_id": "AbCdEf123_-x"}
    if subcode is not None:
        found["error_subcode"] = subcode
        found["error_user_msg"] = message
    return {"error": found}


@dataclass
class FakeMeta(FakeCrm):
    rate: float = 1000.0
    burst: float = 1000.0
    refusal: tuple[int, dict[str, Any]] = (400, error(
        4, "(#4) Application request limit reached", 1504022))
    pixel: str = "1234567890"
    token: str = "EAAB-meta-conversions-token"
    received: list[dict[str, Any]] = field(default_factory=list)  # every event that came
    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # unique
    tests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (code, event)
    forms: list[dict[str, str]] = field(default_factory=list)  # the raw requests' fields

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{version}/{pixel}/events", self._events)

    @property
    def api_url(self) -> str:
        return f"{self.url}/v21.0"

    def refuse(self, code: int, message: str = "(#100) Invalid parameter",
               subcode: int | None = None, *, status: int = 400, times: int = 1) -> None:
        """The next request(s) answered with a Graph API error of this code."""
        self.fail(status, error(code, message, subcode), times=times)

    async def _events(self, request: web.Request) -> web.Response:
        if request.match_info["pixel"] != self.pixel:
            pixel = request.match_info["pixel"]
            return web.json_response(error(
                100, f"Unsupported post request. Object with ID '{pixel}' does not exist",
                33, "GraphMethodException"), status=400)
        if request.content_type == "application/json":
            form = {k: v if isinstance(v, str) else json.dumps(v)
                    for k, v in (await request.json()).items()}
        else:
            form = {k: str(v) for k, v in (await request.post()).items()}
        self.forms.append(form)
        if form.get("access_token") != self.token:
            return web.json_response(error(190, "Invalid OAuth access token - Cannot parse "
                                                "access token"), status=400)
        try:
            data = json.loads(form.get("data", ""))
        except ValueError:
            data = None
        if not isinstance(data, list) or not 1 <= len(data) <= 1000:
            return web.json_response(error(100, "(#100) param data must be an array.",
                                           kind="OAuthException"), status=400)
        try:
            for event in data:
                check(event, time.time())
        except Refused as refused:
            return web.json_response(error(100, f"Invalid parameter: {refused.text}",
                                           refused.subcode), status=400)
        code = form.get("test_event_code")
        for event in data:
            if code:
                self.tests.append((code, event))
                continue
            self.received.append(event)
            key = (event["event_name"], str(event.get("event_id") or id(event)))
            self.events.setdefault(key, event)  # Meta counts a repeat once
        return web.json_response({"events_received": len(data), "messages": [],
                                  "fbtrace_id": "AZx9-trace_01"})


def check(event: Any, now: float) -> None:
    """What Meta refuses of one event (Refused with its subcode and words)."""
    if not isinstance(event, dict):
        raise Refused(2804001, "event must be an object")
    unknown = set(event) - EVENT_KEYS
    if unknown:
        raise Refused(2804002, f"unknown field {sorted(unknown)[0]}")
    name = event.get("event_name")
    if not isinstance(name, str) or not name:
        raise Refused(2804003, "event_name is required")
    moment = event.get("event_time")
    if not isinstance(moment, int) or isinstance(moment, bool):
        raise Refused(2804004, "event_time must be a Unix timestamp in seconds")
    if moment < now - WEEK:
        raise Refused(2804005, "event_time is more than 7 days in the past")
    if moment > now + 60:
        raise Refused(2804006, "event_time is in the future")
    if "event_id" in event and not isinstance(event["event_id"], str):
        raise Refused(2804007, "event_id must be a string")
    source = event.get("action_source")
    if source not in ACTION_SOURCES:
        raise Refused(2804008, "action_source is required")
    if source == "business_messaging" and \
            event.get("messaging_channel") not in MESSAGING_CHANNELS:
        raise Refused(2804009, "Missing Messaging Channel Parameter")
    if source == "website" and not (event.get("event_source_url")
                                    and (event.get("user_data") or {}).get(
                                        "client_user_agent")):
        raise Refused(2804010, "website events need event_source_url, client_user_agent")
    check_user(event.get("user_data"))
    custom = event.get("custom_data", {})
    if not isinstance(custom, dict):
        raise Refused(2804011, "custom_data must be an object")
    value, currency = custom.get("value"), custom.get("currency")
    if name == "Purchase" and (value is None or currency is None):
        raise Refused(2804012, "Purchase events require value and currency")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or value < 0):
        raise Refused(2804013, f"value {value!r} is not a number")
    if currency is not None and not (isinstance(currency, str)
                                     and re.fullmatch(r"[A-Za-z]{3}", currency)):
        raise Refused(2804014, f"currency {currency!r} is not ISO 4217")


def check_user(user: Any) -> None:
    if not isinstance(user, dict) or not user:
        raise Refused(2804015, "user_data is required")
    unknown = set(user) - USER_KEYS
    if unknown:
        raise Refused(2804016, f"unknown user_data field {sorted(unknown)[0]}")
    if not set(user) & MATCHING and not {"client_ip_address", "client_user_agent"} <= \
            set(user):
        raise Refused(2804017, "user_data has no customer information parameter")
    for key in HASHED & set(user):
        values = user[key] if isinstance(user[key], list) else [user[key]]
        for item in values:
            if not isinstance(item, str) or not HEX64.match(item):
                # Meta's words quote what came: a phone sent unhashed is in them
                raise Refused(2804018, f"{key} must be hashed with SHA-256: {item!r}")
    if "fbc" in user:
        found = FBC.match(user["fbc"]) if isinstance(user["fbc"], str) else None
        if found is None or int(found.group(1)) > (time.time() + 60) * 1000:
            raise Refused(2804019, f"fbc {user['fbc']!r} is not fb.1.<ms>.<fbclid>")
