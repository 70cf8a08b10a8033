"""Yandex Metrica's offline conversions (docs/conversions.md, "Yandex Metrica"), with an
OAuth token (LEADBOT_METRICA_TOKEN: `Authorization: OAuth ...`).

- `POST /management/v1/counter/{counter}/offline_conversions/upload?comment=leadbot`: a
  multipart/form-data body, its part `file` a UTF-8 CSV. Its first line names the columns:
  the visitor's id (`Yclid`: the Yandex Direct click, or `ClientId`: Metrica's own visitor
  id, the `_ym_uid` cookie), `Target` (the goal's identifier), `DateTime` (the moment, Unix
  seconds, UTC), and `Price`, `Currency` when a row of the file has a value (a `won` with
  the sale's amount). The answer: `{"uploading": {"id": ..., "status": "UPLOADED", ...}}`.
- `GET .../offline_conversions/uploading/{id}`: the upload read back (`check`). Its status
  goes PREPARED, UPLOADED, EXPORTED, MATCHED (Metrica is still at work: up to two hours),
  then PROCESSED (accepted) or LINKAGE_FAILURE (not one visitor id matched a visit).
- `GET .../goals` and `GET .../offline_conversions/uploadings`: the counter's goals (each
  of the file's must be a JavaScript event goal, condition "matches") and its uploads,
  read by `probe` (Metrica has no test mode: an upload would count).

One id column per file: a row goes by its yclid if the click has one, else by its ClientId
(the click's `ym_uid`); neither -> skipped `no_click`. A batch holding both kinds goes in two
uploads, yclid first, and its remote id names both (`111+222`): an upload's answer says
which one kind of id it was (`client_id_type`), so a file never mixes them.

What makes a repeat safe (`repeat = "dedupe"`): a row is always written the same (the same
id, goal and DateTime: the row's `created_at`, never the time of sending), and Metrica
counts a conversion of one visitor, goal and time once. A batch whose upload may have
arrived (a timeout, a crash before the answer was stored) is simply uploaded again.

Nothing of an answer is kept but its HTTP status and a known `error_type` (http.py CODES):
Metrica's `message` may quote the values of the file.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bot.deliveries.ads.conversion import AdLimits, click, moment_time, value
from bot.deliveries.http import Client, Throttle, remote_id, unreadable
from bot.deliveries.port import Checked, Delivered, Job, Permanent, Skip
from dialogs.rules.conversions import Metrica

# the click ids as bot/web/go.py keeps them; anything else (a row from before, edited by
# hand) is not an id Metrica could match, and never reaches the file
YCLID = re.compile(r"^[A-Za-z0-9._-]{1,200}\Z")
YM_UID = re.compile(r"^[0-9]{1,64}\Z")
KINDS = (("yclid", "Yclid", YCLID), ("ym_uid", "ClientId", YM_UID))  # in order of trust
CURRENCY = re.compile(r"^[A-Z]{3}\Z")  # ISO 4217, as Metrica takes it
ACCEPTED, FAILED = "PROCESSED", "LINKAGE_FAILURE"
COMMENT = "leadbot"  # the uploads' comment: the operator finds them in Metrica by it


@dataclass(frozen=True)
class Row:
    """One conversion as a line of the file."""

    column: str  # Yclid or ClientId
    visitor: str
    target: str
    at: int  # Unix seconds
    price: tuple[Decimal, str] | None


def row(job: Job, goals: dict[str, str]) -> Row | None:
    """The job's line, or None when its lead came with no click id Metrica takes."""
    found = visitor(click(job.facts))
    if found is None:
        return None
    target = str(job.data.get("goal") or goals.get(job.event) or "")
    if not target:  # a row for a moment no longer in the file: nothing to name it by
        raise Permanent("no_goal")
    at = moment_time(job.created_at, job.now)
    price = value(job.facts, job.event)
    if price is not None and not CURRENCY.fullmatch(price[1]):
        price = None  # Metrica would refuse the whole file: the conversion goes, unpriced
    return Row(*found, target, int(at.timestamp()), price)


def visitor(found: dict[str, Any]) -> tuple[str, str] | None:
    """(id column, id) of the click: its yclid if it has one Metrica could match, else its
    ym_uid as a ClientId; None when neither is there."""
    for key, column, pattern in KINDS:
        ident = found.get(key)
        if isinstance(ident, str) and pattern.fullmatch(ident):
            return column, ident
    return None


def csv_file(rows: Sequence[Row]) -> bytes:
    """The CSV Metrica reads: a header, then a line per row (one id column for all)."""
    assert len({r.column for r in rows}) == 1, "one id column per file"
    priced = any(r.price is not None for r in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([rows[0].column, "Target", "DateTime"]
                    + (["Price", "Currency"] if priced else []))
    for r in rows:
        line = [r.visitor, r.target, str(r.at)]
        if priced:
            line += [f"{r.price[0]:.2f}", r.price[1]] if r.price else ["", ""]
        writer.writerow(line)
    return out.getvalue().encode("utf-8")


def multipart(raw: bytes) -> tuple[bytes, str]:
    """The form with the one part `file`: (body, its Content-Type)."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"conversions.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode() \
        + raw + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class MetricaTarget:
    name = "metrica"
    batch = 500
    # Metrica links a conversion to a visit of at most 21 days before: an older moment's
    # click is older still
    max_age: timedelta | None = timedelta(days=21)
    repeat = "dedupe"

    def __init__(self, config: Metrica, token: str, limits: AdLimits) -> None:
        self.config, self.token = config, token
        self.events = frozenset(config.goals)
        self.goals = dict(config.goals)
        self.window = 300.0  # seconds rows wait to go together
        self.base = f"{config.api_url.rstrip('/')}/management/v1/counter/{config.counter}"
        self.client = Client(Throttle(limits.metrica_rate, limits.metrica_burst),
                             limits.timeout)

    async def request(self, method: str, path: str, *, body: bytes | None = None,
                      content_type: str | None = None,
                      params: dict[str, str] | None = None) -> Any:
        headers = {"Authorization": f"OAuth {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        _, answer = await self.client.call(method, f"{self.base}{path}", body=body,
                                           params=params, headers=headers, pause=1.0)
        return answer

    async def deliver_many(self, jobs: Sequence[Job]) -> Delivered:
        """The jobs in one upload (two when both kinds of id are among them). A job with no
        click id Metrica takes is left out and named in `skipped` (`no_click`); Skip when
        none is left to send."""
        rows = [(job, row(job, self.goals)) for job in jobs]
        missing = {job.key: "no_click" for job, found in rows if found is None}
        if len(missing) == len(rows):
            raise Skip("no_click")
        uploads = []
        for _, column, _ in KINDS:
            kind = [found for _, found in rows if found is not None and found.column == column]
            if kind:
                uploads.append(await self.upload(kind))
        ids = "+".join(upload for upload, _ in uploads)
        return Delivered(remote_id=ids, skipped=missing, answer="; ".join(
            f"upload {upload}: {status}" for upload, status in uploads))

    async def upload(self, rows: Sequence[Row]) -> tuple[str, str]:
        body, content_type = multipart(csv_file(rows))
        answer = await self.request("POST", "/offline_conversions/upload", body=body,
                                    content_type=content_type, params={"comment": COMMENT})
        uploading = _uploading(answer)
        return remote_id(uploading.get("id")), _status(uploading)

    async def deliver(self, job: Job) -> Delivered:
        return await self.deliver_many([job])

    async def check(self, remote_id: str) -> Checked:
        """What the upload(s) became: accepted once Metrica processed them, failed when
        not one visitor id matched, retry when Metrica no longer knows an upload (it is
        sent again: a repeat counts once), None while Metrica is still at work."""
        found = []
        for upload in remote_id.split("+"):
            if not upload.isascii() or not upload.isdigit():
                return Checked("retry")  # not an id of ours: upload again
            try:
                answer = await self.request("GET", f"/offline_conversions/uploading/{upload}")
            except Permanent as refusal:
                if refusal.reason.startswith("HTTP 404"):
                    found.append("retry")
                    continue
                raise
            status = _status(_uploading(answer))
            found.append("accepted" if status == ACCEPTED
                         else "failed" if status == FAILED else "")
        if "" in found:
            return Checked(None)  # still processing (or a status not documented yet)
        if "retry" in found:
            return Checked("retry")
        if all(status == "failed" for status in found):
            return Checked("failed", "linkage_failure")
        # PROCESSED, or one kind matched and the other not: Metrica took them all, as it
        # takes a processed upload some of whose ids found no visit
        return Checked("accepted")

    async def probe(self) -> str:
        """The counter's goals and uploads, read (never an upload: Metrica has no test
        mode): the token, the counter, the access to it, and each goal of the file there
        as a JavaScript event goal (Permanent naming those that are not: their uploads
        would count for no goal)."""
        missing = sorted(set(self.goals.values()) - await self.event_goals())
        if missing:
            raise Permanent(f"not JavaScript event goals of counter {self.config.counter}: "
                            f"{', '.join(missing)}")
        answer = await self.request("GET", "/offline_conversions/uploadings")
        uploads = answer.get("uploadings") if isinstance(answer, dict) else None
        if not isinstance(uploads, list):
            raise unreadable(200, "bad_answer")
        if not uploads:
            return (f"counter {self.config.counter}: reachable, no offline conversions "
                    f"uploaded yet")
        last = max((u for u in uploads if isinstance(u, dict)),
                   key=lambda u: u.get("id") if isinstance(u.get("id"), int) else -1,
                   default={})
        status = last.get("status") if isinstance(last.get("status"), str) else ""
        status = status if re.fullmatch(r"[A-Z_]{1,40}", status) else "unknown"
        return (f"counter {self.config.counter}: reachable, {len(uploads)} uploads, "
                f"the last {status}")

    async def event_goals(self) -> set[str]:
        """The identifiers of the counter's JavaScript event goals (type `action`, the
        condition `exact`: "matches", as offline conversions need)."""
        answer = await self.request("GET", "/goals")
        goals = answer.get("goals") if isinstance(answer, dict) else None
        if not isinstance(goals, list):
            raise unreadable(200, "bad_answer")
        return {condition["url"] for goal in goals
                if isinstance(goal, dict) and goal.get("type") == "action"
                for condition in goal.get("conditions") or []
                if isinstance(condition, dict) and condition.get("type") == "exact"
                and isinstance(condition.get("url"), str)}

    async def close(self) -> None:
        await self.client.close()


def _uploading(answer: Any) -> dict[str, Any]:
    uploading = answer.get("uploading") if isinstance(answer, dict) else None
    if not isinstance(uploading, dict):
        raise unreadable(200, "bad_answer")
    return uploading


def _status(uploading: dict[str, Any]) -> str:
    """The upload's status: upper-case letters and `_` (anything else is not an answer
    the bot understands, and never kept)."""
    status = uploading.get("status")
    if not isinstance(status, str) or not re.fullmatch(r"[A-Z_]{1,40}", status):
        raise unreadable(200, "bad_answer")
    return status
