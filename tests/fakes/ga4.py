"""A fake Google Analytics 4 Measurement Protocol served over HTTP on 127.0.0.1 for the real
target (bot/deliveries/ads/ga4.py): `POST /mp/collect` and its validation server `POST
/debug/mp/collect`, both with `measurement_id` and `api_secret` in the query.

It checks what Google documents: a JSON object of known fields; `client_id` in the `_ga`
cookie's form (`<random>.<timestamp>`: another one ties the event to no visitor);
`timestamp_micros` in microseconds, at most 72 hours back and not ahead; 1 to 25 events,
each named as GA4 allows (40 characters, a letter first, letters, digits and underscores,
not reserved); at most 25 parameters, names of 40 characters not reserved, string values of
100; a `value` only with a 3-letter `currency`. And what GA4 forbids: nothing that looks
like an email or a phone number.

Like Google, the collection endpoint answers 204 to whatever reaches it and drops a bad
request without a word: it lands in `dropped` (with what was wrong), never in `received`.
The validation server answers 200 with `validationMessages` (fieldPath, description,
validationCode) and records nothing; it does not check the API secret (Google's does not).
Failures on demand as the fake CRMs' (`fail`, `answer`, `redirect`: tests/fakes/crm.py).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.crm import FakeCrm

FIELDS = {"client_id", "user_id", "timestamp_micros", "user_properties", "consent",
          "non_personalized_ads", "events", "user_data", "user_location", "device",
          "ip_override", "validation_behavior"}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}\Z")
CLIENT_ID = re.compile(r"^[0-9]{1,20}\.[0-9]{1,20}\Z")
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
RESERVED_EVENTS = {"click", "error", "file_download", "first_open", "first_visit",
                   "form_start", "form_submit", "in_app_purchase", "page_view", "scroll",
                   "session_start", "user_engagement", "video_progress", "video_start",
                   "view_search_results", "app_remove", "ad_impression"}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+[0-9][0-9 ()-]{8,}[0-9]")  # international form: +7 916 ...
LOOKBACK = 72 * 3600 * 1_000_000  # microseconds


def message(path: str, code: str, description: str) -> dict[str, str]:
    return {"fieldPath": path, "description": description, "validationCode": code}


def check(body: Any, now_micros: int) -> list[dict[str, str]]:
    """What GA4 finds wrong with a request's JSON (empty: nothing)."""
    if not isinstance(body, dict):
        return [message("", "VALUE_INVALID", "The payload is not a JSON object.")]
    found = [message(k, "NAME_INVALID", f"Unknown field [{k}].")
             for k in sorted(set(body) - FIELDS)]
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        found.append(message("client_id", "VALUE_REQUIRED" if client_id is None
                             else "VALUE_INVALID", "client_id must be the _ga cookie's id."))
    stamp = body.get("timestamp_micros")
    if stamp is not None and (not isinstance(stamp, int) or isinstance(stamp, bool)
                              or not now_micros - LOOKBACK <= stamp <= now_micros + 60e6):
        found.append(message("timestamp_micros", "VALUE_OUT_OF_BOUNDS",
                             "timestamp_micros must be within the last 72 hours."))
    events = body.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= 25:
        found.append(message("events", "EXCEEDED_MAX_ENTITIES" if isinstance(events, list)
                             else "VALUE_REQUIRED", "1 to 25 events are required."))
        return found
    for index, item in enumerate(events):
        found += check_event(item, f"events[{index}]")
    return found


def check_event(item: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(item, dict) or set(item) - {"name", "params"}:
        return [message(where, "VALUE_INVALID", "An event is {name, params}.")]
    found = []
    name = item.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        found.append(message(f"{where}.name", "NAME_INVALID", f"Invalid name [{name}]."))
    elif name.startswith(RESERVED_PREFIXES) or name in RESERVED_EVENTS:
        found.append(message(f"{where}.name", "NAME_RESERVED", f"[{name}] is reserved."))
    given = item.get("params", {})
    if not isinstance(given, dict):
        return [*found, message(f"{where}.params", "VALUE_INVALID", "params: an object.")]
    if len(given) > 25:
        found.append(message(f"{where}.params", "EXCEEDED_MAX_ENTITIES", "Over 25."))
    for key, value in given.items():
        path = f"{where}.params.{key}"
        if not NAME.fullmatch(key) or key.startswith(RESERVED_PREFIXES):
            found.append(message(path, "NAME_INVALID", f"Invalid parameter [{key}]."))
        if isinstance(value, str) and len(value) > 100:
            found.append(message(path, "VALUE_OUT_OF_BOUNDS", "Over 100 characters."))
        elif isinstance(value, str) and (EMAIL.search(value) or PHONE.search(value)):
            found.append(message(path, "VALUE_INVALID", "Personal data is not allowed."))
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            found.append(message(path, "VALUE_INVALID", "A string or a number."))
    if "value" in given and not (isinstance(given["value"], (int, float))
                                 and isinstance(given.get("currency"), str)
                                 and re.fullmatch(r"[A-Z]{3}", given["currency"])):
        found.append(message(f"{where}.params.currency", "VALUE_REQUIRED",
                             "A value needs a currency (ISO 4217)."))
    return found


@dataclass
class FakeGa4(FakeCrm):
    rate: float = 1000.0
    burst: float = 1000.0
    measurement_id: str = "G-TEST12345"
    api_secret: str = "ga4-api-secret-for-tests"
    received: list[dict[str, Any]] = field(default_factory=list)  # what GA4 would keep
    dropped: list[dict[str, Any]] = field(default_factory=list)  # {"body", "messages"}
    validated: list[dict[str, Any]] = field(default_factory=list)  # the debug server's

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/mp/collect", self._collect)
        app.router.add_post("/debug/mp/collect", self._debug)

    def events(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(client_id, event name, params) of every event kept, in order."""
        return [(b["client_id"], e["name"], e.get("params", {}))
                for b in self.received for e in b["events"]]

    async def _read(self, request: web.Request, secret: bool) -> tuple[Any, list]:
        found = []
        if request.query.get("measurement_id") != self.measurement_id:
            found.append(message("measurement_id", "VALUE_INVALID", "Unknown stream."))
        if secret and request.query.get("api_secret") != self.api_secret:
            found.append(message("api_secret", "VALUE_INVALID", "Wrong API secret."))
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return raw, [*found, message("", "VALUE_INVALID", "The body is not JSON.")]
        return body, found + check(body, int(time.time() * 1_000_000))

    async def _collect(self, request: web.Request) -> web.Response:
        body, found = await self._read(request, secret=True)
        if found:
            self.dropped.append({"body": body, "messages": found})
        else:
            self.received.append(body)
        return web.Response(status=204)  # whatever it was: GA4 says nothing

    async def _debug(self, request: web.Request) -> web.Response:
        body, found = await self._read(request, secret=False)
        self.validated.append(body)
        return web.json_response({"validationMessages": found})
