"""Fake CRMs served over HTTP on 127.0.0.1 for the real clients of bot/deliveries/: Bitrix24 (an
incoming webhook's REST methods), amoCRM (API v4 with a bearer token) and a webhook
receiver that verifies the signature.

Each enforces its CRM's rate limit as a token bucket on arrival (Bitrix24: a bucket of 50
draining 2 per second, then 503 QUERY_LIMIT_EXCEEDED; amoCRM: 7 per second, then 429),
with one second's worth of extra burst: requests reach a server a little out of step with
the moment the client took its token (a loaded 2-core machine stalls a loop for a moment),
and that jitter is not a violation; a client with no limiter, which sends everything at
once, still trips it. Each can be told to answer a status, or to hang (a timeout, seen from
the client), before or after doing what was asked (`after=True`: the ambiguous failure),
and to answer what a CRM should not: a redirect (`redirect`), raw bytes of any kind (a
maintenance page, bytes that are not UTF-8: `answer`), JSON of another shape (`fail` with
a list). `Sink` is a server that only counts what reaches it (where a redirect points).

Sales back: the fake Bitrix24 and amoCRM also SEND their webhooks as the real ones do
(`notify`: form-urlencoded, their own field names) to a URL of leadbot's, and answer the
read-backs (Bitrix24's `crm.lead.get` / `crm.deal.get`, amoCRM's `GET /api/v4/leads/{id}`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.outbox.limits import Bucket


@dataclass
class Fault:
    status: int
    body: Any  # JSON, or bytes sent as they are
    times: int = 1
    hang: float = 0.0  # seconds before answering (longer than the client waits: a timeout)
    after: bool = False  # do what was asked first, then fail: did it arrive or not?
    path: str | None = None  # only requests whose path contains this
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    cut: bool = False  # no answer at all: the connection is closed (after `after`'s work)

    def response(self) -> web.Response:
        if isinstance(self.body, bytes):
            return web.Response(body=self.body, status=self.status, headers=self.headers,
                                content_type=self.content_type)
        return web.json_response(self.body, status=self.status, headers=self.headers)


@dataclass
class FakeCrm:
    rate: float = 1.0
    burst: float = 1.0
    refusal: tuple[int, dict[str, Any]] = (429, {})
    requests: list[tuple[str, float, int]] = field(default_factory=list)
    refused: int = 0  # requests past the rate limit
    faults: list[Fault] = field(default_factory=list)
    arrived: dict[int, float] = field(default_factory=dict)  # leadbot's lead id -> when
    #                                                          its record was first made

    def __post_init__(self) -> None:
        self._bucket = Bucket(self.rate, self.burst + self.rate)  # + 1 s of jitter
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.released = asyncio.Event()  # set at stop: hanging answers end

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        self.released.set()
        if self.runner is not None:
            await self.runner.cleanup()

    def fail(self, status: int, body: Any = None, *, times: int = 1,
             hang: float = 0.0, after: bool = False, path: str | None = None) -> None:
        self.faults.append(Fault(status, body if body is not None else {}, times, hang,
                                 after, path))

    def answer(self, status: int, raw: bytes, *, content_type: str = "text/html",
               times: int = 1, path: str | None = None) -> None:
        """Raw bytes instead of what was asked (nothing done): a maintenance page..."""
        self.faults.append(Fault(status, raw, times, path=path, content_type=content_type))

    def cut(self, *, times: int = 1, after: bool = True, path: str | None = None) -> None:
        """The connection closed with no answer (by default after doing what was asked:
        the client cannot tell whether it arrived)."""
        self.faults.append(Fault(0, b"", times, after=after, path=path, cut=True))

    def redirect(self, status: int, location: str, *, times: int = 1,
                 path: str | None = None) -> None:
        self.faults.append(Fault(status, b"", times, path=path,
                                 headers={"Location": location}))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._bucket.wait(now) > 0:
            self.refused += 1
            self.requests.append((request.path, now, self.refusal[0]))
            return web.json_response(self.refusal[1], status=self.refusal[0])
        self._bucket.take(now)
        fault = next((f for f in self.faults if f.times > 0
                      and (f.path is None or f.path in request.path)), None)
        if fault is not None:
            fault.times -= 1
            if fault.after:
                await handler(request)
            if fault.hang:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.released.wait(), fault.hang)
            self.requests.append((request.path, now, fault.status))
            if fault.cut:
                assert request.transport is not None
                request.transport.close()
            return fault.response()
        response = await handler(request)
        self.requests.append((request.path, now, response.status))
        return response


@dataclass
class FakeBitrix24(FakeCrm):
    rate: float = 2.0
    burst: float = 50.0
    refusal: tuple[int, dict[str, Any]] = (503, {
        "error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
    key: str = "1/s3cr3tkey"
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    app_token: str = "b24-application-token-0123456789ab"  # of its outbound webhook
    domain: str = "leadbot-test.bitrix24.ru"

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(1)
        self._values = itertools.count(100)

    def deal(self, lead_id: int, **fields: Any) -> int:
        """A deal made from a lead (converted, as a manager does in Bitrix24)."""
        deal_id = 9000 + len(self.deals) + 1
        self.deals[deal_id] = {"ID": str(deal_id), "LEAD_ID": str(lead_id),
                               "STAGE_ID": "NEW", "STAGE_SEMANTIC_ID": "P",
                               "OPPORTUNITY": "0.00", "CURRENCY_ID": "RUB", **fields}
        return deal_id

    async def notify(self, url: str, event: str, record_id: int | str,
                     token: str | None = None, **extra: str) -> tuple[int, str]:
        """Bitrix24's outbound webhook: a form POST of the event, the record's id, the
        time and the portal's auth (with the application token); (status, body)."""
        form = {"event": event, "event_handler_id": "7",
                "data[FIELDS][ID]": str(record_id), "ts": str(int(time.time())),
                "auth[domain]": self.domain,
                "auth[client_endpoint]": f"https://{self.domain}/rest/",
                "auth[server_endpoint]": "https://oauth.bitrix.info/rest/",
                "auth[member_id]": "a223c6b3710f85df22e9377d6c4f7553",
                "auth[application_token]": self.app_token if token is None else token,
                **extra}
        if token == "":
            del form["auth[application_token]"]
        return await post(url, data=form)

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/rest/{self.key}/"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/rest/{user}/{key}/{method}", self._method)

    def by_origin(self, lead_id: int) -> list[dict[str, Any]]:
        return [f for f in self.leads.values() if f.get("ORIGINATOR_ID") == "leadbot"
                and f.get("ORIGIN_ID") == str(lead_id)]

    def _multi(self, fields: dict[str, Any], current: dict[str, Any]) -> None:
        for name in ("PHONE", "EMAIL"):
            for value in fields.pop(name, None) or []:
                values = current.setdefault(name, [])
                if value.get("DELETE") == "Y":
                    current[name] = [v for v in values if v["ID"] != value.get("ID")]
                elif "ID" not in value:
                    values.append({"ID": next(self._values), "VALUE": value["VALUE"],
                                   "VALUE_TYPE": value.get("VALUE_TYPE", "WORK")})

    async def _method(self, request: web.Request) -> web.Response:
        if f"{request.match_info['user']}/{request.match_info['key']}" != self.key:
            return web.json_response({"error": "INVALID_CREDENTIALS"}, status=401)
        method = request.match_info["method"].removesuffix(".json")
        params = await request.json()
        if method == "crm.lead.add":
            fields = dict(params["fields"])
            lead_id = next(self._ids)
            current: dict[str, Any] = {"ID": str(lead_id)}
            self._multi(fields, current)
            current.update(fields)
            self.leads[lead_id] = current
            self.arrived.setdefault(int(fields.get("ORIGIN_ID") or 0),
                                    asyncio.get_running_loop().time())
            return web.json_response({"result": lead_id})
        if method == "crm.lead.list":
            wanted = params.get("filter") or {}
            found = [{"ID": f["ID"]} for f in self.leads.values()
                     if all(str(f.get(k)) == str(v) for k, v in wanted.items())]
            return web.json_response({"result": found, "total": len(found)})
        if method == "crm.deal.list":
            wanted = params.get("filter") or {}
            found = [{"ID": f["ID"]} for f in self.deals.values()
                     if all(str(f.get(k)) == str(v) for k, v in wanted.items())]
            return web.json_response({"result": found, "total": len(found)})
        if method == "crm.deal.get":
            deal = self.deals.get(int(params.get("id", 0)))
            if deal is None:
                return web.json_response({"error": "", "error_description": "Not found"},
                                         status=400)
            return web.json_response({"result": deal})
        lead = self.leads.get(int(params.get("id", 0)))
        if lead is None:
            return web.json_response({"error": "", "error_description": "Not found"},
                                     status=400)
        if method == "crm.lead.get":
            return web.json_response({"result": lead})
        if method == "crm.lead.update":
            fields = dict(params["fields"])
            self._multi(fields, lead)
            lead.update(fields)
            return web.json_response({"result": True})
        return web.json_response({"error": "ERROR_METHOD_NOT_FOUND"}, status=404)


@dataclass
class FakeAmoCrm(FakeCrm):
    rate: float = 7.0
    burst: float = 7.0
    refusal: tuple[int, dict[str, Any]] = (429, {"title": "Too Many Requests",
                                                 "status": 429})
    token: str = "amo-long-lived-token"
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(5001)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/v4/leads/complex", self._complex)
        app.router.add_get("/api/v4/leads", self._list)
        app.router.add_get("/api/v4/leads/{id}", self._get_lead)
        app.router.add_patch("/api/v4/leads/{id}", self._patch_lead)
        app.router.add_patch("/api/v4/contacts/{id}", self._patch_contact)

    def by_marker(self, lead_id: int) -> list[dict[str, Any]]:
        return [lead for lead in self.leads.values()
                if f"[leadbot-{lead_id}]" in lead.get("name", "")]

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _complex(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        answer = []
        for item in await request.json():
            item = dict(item)
            embedded = dict(item.pop("_embedded", {}))
            lead_id, contact_id = next(self._ids), None
            for contact in embedded.pop("contacts", []):
                contact_id = next(self._ids)
                self.contacts[contact_id] = {"id": contact_id, **contact}
            self.leads[lead_id] = {"id": lead_id, **item, "tags": embedded.get("tags", []),
                                   "contacts": [contact_id] if contact_id else []}
            mark = str(item.get("name", "")).rpartition("[leadbot-")[2].rstrip("]")
            if mark.isdigit():
                self.arrived.setdefault(int(mark), asyncio.get_running_loop().time())
            answer.append({"id": lead_id, "contact_id": contact_id, "company_id": None,
                           "request_id": [item.get("request_id")], "merged": False})
        return web.json_response(answer)

    async def _list(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        query = request.query.get("query", "")
        found = [{"id": lead["id"], "name": lead["name"],
                  "_embedded": {"contacts": [{"id": c} for c in lead["contacts"]]}}
                 for lead in self.leads.values() if query and query in lead.get("name", "")]
        if not found:
            return web.Response(status=204)
        return web.json_response({"_embedded": {"leads": found}})

    async def _get_lead(self, request: web.Request) -> web.Response:
        lead = self.leads.get(int(request.match_info["id"]))
        if lead is None or not self._authorised(request):
            return web.json_response({"title": "Not Found", "status": 404}, status=404)
        shown = {k: v for k, v in lead.items() if k not in ("contacts", "tags")}
        shown.setdefault("price", 0)
        shown.setdefault("status_id", 61000)
        shown.setdefault("pipeline_id", 7000)
        return web.json_response(shown)

    async def notify(self, url: str, lead_id: int, old_status_id: int = 61000,
                     kind: str = "status") -> tuple[int, str]:
        """amoCRM's webhook on a lead's status change: a form POST of the lead's id, new
        and old status and pipeline, and the account; (status, body)."""
        lead = self.leads[lead_id]
        prefix = f"leads[{kind}][0]"
        form = {f"{prefix}[id]": str(lead_id),
                f"{prefix}[status_id]": str(lead.get("status_id", 61000)),
                f"{prefix}[pipeline_id]": str(lead.get("pipeline_id", 7000)),
                f"{prefix}[old_status_id]": str(old_status_id),
                f"{prefix}[old_pipeline_id]": str(lead.get("pipeline_id", 7000)),
                "account[id]": "29000000", "account[subdomain]": "leadbottest",
                "account[_links][self]": "https://leadbottest.amocrm.ru"}
        return await post(url, data=form)

    async def _patch_lead(self, request: web.Request) -> web.Response:
        lead = self.leads.get(int(request.match_info["id"]))
        if lead is None or not self._authorised(request):
            return web.json_response({"title": "Not Found", "status": 404}, status=404)
        item = dict(await request.json())
        embedded = item.pop("_embedded", {})
        lead.update(item)
        if "tags" in embedded:
            lead["tags"] = embedded["tags"]
        return web.json_response({"id": lead["id"]})

    async def _patch_contact(self, request: web.Request) -> web.Response:
        contact = self.contacts.get(int(request.match_info["id"]))
        if contact is None or not self._authorised(request):
            return web.json_response({"title": "Not Found", "status": 404}, status=404)
        item = await request.json()
        for field_value in item.pop("custom_fields_values", []) or []:
            kept = [f for f in contact.get("custom_fields_values", [])
                    if f["field_code"] != field_value["field_code"]]
            if field_value.get("values"):
                kept.append(field_value)
            contact["custom_fields_values"] = kept
        contact.update(item)
        return web.json_response({"id": contact["id"]})


@dataclass
class FakeWebhook(FakeCrm):
    rate: float = 1000.0
    burst: float = 1000.0
    secret: str = "webhook-secret-for-tests"
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/hooks/leads", self._receive)

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hooks/leads"

    def deliveries(self) -> dict[str, dict[str, Any]]:
        """By delivery id: what a receiver that drops repeats keeps."""
        return {item["delivery_id"]: item for item in self.received}

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(self.secret.encode(), raw,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Leadbot-Signature", ""), expected):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        body = json.loads(raw)
        assert request.headers["X-Leadbot-Delivery"] == body["delivery_id"]
        assert request.headers["X-Leadbot-Event"] == body["event"]
        self.received.append(body)
        self.arrived.setdefault(body["lead"]["id"], asyncio.get_running_loop().time())
        return web.json_response({"ok": True})


@dataclass
class Sink(FakeCrm):
    """Any host a redirect may name: answers 200 to anything, and counts what reached it."""

    rate: float = 1000.0
    burst: float = 1000.0
    bodies: list[bytes] = field(default_factory=list)

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._any)

    async def _any(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        return web.Response(text="<html>welcome</html>", content_type="text/html")


async def post(url: str, *, data: Any = None, body: Any = None,
               headers: dict[str, str] | None = None) -> tuple[int, str]:
    """One POST to leadbot's web server, as a CRM makes it: (status, body)."""
    async with aiohttp.ClientSession() as session, session.post(
            url, data=data if body is None else body, headers=headers,
            allow_redirects=False) as response:
        return response.status, await response.text()
