"""amoCRM / Kommo, API v4 with a long-lived token (LEADBOT_AMOCRM_URL,
LEADBOT_AMOCRM_TOKEN: `Authorization: Bearer ...`).

- `POST /api/v4/leads/complex`: the lead and its contact in one call: name (nothing
  personal, with leadbot's marker `[leadbot-ID]`), price (the calculator's: never on a
  status update nor once won, `payload.estimate`), pipeline /
  status by temperature, the mapped answers as custom fields, the temperature and "leadbot"
  as tags, and the contact (name; PHONE and EMAIL by field_code, enum_code WORK). The
  answer gives the lead's and the contact's ids.
- The look-up, after a try that may have arrived: `GET /api/v4/leads?query=leadbot-ID&with=
  contacts`, keeping only a lead whose name carries exactly that marker (amoCRM answers 204
  when nothing matches).
- `PATCH /api/v4/leads/{id}`: later events (price, tags, status by leadbot's status); a won
  sale's amount is the price (amoCRM keeps whole units: rounded half up).
- Erasure: `PATCH /api/v4/contacts/{id}` with the name emptied and PHONE / EMAIL values
  cleared (`"values": null`).

Rate: 7 requests per second (http.py CrmLimits); a 429 pauses every call and is retried.
JSON of another shape than these (a list for an object, an id that is not a number) is
tried again later (http.py `unreadable`), never stored.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP
from typing import Any

from bot.deliveries.crm import payload
from bot.deliveries.http import Client, CrmLimits, Throttle, remote_id, unreadable
from bot.deliveries.port import Crm, Delivered, Job
from dialogs.rules.crm import AmoCrmMapping

ERASED = "[erased]"


class AmoCrmTarget(Crm):
    name = "amocrm"

    def __init__(self, url: str, token: str, mapping: AmoCrmMapping,
                 limits: CrmLimits) -> None:
        self.base, self.token, self.mapping = url.rstrip("/"), token, mapping
        self.client = Client(Throttle(limits.amocrm_rate, limits.amocrm_burst),
                             limits.timeout)

    async def request(self, method: str, path: str, body: Any = None,
                      params: dict[str, str] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        _, answer = await self.client.call(
            method, f"{self.base}{path}", params=params, headers=headers,
            body=json.dumps(body).encode() if body is not None else None, pause=1.0)
        return answer

    async def find(self, lead_id: int) -> tuple[str, str | None] | None:
        mark = payload.marker(lead_id)
        answer = await self.request("GET", "/api/v4/leads", params={
            "query": mark.strip("[]"), "with": "contacts"})
        leads = _list(_dict(_dict(answer).get("_embedded")).get("leads"))
        for lead in leads:
            lead = _dict(lead)
            if mark in str(lead.get("name", "")):
                contacts = _list(_dict(lead.get("_embedded")).get("contacts"))
                return remote_id(lead.get("id")), \
                    remote_id(_dict(contacts[0]).get("id")) if contacts else None
        return None

    async def deliver(self, job: Job) -> Delivered:
        lead_id = job.facts.lead["id"]
        remote, contact = job.remote_id, job.contact_id
        if remote is None and (job.retried or job.event != "qualified"):
            found = await self.find(lead_id)
            if found is not None:
                remote, contact = found
        if job.event == "erased":
            if remote is not None and contact is not None:
                await self.erase(contact)
            return Delivered(remote, contact,
                             answer="erased" if remote else "not in amoCRM")
        if remote is None:
            answer = await self.request("POST", "/api/v4/leads/complex",
                                        [self.complex(job)])
            if not isinstance(answer, list) or not answer:
                raise unreadable(200, "bad_answer")
            created = _dict(answer[0])
            lead, contact_id = remote_id(created.get("id")), created.get("contact_id")
            return Delivered(lead, remote_id(contact_id) if contact_id is not None else None,
                             answer=f"leads/complex: lead {lead}")
        await self.request("PATCH", f"/api/v4/leads/{remote}", self.lead(job))
        return Delivered(remote, contact, answer=f"leads/{remote}: updated")

    def lead(self, job: Job) -> dict[str, Any]:
        facts, mapping = job.facts, self.mapping
        lead = facts.lead
        data: dict[str, Any] = {"name": payload.title(facts)}
        if (amount := payload.sale_amount(facts)) is not None:  # a won sale
            data["price"] = int(amount.to_integral_value(ROUND_HALF_UP))
        elif (price := payload.estimate(facts, job.event)) is not None:
            data["price"] = round(price)
        stage = (mapping.statuses.get(lead.get("status") or "")
                 if job.event in ("claimed", "status", "sale")
                 else mapping.stages.get(lead.get("temperature") or ""))
        if stage is not None:
            if stage.pipeline_id:
                data["pipeline_id"] = stage.pipeline_id
            data["status_id"] = stage.status_id
        values = []
        for step, field_id in mapping.fields.items():
            answer = next((a for a in facts.answers if a["step"] == step), None)
            if answer is not None:
                values.append({"field_id": field_id, "values": [{"value": answer["label"]}]})
        if values:
            data["custom_fields_values"] = values
        tags = [{"name": "leadbot"}] + ([{"name": lead["temperature"]}]
                                        if lead.get("temperature") else [])
        data["_embedded"] = {"tags": tags}
        return data

    def complex(self, job: Job) -> dict[str, Any]:
        data = self.lead(job)
        data["request_id"] = job.key
        person = payload.contact(job.facts)
        if person is not None:
            fields = [{"field_code": code, "values": [{"value": person[key],
                                                       "enum_code": "WORK"}]}
                      for code, key in (("PHONE", "phone"), ("EMAIL", "email"))
                      if person.get(key)]
            contact: dict[str, Any] = {"first_name": person.get("name") or "",
                                       "name": person.get("name") or "leadbot"}
            if fields:
                contact["custom_fields_values"] = fields
            data["_embedded"]["contacts"] = [contact]
        return data

    async def erase(self, contact: str) -> None:
        await self.request("PATCH", f"/api/v4/contacts/{contact}", {
            "name": ERASED, "first_name": "", "last_name": "",
            "custom_fields_values": [{"field_code": "PHONE", "values": None},
                                     {"field_code": "EMAIL", "values": None}]})

    async def close(self) -> None:
        await self.client.close()


def _dict(value: Any) -> dict[str, Any]:
    """An object of amoCRM's answer (None, as amoCRM leaves out what is empty: {})."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise unreadable(200, "bad_answer")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise unreadable(200, "bad_answer")
    return value
