"""A fake Yandex Metrica (its management API's offline conversions) served over HTTP on
127.0.0.1 for bot/deliveries/ads/metrica.py.

It checks what the real one requires and answers as it does: `Authorization: OAuth
<token>` (401 `unauthorized` without it, 403 `invalid_token` with another), the counter
(403 `access_denied` for another), a multipart/form-data body with the part `file`, a CSV
in UTF-8 whose first line names the columns: exactly one visitor id column (`Yclid`,
`ClientId` or `UserId`), `Target`, `DateTime` (Unix seconds, not in the future), and
optionally `Price` (a dot as the decimal separator) and `Currency` (ISO 4217, three
letters). A file that breaks a rule is refused with 400 `invalid_parameter` and a message
quoting the value at fault, as the real one does: what leadbot keeps of it is under test.

An upload answers `{"uploading": {"id", "status": "UPLOADED", ...}}`; `settle()` moves the
uploads on as Metrica does in up to two hours: PROCESSED, or LINKAGE_FAILURE when not one
id of the file is a visitor it knows (`visitors`; None: every id is). Repeats count once:
`conversions` holds each (id column, id, goal, DateTime) once, whatever the uploads.

`GET .../goals` lists the goals made with `goal()` (a JavaScript event goal unless
told otherwise), as Metrica's interface makes them.

Faults, a rate limit (429 `quota_requests_by_uid` past it) and raw answers are FakeCrm's
(tests/fakes/crm.py): `fail`, `answer`, `redirect`, with `hang` for a timeout.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.crm import FakeCrm

IDS = ("Yclid", "ClientId", "UserId")
COLUMNS = frozenset(IDS) | {"PurchaseId", "Target", "DateTime", "Price", "Currency"}
ID_TYPES = {"Yclid": "YCLID", "ClientId": "CLIENT_ID", "UserId": "USER_ID"}
PRICE = re.compile(r"^[0-9]+(\.[0-9]+)?\Z")
CURRENCY = re.compile(r"^[A-Z]{3}\Z")


def error(status: int, kind: str, message: str) -> web.Response:
    """Metrica's error answer (its API's error format)."""
    return web.json_response({"errors": [{"error_type": kind, "message": message}],
                              "code": status, "message": message}, status=status)


@dataclass
class FakeMetrica(FakeCrm):
    rate: float = 5.0
    burst: float = 5.0
    refusal: tuple[int, dict[str, Any]] = (429, {
        "errors": [{"error_type": "quota_requests_by_uid",
                    "message": "Quota exceeded for quota_requests_by_uid"}],
        "code": 429, "message": "Quota exceeded for quota_requests_by_uid"})
    token: str = "metrica-oauth-token"
    counter: int = 12345678
    visitors: set[str] | None = None  # the ids Metrica has seen visit (None: all)
    uploads: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: list[bytes] = field(default_factory=list)  # every file as it arrived
    # (id column, id, goal, DateTime) -> (Price, Currency): what Metrica counts
    conversions: dict[tuple[str, str, str, int], tuple[str, str]] = field(
        default_factory=dict)
    reads: int = 0  # the uploads' list read (probe)
    goals: list[dict[str, Any]] = field(default_factory=list)  # as GET .../goals shows them

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(700001)

    def routes(self, app: web.Application) -> None:
        prefix = "/management/v1/counter/{counter}/offline_conversions"
        app.router.add_post(f"{prefix}/upload", self._upload)
        app.router.add_get(f"{prefix}/uploading/{{id}}", self._uploading)
        app.router.add_get(f"{prefix}/uploadings", self._uploadings)
        app.router.add_get("/management/v1/counter/{counter}/goals", self._goals)

    def goal(self, identifier: str, kind: str = "action", condition: str = "exact") -> None:
        """A goal made in Metrica's interface: a JavaScript event goal by default."""
        self.goals.append({"id": 3000 + len(self.goals), "name": identifier, "type": kind,
                           "is_retargeting": 0, "goal_source": "user", "is_favorite": 0,
                           "prev_goal_id": 0, "status": "Active",
                           "conditions": [{"type": condition, "url": identifier}]})

    @property
    def api_url(self) -> str:
        return self.url

    def settle(self, status: str | None = None) -> None:
        """Metrica done with the uploads: `status` for each, or PROCESSED where an id of
        it is a visitor, LINKAGE_FAILURE where none is."""
        for upload in self.uploads.values():
            if upload["status"] != "UPLOADED":
                continue
            linked = self.visitors is None or any(
                visitor in self.visitors for visitor in upload["visitors"])
            upload["status"] = status or ("PROCESSED" if linked else "LINKAGE_FAILURE")

    def _refused(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("OAuth "):
            return error(401, "unauthorized", "Unauthorized user")
        if auth != f"OAuth {self.token}":
            return error(403, "invalid_token", f"Invalid oauth_token {auth[6:]}")
        if request.match_info["counter"] != str(self.counter):
            return error(403, "access_denied", "Access is denied")
        return None

    async def _upload(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        if not request.content_type.startswith("multipart/form-data"):
            return error(400, "invalid_parameter", "Expected multipart/form-data")
        raw = None
        async for part in await request.multipart():
            if getattr(part, "name", None) == "file":
                raw = await part.read()  # type: ignore[union-attr]
        if raw is None:
            return error(400, "missing_parameter", "Required part 'file' is not present")
        self.files.append(bytes(raw))
        try:
            column, rows = parse(bytes(raw), time.time())
        except ValueError as bad:
            return error(400, "invalid_parameter", str(bad))
        upload_id = next(self._ids)
        for row in rows:
            key = (column, row[column], row["Target"], int(row["DateTime"]))
            self.conversions.setdefault(key, (row.get("Price", ""), row.get("Currency", "")))
        upload = {"id": upload_id, "create_time": "2026-01-01T00:00:00Z",
                  "source_quantity": len(rows), "line_quantity": len(rows),
                  "comment": request.query.get("comment", ""), "type": "BASIC",
                  "client_id_type": ID_TYPES[column], "status": "UPLOADED"}
        self.uploads[upload_id] = {**upload, "visitors": [row[column] for row in rows]}
        return web.json_response({"uploading": upload})

    def _shown(self, upload_id: int) -> dict[str, Any]:
        return {k: v for k, v in self.uploads[upload_id].items() if k != "visitors"}

    async def _uploading(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        upload_id = int(request.match_info["id"]) if request.match_info["id"].isdigit() else 0
        if upload_id not in self.uploads:
            return error(404, "not_found", f"Uploading {request.match_info['id']} not found")
        return web.json_response({"uploading": self._shown(upload_id)})

    async def _uploadings(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        self.reads += 1
        return web.json_response({"uploadings": [self._shown(i) for i in self.uploads]})

    async def _goals(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        return web.json_response({"goals": self.goals})


def parse(raw: bytes, now: float) -> tuple[str, list[dict[str, str]]]:
    """The file's id column and rows, as Metrica reads them; ValueError (quoting the value
    at fault, as Metrica's message does) for a file it refuses."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("File encoding must be UTF-8") from None
    lines = list(csv.reader(io.StringIO(text, newline="")))
    if not lines or not lines[0]:
        raise ValueError("Empty file")
    header = lines[0]
    if len(set(header)) != len(header) or not set(header) <= COLUMNS:
        raise ValueError(f"Unknown or repeated column in header {','.join(header)}")
    ids = [c for c in header if c in IDS]
    if len(ids) != 1:
        raise ValueError(f"Exactly one id column is expected, got {','.join(ids) or 'none'}")
    if "Target" not in header or "DateTime" not in header:
        raise ValueError("Required columns Target and DateTime")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        if len(line) != len(header):
            raise ValueError(f"Line {number}: {len(line)} fields, expected {len(header)}: "
                             f"{','.join(line)}")
        row = dict(zip(header, line, strict=True))
        if not row[ids[0]]:
            raise ValueError(f"Line {number}: empty {ids[0]}")
        if not row["Target"]:
            raise ValueError(f"Line {number}: empty Target")
        if not row["DateTime"].isdigit():
            raise ValueError(f"Line {number}: invalid DateTime {row['DateTime']}")
        if int(row["DateTime"]) > now:
            raise ValueError(f"Line {number}: DateTime {row['DateTime']} is in the future")
        if row.get("Price") and not PRICE.fullmatch(row["Price"]):
            raise ValueError(f"Line {number}: invalid Price {row['Price']}")
        if row.get("Currency") and not CURRENCY.fullmatch(row["Currency"]):
            raise ValueError(f"Line {number}: invalid Currency {row['Currency']}")
        rows.append(row)
    if not rows:
        raise ValueError("No conversions in the file")
    return ids[0], rows
