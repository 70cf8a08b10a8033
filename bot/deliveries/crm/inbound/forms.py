"""The bodies of the inbound webhooks, read defensively: at most MAX_BODY bytes, UTF-8,
no NUL byte, the fields each CRM really sends and nothing else trusted. A body that is not
what it should be is a `Refused` with the HTTP status to answer; nothing of it is kept.

- Bitrix24 (form-urlencoded): `event=ONCRMLEADUPDATE` (or ONCRMDEALUPDATE),
  `data[FIELDS][ID]=123`, `ts=...`, `auth[domain]`, `auth[client_endpoint]`,
  `auth[server_endpoint]`, `auth[member_id]`, `auth[application_token]`.
- amoCRM / Kommo (form-urlencoded): `leads[status][0][id]`, `[status_id]`, `[pipeline_id]`,
  `[old_status_id]`, `[old_pipeline_id]` (several leads at once: index 0, 1, ...),
  `account[id]`, `account[subdomain]`; `leads[update][N][...]` and `leads[add]` alike.
- The generic hook (JSON): `delivery_id`, `timestamp`, `lead_id`, `status`, `amount`,
  `currency`, `reason`, signed as bot/deliveries/crm/payload.py signs the outbound one.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.deliveries.crm import payload
from dialogs.rules.sales import Said, amount_of, reason_of

MAX_BODY = 64 * 1024  # bytes: a status notification is a few hundred
MAX_AGE = 300  # seconds a signed event may be old (or ahead: clocks drift)
FORM = "application/x-www-form-urlencoded"
BITRIX_EVENTS = {"ONCRMLEADUPDATE": "lead", "ONCRMDEALUPDATE": "deal"}
_ID = re.compile(r"^[0-9]{1,20}$")
_DELIVERY = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STATUS = re.compile(r"^[A-Za-z0-9_:.-]{1,32}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_AMO_LEAD = re.compile(r"^leads\[(status|update|add)\]\[(\d{1,3})\]\[id\]$")


class Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status, self.why = status, why


async def body(request: web.Request, content_type: str) -> bytes:
    """The raw body: of `content_type`, at most MAX_BODY bytes, UTF-8 without NUL."""
    if request.content_type != content_type:
        raise Refused(415, "content type")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, "too large")
    chunks, size = [], 0
    while chunk := await request.content.read(65536):  # chunked: no length said before
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, "too large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "not utf-8") from None
    if "\x00" in text or "%00" in text:
        raise Refused(400, "nul")
    return raw


def form(raw: bytes) -> dict[str, str]:
    """A form's fields (the first of a repeated one); malformed pairs refuse it."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                          max_num_fields=200)
    except ValueError:
        raise Refused(400, "not a form") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise Refused(400, "nul")
        fields.setdefault(key, value)
    return fields


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Notice:
    """A CRM's record to read back: `lead:123`, `deal:45`."""

    entity: str
    id: str

    @property
    def key(self) -> str:
        return f"{self.entity}:{self.id}"


def bitrix24(fields: dict[str, str], token: str) -> Notice:
    """Bitrix24's notification, its application token checked first (401 without one,
    403 for another), in constant time."""
    given = fields.get("auth[application_token]")
    if not given:
        raise Refused(401, "no token")
    if not same(given, token):
        raise Refused(403, "wrong token")
    entity = BITRIX_EVENTS.get(fields.get("event", "").upper())
    record = fields.get("data[FIELDS][ID]", "")
    if entity is None or not _ID.match(record):
        raise Refused(400, "not a lead or deal update")
    return Notice(entity, record)


def amocrm(fields: dict[str, str]) -> list[Notice]:
    """amoCRM's notification: every lead it names (status changes, updates)."""
    found = sorted({value for key, value in fields.items()
                    if _AMO_LEAD.match(key) and _ID.match(value)})
    if not found:
        raise Refused(400, "no lead")
    return [Notice("lead", record) for record in found[:50]]


@dataclass(frozen=True)
class Event:
    delivery: str
    lead_id: int
    said: Said


def event(raw: bytes, headers: Any, secret: str, now: float | None = None) -> Event:
    """The generic hook's event: signature (401), age (401), fields (400), in that order;
    the delivery id and timestamp in the signed body must be those of the headers."""
    expected = payload.signature(secret, raw)
    if not same(headers.get(payload.SIGNATURE_HEADER, ""), expected):
        raise Refused(401, "signature")
    stamp, delivery = headers.get(payload.TIMESTAMP_HEADER, ""), headers.get(
        payload.DELIVERY_HEADER, "")
    now = time.time() if now is None else now
    if not stamp.isdigit() or abs(now - int(stamp)) > MAX_AGE:
        raise Refused(401, "timestamp")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, "not json") from None
    if not isinstance(data, dict):
        raise Refused(400, "not an object")
    if not _DELIVERY.match(delivery) or data.get("delivery_id") != delivery \
            or str(data.get("timestamp")) != stamp:
        raise Refused(400, "delivery_id and timestamp must be in the body as in the headers")
    lead_id, status = data.get("lead_id"), data.get("status")
    if isinstance(lead_id, bool) or not isinstance(lead_id, int) or not 0 < lead_id < 2**62:
        raise Refused(400, "lead_id")
    if not isinstance(status, str) or not _STATUS.match(status):
        raise Refused(400, "status")
    currency = data.get("currency")
    if currency is not None and (not isinstance(currency, str) or not _CURRENCY.match(
            currency)):
        raise Refused(400, "currency")
    try:
        amount = amount_of(data.get("amount"))
    except ValueError:
        raise Refused(400, "amount") from None
    known = status if status in ("contacted", "meeting", "won", "lost", "nurture") else None
    return Event(delivery, lead_id, Said(known, status, amount, currency,
                                         reason_of(data.get("reason"))))
