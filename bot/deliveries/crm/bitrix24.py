"""Bitrix24 through an incoming webhook (LEADBOT_BITRIX24_WEBHOOK_URL,
`https://PORTAL.bitrix24.ru/rest/USER/KEY/`): REST methods as POSTs of JSON.

- `crm.lead.add`: TITLE (nothing personal), NAME, PHONE and EMAIL in the multi-field form
  (`[{"VALUE": ..., "VALUE_TYPE": "WORK"}]`), SOURCE_ID / SOURCE_DESCRIPTION, UTM_SOURCE
  (the deep link's source), COMMENTS (answers, score, temperature, MQL / SQL), OPPORTUNITY
  (a won sale's amount with its CURRENCY_ID, else the calculator's price: `payload.estimate`,
  never on a status update nor once won, lest it come back as the sale), STATUS_ID by
  temperature, the mapped answer fields, and ORIGINATOR_ID "leadbot" + ORIGIN_ID leadbot's
  lead id: what the look-up finds it by.
- `crm.lead.list` with that filter: after a try that may have arrived, before creating.
- `crm.lead.update`: later events (hand-off, claim, status and sale: STATUS_ID by status,
  the sale's OPPORTUNITY); PHONE and EMAIL are not sent again (a multi-field value without
  its ID would be added twice).
- Erasure: `crm.lead.get` for the PHONE / EMAIL values' IDs, then `crm.lead.update` with
  NAME emptied and each of them `{"ID": ..., "DELETE": "Y"}`; the comments are rewritten
  from the erased lead (free-text answers already "[erased]").

Rate: about 2 requests per second with a burst (http.py CrmLimits); 503
QUERY_LIMIT_EXCEEDED pauses every call to the portal and is tried again. An answer without
its `result`, or a result of the wrong shape (a portal's maintenance page, a proxy's), is
tried again later (http.py `unreadable`), never taken for a refusal.
"""

from __future__ import annotations

import json
from typing import Any

from bot.deliveries.crm import payload
from bot.deliveries.http import Client, CrmLimits, Throttle, remote_id, unreadable
from bot.deliveries.port import Crm, Delivered, Job
from dialogs.rules.crm import Bitrix24Mapping

ORIGINATOR = "leadbot"


class Bitrix24Target(Crm):
    name = "bitrix24"

    def __init__(self, url: str, mapping: Bitrix24Mapping, limits: CrmLimits) -> None:
        self.base = url.rstrip("/") + "/"
        self.mapping = mapping
        self.client = Client(Throttle(limits.bitrix24_rate, limits.bitrix24_burst),
                             limits.timeout)

    async def method(self, name: str, params: dict[str, Any]) -> Any:
        _, answer = await self.client.call(
            "POST", f"{self.base}{name}.json", body=json.dumps(params).encode(),
            headers={"Content-Type": "application/json"}, pause=1.0)
        if not isinstance(answer, dict) or "result" not in answer:
            raise unreadable(200, "bad_answer")
        return answer["result"]

    async def find(self, lead_id: int) -> str | None:
        found = await self.method("crm.lead.list", {
            "filter": {"ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": str(lead_id)},
            "select": ["ID"]})
        if not isinstance(found, list):
            raise unreadable(200, "bad_answer")
        if not found:
            return None
        first = found[0]
        return remote_id(first.get("ID") if isinstance(first, dict) else None)

    async def deliver(self, job: Job) -> Delivered:
        facts = job.facts
        remote = job.remote_id
        if remote is None and (job.retried or job.event != "qualified"):
            remote = await self.find(facts.lead["id"])
        if job.event == "erased":
            if remote is not None:
                await self.erase(remote, job)
            return Delivered(remote, answer="erased" if remote else "not in Bitrix24")
        fields = self.fields(job)
        if remote is None:
            created = await self.method("crm.lead.add", {
                "fields": fields, "params": {"REGISTER_SONET_EVENT": "Y"}})
            created = remote_id(created)
            return Delivered(created, answer=f"crm.lead.add: {created}")
        update = {k: v for k, v in fields.items() if k not in ("PHONE", "EMAIL")}
        await self.method("crm.lead.update", {"id": remote, "fields": update})
        return Delivered(remote, answer=f"crm.lead.update: {remote}")

    def fields(self, job: Job) -> dict[str, Any]:
        facts, mapping = job.facts, self.mapping
        lead, conversation = facts.lead, facts.conversation
        fields: dict[str, Any] = {
            "TITLE": payload.title(facts), "ORIGINATOR_ID": ORIGINATOR,
            "ORIGIN_ID": str(lead["id"]), "COMMENTS": payload.comments(facts),
            "SOURCE_DESCRIPTION": f"Telegram, {conversation['flow_id']} "
                                  f"v{conversation['flow_version']}"}
        if conversation.get("source"):
            fields["UTM_SOURCE"] = conversation["source"]
        if mapping.source_id:
            fields["SOURCE_ID"] = mapping.source_id
        if (amount := payload.sale_amount(facts)) is not None:  # a won sale: its currency
            fields["OPPORTUNITY"] = float(amount)
            fields["CURRENCY_ID"] = lead.get("currency") or mapping.currency
        elif (price := payload.estimate(facts, job.event)) is not None:
            fields["OPPORTUNITY"] = price
            if mapping.currency:
                fields["CURRENCY_ID"] = mapping.currency
        stage = (mapping.statuses.get(lead.get("status") or "")
                 if job.event in ("claimed", "status", "sale")
                 else mapping.stages.get(lead.get("temperature") or ""))
        if stage:
            fields["STATUS_ID"] = stage
        for step, field in mapping.fields.items():
            answer = next((a for a in facts.answers if a["step"] == step), None)
            if answer is not None:
                fields[field] = answer["label"]
        if (person := payload.contact(facts)) is not None:
            if person.get("name"):
                fields["NAME"] = person["name"]
            if person.get("phone"):
                fields["PHONE"] = [{"VALUE": person["phone"], "VALUE_TYPE": "WORK"}]
            if person.get("email"):
                fields["EMAIL"] = [{"VALUE": person["email"], "VALUE_TYPE": "WORK"}]
        return fields

    async def erase(self, remote: str, job: Job) -> None:
        """The contact fields cleared: NAME emptied, every PHONE and EMAIL value deleted by
        its ID; the comments and mapped answers rewritten from the erased lead."""
        current = await self.method("crm.lead.get", {"id": remote})
        if not isinstance(current, dict):
            raise unreadable(200, "bad_answer")
        fields = {k: v for k, v in self.fields(job).items() if k not in ("PHONE", "EMAIL")}
        fields.update(NAME="", SECOND_NAME="", LAST_NAME="")
        for multi in ("PHONE", "EMAIL"):
            values = current.get(multi) or []
            if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
                raise unreadable(200, "bad_answer")
            if values:
                fields[multi] = [{"ID": v["ID"], "DELETE": "Y"} for v in values if "ID" in v]
        await self.method("crm.lead.update", {"id": remote, "fields": fields})

    async def close(self) -> None:
        await self.client.close()

