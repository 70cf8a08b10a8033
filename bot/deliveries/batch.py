"""The path of a batch target (port.Batched with `batch` > 1: Metrica's CSV upload), part of
the deliveries' worker (worker.py; `Batches` is its base class, working in units of work of
the worker's sessions).

Its due rows go together, up to `batch` of them, in one `deliver_many`; the platform's id of
the upload is kept in each row (`data["upload"]`) and the row is `sent`, its `not_before`
the time of the upload's first check. Later passes read the upload back (`check`):
`accepted`; `failed` with the platform's reason; `retry`: the rows are pending again, for a
new upload after the back-off; None (still processing): checked again when the upload has
waited as long again (`checks`: between its `first` and `cap`). An upload not confirmed
within `check_for` is no longer read back: its rows stay `sent`.

Several processes may run the worker on one database. Each step first leases the rows it
works on (rows.take_batch, rows.take_checks: read FOR UPDATE SKIP LOCKED, then an UPDATE
that still requires them pending and due, or sent and due for a check), so a row goes in
one upload and an upload is read back by one process at a time; each outcome is written
only to rows still as the lease left them (their status and attempts: rows.finish).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.deliveries.http import unreadable
from bot.deliveries.outcomes import Backoff, Outcomes, job, user_of, verdict
from bot.deliveries.port import Checked, Delivered, Job, Permanent, Skip, Target, Transient
from bot.jobs.periodic import OUTAGES
from storage.deliveries import rows as crm
from storage.deliveries.facts import facts as lead_facts
from storage.schema.tables import CrmDelivery, Event
from storage.work.uow import UnitOfWork

log = logging.getLogger(__name__)


class Batches(Outcomes):
    lease: timedelta
    checks: Backoff
    check_for: timedelta

    async def _upload(self, target: Target) -> None:
        """One upload of the target's due rows (those not to be sent end here first)."""
        now = self.clock()
        ended: list[tuple[CrmDelivery, str, str]] = []
        held: list[CrmDelivery] = []
        jobs: list[Job] = []
        async with UnitOfWork(self.sessions) as uow:
            taken = await crm.take_batch(uow, target.name, now, self.lease, target.batch,
                                         clear=target.repeat == "never")
            for row in taken:
                facts = await lead_facts(uow, row.lead_id)
                why = await verdict(uow, target, row, facts, now)
                if why is not None:
                    if await self._settle(uow, row, *why, tried=False):
                        ended.append((row, *why))
                    continue
                assert facts is not None
                held.append(row)
                jobs.append(job(row, facts, None, self.clock()))
            await uow.commit()  # the tries are on record before they are made
        for row, status, reason in ended:
            self._count(row, status, reason)
        if not jobs:
            return
        try:
            result = await target.deliver_many(jobs)  # type: ignore[attr-defined]
        except Transient as error:
            await self._retry(held, error)
            return
        except Permanent as error:
            await self._failed(held, error.reason)
            return
        except Skip as error:  # none of them can go
            await self._skipped(held, error.reason)
            return
        except OUTAGES:
            raise
        except Exception as error:  # an answer of a shape no client foresaw: its words
            log.warning("deliveries: %s, an upload of %s rows: an answer the bot could not "
                        "read (%s)", target.name, len(held), type(error).__name__)
            await self._retry(held, unreadable(None, "bad_answer"))
            return
        await self._uploaded(target, held, result)

    async def _uploaded(self, target: Target, rows: Sequence[CrmDelivery],
                        result: Delivered) -> None:
        now = self.clock()
        status = "accepted" if result.accepted else "sent"
        counted: list[tuple[CrmDelivery, str, str]] = []
        async with UnitOfWork(self.sessions) as uow:
            for row in rows:
                values: dict[str, Any] = {"status": status, "sent_at": now, "error": None}
                reason = result.skipped.get(row.key, "")
                if reason:  # left out of the request by the target: never tried
                    values = {"status": "skipped", "error": reason[:120],
                              "attempts": row.attempts}
                elif status == "sent" and result.remote_id is not None:
                    values["data"] = {**(row.data or {}), "upload": result.remote_id}
                    values["not_before"] = now + timedelta(seconds=self.checks.first)
                if await crm.finish(uow, row.id or 0, status_was="pending",
                                    attempts_was=row.attempts + 1, **values):
                    counted.append((row, str(values["status"]), reason))
            await uow.commit()
        self.counters.uploads += 1
        for row, ended, reason in counted:
            self._count(row, ended, reason)
        log.info("deliveries: %s took an upload of %s rows (%s skipped)", target.name,
                 len(rows), len(result.skipped))

    async def _check(self, target: Target) -> None:
        """Reads back the uploads whose check is due (each once, for all its rows)."""
        now = self.clock()
        async with UnitOfWork(self.sessions) as uow:
            taken = await crm.take_checks(uow, target.name, now, now - self.check_for,
                                          self.lease, 10 * target.batch)
            await uow.commit()
        uploads: dict[str, list[CrmDelivery]] = {}
        for row in taken:
            uploads.setdefault(str((row.data or {})["upload"]), []).append(row)
        for upload, rows in uploads.items():
            try:
                checked: Checked | None = await target.check(upload)  # type: ignore[attr-defined]
            except OUTAGES:
                raise
            except (Transient, Permanent) as error:  # the rows were taken: read back later
                log.info("deliveries: %s, upload %s not read back (%s)", target.name,
                         upload, error.reason)
                checked = None
            except Exception as error:
                log.warning("deliveries: %s, upload %s: an answer the bot could not read "
                            "(%s)", target.name, upload, type(error).__name__)
                checked = None
            await self._checked(rows, checked)

    async def _checked(self, rows: Sequence[CrmDelivery], checked: Checked | None) -> None:
        now = self.clock()
        status = checked.status if checked is not None else None
        reason = (checked.reason if checked is not None else "")[:120]
        counted: list[CrmDelivery] = []
        async with UnitOfWork(self.sessions) as uow:
            for row in rows:
                values = self._after_check(row, status, reason, now)
                if not await crm.finish(uow, row.id or 0, status_was="sent",
                                        attempts_was=row.attempts, **values):
                    continue
                counted.append(row)
                if status == "failed":
                    uow.stage(Event, user_id=await user_of(uow, row.lead_id), kind="crm_failed",
                              data={"target": row.target, "lead": row.lead_id,
                                    "event": row.event, "reason": reason or "failed"},
                              created_at=now)
            await uow.commit()
        if status is not None:
            self.counters.checks += 1
        for row in counted:
            if status in ("accepted", "failed"):
                self._count(row, status, reason if status == "failed" else "")
            elif status == "retry":
                self.counters.retried += 1
        if status is not None and rows:
            log.log(logging.WARNING if status == "failed" else logging.INFO,
                    "deliveries: %s, upload %s of %s rows: %s %s", rows[0].target,
                    (rows[0].data or {}).get("upload"), len(rows), status, reason)

    def _after_check(self, row: CrmDelivery, status: str | None, reason: str,
                     now: datetime) -> dict[str, Any]:
        if status == "accepted":
            return {"status": "accepted", "error": None}
        if status == "failed":
            return {"status": "failed", "error": reason or "failed"}
        if status == "retry":  # a new upload, after the back-off
            data = {k: v for k, v in (row.data or {}).items() if k != "upload"}
            return {"status": "pending", "data": data, "error": reason or "retry",
                    "not_before": now + timedelta(seconds=self.backoff.delay(row.attempts))}
        waited = (now - (row.sent_at or now)).total_seconds()
        return {"not_before": now + timedelta(seconds=self.checks.after(waited))}
