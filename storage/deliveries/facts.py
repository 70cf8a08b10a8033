"""One lead read whole for a delivery (bot/deliveries/: a CRM payload, an ad platform's
conversion), when it is sent: the payload is built from the lead as it is then, so the
delivery rows hold nothing personal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from storage.schema.money import Click
from storage.schema.tables import Answer, Conversation, Handoff, Lead
from storage.work.uow import UnitOfWork


@dataclass(frozen=True)
class LeadFacts:
    """One lead as a payload needs it, read in one transaction (plain values)."""

    lead: dict[str, Any]
    conversation: dict[str, Any]
    answers: list[dict[str, Any]]  # the last answer per step, in the order given
    handoff: dict[str, Any] | None
    consents: dict[str, str] = field(default_factory=dict)  # in force on the conversation
    # the tracking link's click that started the conversation (storage/schema/money.py):
    # yclid, gclid, fbclid, ym_uid, ga_client_id and `at` (its time); empty: none
    click: dict[str, Any] = field(default_factory=dict)


async def facts(uow: UnitOfWork, lead_id: int) -> LeadFacts | None:
    session = uow.session
    assert session is not None
    lead = await session.get(Lead, lead_id)
    if lead is None:
        return None
    conversation = await session.get(Conversation, lead.conversation_id)
    assert conversation is not None
    rows = (await session.execute(select(Answer).where(
        Answer.conversation_id == conversation.id).order_by(Answer.id))).scalars()
    last: dict[str, Answer] = {}
    for row in rows:  # going back and answering again adds a row: the last one counts
        last.pop(row.step, None)
        last[row.step] = row
    handoff = (await session.execute(select(Handoff).where(Handoff.lead_id == lead_id))
               ).scalar_one_or_none()
    state = conversation.state or {}
    click = await session.get(Click, conversation.click_id) if conversation.click_id else None
    return LeadFacts(
        lead=lead.model_dump(exclude={"phone_hash"}),
        conversation={"id": conversation.id, "flow_id": conversation.flow_id,
                      "flow_version": conversation.flow_version,
                      "source": conversation.source, "language": state.get("language"),
                      "variant": state.get("variant"), "started_at": conversation.started_at,
                      "results": dict(state.get("results") or {})},
        answers=[{"step": a.step, "value": a.value, "label": a.label, "points": a.points}
                 for a in last.values()],
        handoff=handoff.model_dump(exclude={"card_text", "card_id"}) if handoff else None,
        consents=dict(state.get("consents") or {}),
        click={} if click is None else {
            "yclid": click.yclid, "gclid": click.gclid, "fbclid": click.fbclid,
            "ym_uid": click.ym_uid, "ga_client_id": click.ga_client_id,
            "at": click.created_at})
